//! Releases: creating them (independent, draft, primary with child releases),
//! their phases from the template, and starting them.

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};

use super::super::records::{exists, get, insert_values, update_values};
use super::jobs::CreateIncludedVersions;
use crate::error::{Error, ErrorKind, Result};
use crate::jobs::{Job, JobQueue};
use crate::registry::table;
use crate::storage::{Db, Row, Tx, Value};
use crate::time::DATE_TIME_FORMAT;

/// Release states, as stored.
pub mod state {
    pub const DRAFT: &str = "draft";
    pub const IN_PROGRESS: &str = "in_progress";
    pub const PENDING: &str = "pending";
    pub const REVIEW: &str = "review";
    pub const RESTARTING: &str = "restarting";
    pub const COMPLETED: &str = "completed";
    pub const CANCELLED: &str = "cancelled";
}

/// A version to create and release as a child of the primary release.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct IncludedVersion {
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Clone, Debug, Default)]
pub struct NewRelease {
    pub name: Option<String>,
    pub description: Option<String>,
    pub product: Option<String>,
    pub product_version: Option<String>,
    pub auto_create_version: Option<String>,
    pub owner: Option<String>,
    pub template: Option<String>,
    pub target: Option<String>,
    pub release_date: Option<NaiveDate>,
    pub calendar: Option<String>,
    pub included_versions: Vec<String>,
    pub auto_create_included: Vec<IncludedVersion>,
    pub draft: bool,
    pub validates_version: bool,
    pub draft_release: Option<String>,
}

#[derive(Debug)]
pub struct Created {
    pub release_id: String,
    pub progress_id: Option<String>,
}

fn dpr_table(name: &str) -> Result<&'static crate::registry::Table> {
    table(name).ok_or_else(|| Error::internal(format!("table {name} is not registered")))
}

/// Planned `(start, end)` of each phase. With an end date the durations are
/// scaled so the phases fill the window exactly; without one they follow
/// each other at their planned durations (days).
pub fn plan_phases(
    start: NaiveDateTime,
    end: Option<NaiveDateTime>,
    durations: &[i64],
) -> Vec<(NaiveDateTime, NaiveDateTime)> {
    let days: Vec<i64> = durations.iter().map(|d| (*d).max(1)).collect();
    let total: i64 = days.iter().sum();
    let window = match end {
        Some(end) if end > start && total > 0 => Some((end - start).num_seconds()),
        _ => None,
    };
    let mut out = Vec::with_capacity(days.len());
    let mut cursor = start;
    let mut elapsed_days = 0;
    for (i, d) in days.iter().enumerate() {
        elapsed_days += d;
        let next = match window {
            // The last phase ends exactly at the window's end, whatever the rounding.
            Some(_) if i + 1 == days.len() => end.unwrap_or(cursor),
            Some(secs) => start + Duration::seconds(secs * elapsed_days / total),
            None => cursor + Duration::days(*d),
        };
        out.push((cursor, next));
        cursor = next;
    }
    out
}

async fn must_exist(
    tx: &mut Tx,
    table_name: &str,
    id: &str,
    field: &str,
    what: &str,
) -> Result<()> {
    if exists(tx, table_name, id).await? {
        Ok(())
    } else {
        Err(Error::invalid(field, format!("no {what} with sys_id {id}")))
    }
}

async fn row(tx: &mut Tx, table_name: &str, id: &str) -> Result<Option<Row>> {
    get(&mut *tx, dpr_table(table_name)?, id).await
}

/// The class a new version of `product` is stored in.
fn version_class(product_class: &str) -> &'static str {
    match product_class {
        "cmdb_service_product_model" => "cmdb_service_offering_model",
        "cmdb_application_product_model" => "cmdb_software_product_model",
        _ => "cmdb_sw_component_model",
    }
}

/// Creates a version of `product` named `version`; returns its sys_id.
pub async fn create_version(
    tx: &mut Tx,
    product: &Row,
    version: &str,
    actor: &str,
) -> Result<String> {
    let class = version_class(&product.string("sys_class_name"));
    let values = vec![
        (
            "name",
            Value::Text(format!("{} {version}", product.string("name"))),
        ),
        ("version", Value::from(version)),
        ("product", Value::Text(product.string("sys_id"))),
    ];
    insert_values(tx, dpr_table(class)?, None, values, actor).await
}

/// Creates a release, or moves a draft one to In Progress.
pub async fn create(db: &Db, jobs: &JobQueue, req: NewRelease, actor: &str) -> Result<Created> {
    let mut tx = db.begin().await?;
    if let Some(draft_id) = req.draft_release.clone() {
        let release_id = promote_draft(&mut tx, &draft_id, &req, actor).await?;
        tx.commit().await?;
        return Ok(Created {
            release_id,
            progress_id: None,
        });
    }
    let name = req.name.clone().ok_or_else(|| Error::missing("name"))?;
    let owner = req
        .owner
        .clone()
        .ok_or_else(|| Error::missing("releaseOwner"))?;
    let product_id = req
        .product
        .clone()
        .ok_or_else(|| Error::missing("productId"))?;
    must_exist(&mut tx, "sys_user", &owner, "releaseOwner", "user").await?;
    let product = row(&mut tx, "cmdb_model", &product_id)
        .await?
        .ok_or_else(|| {
            Error::invalid("productId", format!("no product with sys_id {product_id}"))
        })?;
    let version = match (&req.product_version, &req.auto_create_version) {
        (Some(v), _) => {
            check_version_of(&mut tx, v, &product_id, "productVersion").await?;
            Some(v.clone())
        }
        (None, Some(name)) => Some(create_version(&mut tx, &product, name, actor).await?),
        (None, None) => None,
    };
    let (template, orientation) = template_of(&mut tx, req.template.as_deref()).await?;
    if let Some(c) = &req.calendar {
        must_exist(
            &mut tx,
            "sn_dpr_model_release_calendar",
            c,
            "releaseCalendar",
            "release calendar",
        )
        .await?;
    }
    let target = resolve_target(&mut tx, &req, &name, &owner, actor).await?;
    for v in &req.included_versions {
        let version_row = row(&mut tx, "cmdb_model", v).await?.ok_or_else(|| {
            Error::invalid(
                "includedVersions",
                format!("no product version with sys_id {v}"),
            )
        })?;
        if version_row.text("product").is_none() {
            return Err(Error::invalid(
                "includedVersions",
                format!("{v} is a product, not a version"),
            ));
        }
    }
    for item in &req.auto_create_included {
        must_exist(
            &mut tx,
            "cmdb_model",
            &item.product,
            "autoCreateIncludedVersions.product",
            "product",
        )
        .await?;
        if item.version.trim().is_empty() {
            return Err(Error::missing("autoCreateIncludedVersions.version"));
        }
    }
    let plan = ReleasePlan {
        name,
        description: req.description.clone(),
        product: product_id,
        version,
        owner,
        template,
        orientation,
        target: target.as_ref().map(|(id, _)| id.clone()),
        planned_end: target.as_ref().map(|(_, end)| *end),
        calendar: req.calendar.clone(),
        primary: None,
        validates_version: req.validates_version,
        draft: req.draft,
    };
    let release_id = insert_release(&mut tx, &plan, actor).await?;
    for v in &req.included_versions {
        let version_row = row(&mut tx, "cmdb_model", v)
            .await?
            .ok_or_else(|| Error::internal("version vanished"))?;
        let child = plan.child(&release_id, &version_row);
        insert_release(&mut tx, &child, actor).await?;
    }
    let progress_id = if req.auto_create_included.is_empty() {
        None
    } else {
        let job = CreateIncludedVersions {
            release: release_id.clone(),
            items: req.auto_create_included.clone(),
            actor: actor.to_owned(),
        };
        Some(job.enqueue_in(&mut tx, actor).await?)
    };
    tx.commit().await?;
    if progress_id.is_some() {
        jobs.wake();
    }
    Ok(Created {
        release_id,
        progress_id,
    })
}

async fn check_version_of(tx: &mut Tx, version: &str, product: &str, field: &str) -> Result<()> {
    let v = row(tx, "cmdb_model", version).await?.ok_or_else(|| {
        Error::invalid(field, format!("no product version with sys_id {version}"))
    })?;
    if v.text("product").as_deref() != Some(product) {
        return Err(Error::invalid(
            field,
            format!("version {version} is not a version of product {product}"),
        ));
    }
    Ok(())
}

async fn template_of(tx: &mut Tx, template: Option<&str>) -> Result<(Option<String>, String)> {
    match template {
        Some(id) => {
            let t = row(tx, "sn_dpr_model_release_template", id)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        "templateId",
                        format!("no release template with sys_id {id}"),
                    )
                })?;
            if !t.bool("active") {
                return Err(Error::invalid(
                    "templateId",
                    "the release template is not active",
                ));
            }
            Ok((
                Some(id.to_owned()),
                t.text("orientation").unwrap_or_else(|| "timeline".into()),
            ))
        }
        None => Ok((None, "timeline".into())),
    }
}

/// The readiness target the release aims at: an existing one, or one made
/// from `releaseDate` in the release's calendar. Returns its id and the end
/// of its day (UTC) as the release's planned end.
async fn resolve_target(
    tx: &mut Tx,
    req: &NewRelease,
    name: &str,
    owner: &str,
    actor: &str,
) -> Result<Option<(String, NaiveDateTime)>> {
    if let Some(id) = &req.target {
        let t = row(tx, "sn_dpr_model_release_target", id)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "releaseTarget",
                    format!("no readiness target with sys_id {id}"),
                )
            })?;
        let end = end_of_day(&t.string("target_date"));
        return Ok(Some((id.clone(), end)));
    }
    let Some(date) = req.release_date else {
        return Ok(None);
    };
    let calendar = req.calendar.clone().ok_or_else(|| {
        Error::missing("releaseCalendar")
            .with_detail("a releaseDate creates a readiness target in the release calendar")
    })?;
    let values = vec![
        ("name", Value::Text(format!("{name} readiness"))),
        ("release_calendar", Value::Text(calendar)),
        ("release_admin", Value::from(owner)),
        (
            "target_date",
            Value::Text(date.format("%Y-%m-%d").to_string()),
        ),
        ("active", Value::Bool(true)),
        ("recurring", Value::Bool(false)),
    ];
    let id = insert_values(
        tx,
        dpr_table("sn_dpr_model_release_target")?,
        None,
        values,
        actor,
    )
    .await?;
    Ok(Some((id, end_of_day(&date.format("%Y-%m-%d").to_string()))))
}

fn end_of_day(date: &str) -> NaiveDateTime {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or_else(|| Utc::now().naive_utc())
}

/// Everything a release record is made from.
#[derive(Clone, Debug)]
struct ReleasePlan {
    name: String,
    description: Option<String>,
    product: String,
    version: Option<String>,
    owner: String,
    template: Option<String>,
    orientation: String,
    target: Option<String>,
    planned_end: Option<NaiveDateTime>,
    calendar: Option<String>,
    primary: Option<String>,
    validates_version: bool,
    draft: bool,
}

impl ReleasePlan {
    /// A child release of `primary` for one included version.
    fn child(&self, primary: &str, version: &Row) -> ReleasePlan {
        ReleasePlan {
            name: format!("{} - {}", self.name, version.string("name")),
            product: version.string("product"),
            version: Some(version.string("sys_id")),
            primary: Some(primary.to_owned()),
            validates_version: false,
            ..self.clone()
        }
    }
}

async fn insert_release(tx: &mut Tx, plan: &ReleasePlan, actor: &str) -> Result<String> {
    let now = Utc::now().naive_utc();
    let values = vec![
        ("name", Value::Text(plan.name.clone())),
        ("description", Value::from(plan.description.clone())),
        ("state", Value::from(state::DRAFT)),
        ("product", Value::Text(plan.product.clone())),
        ("version", Value::from(plan.version.clone())),
        ("owner", Value::Text(plan.owner.clone())),
        ("template", Value::from(plan.template.clone())),
        ("process_type", Value::Text(plan.orientation.clone())),
        ("readiness_target", Value::from(plan.target.clone())),
        ("release_calendar", Value::from(plan.calendar.clone())),
        (
            "planned_start",
            Value::Text(now.format(DATE_TIME_FORMAT).to_string()),
        ),
        (
            "planned_end",
            Value::from(
                plan.planned_end
                    .map(|e| e.format(DATE_TIME_FORMAT).to_string()),
            ),
        ),
        ("primary_release", Value::from(plan.primary.clone())),
        ("validates_version", Value::Bool(plan.validates_version)),
    ];
    let id = insert_values(tx, dpr_table("sn_dpr_model_release")?, None, values, actor).await?;
    if let Some(template) = &plan.template {
        create_phases(tx, &id, template, now, plan.planned_end, actor).await?;
    }
    if !plan.draft {
        start(tx, &id, actor).await?;
    }
    Ok(id)
}

/// Creates the release's phases from its template's phases, in order.
pub async fn create_phases(
    tx: &mut Tx,
    release: &str,
    template: &str,
    start: NaiveDateTime,
    end: Option<NaiveDateTime>,
    actor: &str,
) -> Result<()> {
    let phases = tx
        .fetch_all(
            "SELECT sys_id, name, \"order\", duration_days FROM sn_dpr_model_template_phase \
             WHERE template = $1 ORDER BY \"order\", sys_id",
            &[Value::from(template)],
        )
        .await?;
    let durations: Vec<i64> = phases
        .iter()
        .map(|p| p.int("duration_days").unwrap_or(7))
        .collect();
    let plan = plan_phases(start, end, &durations);
    let table = dpr_table("sn_dpr_model_release_phase")?;
    for (phase, (from, to)) in phases.iter().zip(plan) {
        let values = vec![
            ("release", Value::from(release)),
            ("template_phase", Value::Text(phase.string("sys_id"))),
            ("name", Value::Text(phase.string("name"))),
            ("order", Value::Int(phase.int("order").unwrap_or(0))),
            ("state", Value::from("pending")),
            (
                "planned_start",
                Value::Text(from.format(DATE_TIME_FORMAT).to_string()),
            ),
            (
                "planned_end",
                Value::Text(to.format(DATE_TIME_FORMAT).to_string()),
            ),
        ];
        insert_values(tx, table, None, values, actor).await?;
    }
    Ok(())
}

/// Moves a release to In Progress and starts its first phase.
pub async fn start(tx: &mut Tx, release: &str, actor: &str) -> Result<()> {
    let first = tx
        .fetch_optional(
            "SELECT sys_id FROM sn_dpr_model_release_phase WHERE \"release\" = $1 ORDER BY \"order\", sys_id LIMIT 1",
            &[Value::from(release)],
        )
        .await?;
    match first {
        Some(phase) => {
            super::lifecycle::begin_phase(tx, release, &phase.string("sys_id"), actor).await
        }
        // A release without phases (no template) is simply In Progress.
        None => {
            let values = vec![
                ("state", Value::from(state::IN_PROGRESS)),
                ("current_phase", Value::Null),
            ];
            update_values(
                tx,
                dpr_table("sn_dpr_model_release")?,
                release,
                values,
                actor,
            )
            .await
        }
    }
}

/// `draftReleaseId`: applies the given fields to a Draft release and moves it
/// to In Progress.
async fn promote_draft(
    tx: &mut Tx,
    draft_id: &str,
    req: &NewRelease,
    actor: &str,
) -> Result<String> {
    let release = row(tx, "sn_dpr_model_release", draft_id)
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "draftReleaseId",
                format!("no release with sys_id {draft_id}"),
            )
        })?;
    if release.string("state") != state::DRAFT {
        return Err(Error::new(
            ErrorKind::Conflict,
            "draftReleaseId: the release is not in the Draft state",
        )
        .with_field("draftReleaseId"));
    }
    let product = req
        .product
        .clone()
        .unwrap_or_else(|| release.string("product"));
    let mut changes: Vec<(&'static str, Value)> = Vec::new();
    if let Some(name) = &req.name {
        changes.push(("name", Value::Text(name.clone())));
    }
    if let Some(d) = &req.description {
        changes.push(("description", Value::Text(d.clone())));
    }
    if let Some(owner) = &req.owner {
        must_exist(tx, "sys_user", owner, "releaseOwner", "user").await?;
        changes.push(("owner", Value::Text(owner.clone())));
    }
    if let Some(p) = &req.product {
        must_exist(tx, "cmdb_model", p, "productId", "product").await?;
        changes.push(("product", Value::Text(p.clone())));
    }
    if let Some(v) = &req.product_version {
        check_version_of(tx, v, &product, "productVersion").await?;
        changes.push(("version", Value::Text(v.clone())));
    }
    if let Some(t) = &req.target {
        let target = row(tx, "sn_dpr_model_release_target", t)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "releaseTarget",
                    format!("no readiness target with sys_id {t}"),
                )
            })?;
        changes.push(("readiness_target", Value::Text(t.clone())));
        let end = end_of_day(&target.string("target_date"));
        changes.push((
            "planned_end",
            Value::Text(end.format(DATE_TIME_FORMAT).to_string()),
        ));
    }
    let has_phases = tx
        .fetch_optional(
            "SELECT sys_id FROM sn_dpr_model_release_phase WHERE \"release\" = $1 LIMIT 1",
            &[Value::from(draft_id)],
        )
        .await?
        .is_some();
    let template = match (&req.template, release.text("template")) {
        (Some(t), _) => {
            let (template, orientation) = template_of(tx, Some(t)).await?;
            changes.push(("template", Value::from(template.clone())));
            changes.push(("process_type", Value::Text(orientation)));
            template
        }
        (None, existing) => existing,
    };
    let releases = dpr_table("sn_dpr_model_release")?;
    if !changes.is_empty() {
        update_values(tx, releases, draft_id, changes, actor).await?;
    }
    if let (Some(template), false) = (template, has_phases) {
        let current = row(tx, "sn_dpr_model_release", draft_id)
            .await?
            .ok_or_else(|| Error::internal("draft vanished"))?;
        let start = crate::time::parse_date_time(&current.string("planned_start"))
            .unwrap_or_else(|| Utc::now().naive_utc());
        let end = crate::time::parse_date_time(&current.string("planned_end"));
        create_phases(tx, draft_id, &template, start, end, actor).await?;
    }
    start(tx, draft_id, actor).await?;
    Ok(draft_id.to_owned())
}

/// Runs `autoCreateIncludedVersions`: creates each version and a child
/// release for it, all in the job's one transaction.
pub async fn create_included_versions(
    tx: &mut Tx,
    primary_id: &str,
    items: &[IncludedVersion],
    actor: &str,
) -> Result<usize> {
    let primary = row(tx, "sn_dpr_model_release", primary_id)
        .await?
        .ok_or_else(|| Error::invalid("release", format!("no release with sys_id {primary_id}")))?;
    let plan = ReleasePlan {
        name: primary.string("name"),
        description: primary.text("description"),
        product: primary.string("product"),
        version: primary.text("version"),
        owner: primary.string("owner"),
        template: primary.text("template"),
        orientation: primary
            .text("process_type")
            .unwrap_or_else(|| "timeline".into()),
        target: primary.text("readiness_target"),
        planned_end: crate::time::parse_date_time(&primary.string("planned_end")),
        calendar: primary.text("release_calendar"),
        primary: None,
        validates_version: false,
        draft: primary.string("state") == state::DRAFT,
    };
    for item in items {
        let product = row(tx, "cmdb_model", &item.product).await?.ok_or_else(|| {
            Error::invalid(
                "autoCreateIncludedVersions.product",
                format!("no product with sys_id {}", item.product),
            )
        })?;
        let version_id = create_version(tx, &product, &item.version, actor).await?;
        let version = row(tx, "cmdb_model", &version_id)
            .await?
            .ok_or_else(|| Error::internal("version vanished"))?;
        insert_release(tx, &plan.child(primary_id, &version), actor).await?;
    }
    Ok(items.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn phases_follow_each_other_without_a_target() {
        let plan = plan_phases(t("2025-01-01 00:00:00"), None, &[7, 14]);
        assert_eq!(
            plan,
            vec![
                (t("2025-01-01 00:00:00"), t("2025-01-08 00:00:00")),
                (t("2025-01-08 00:00:00"), t("2025-01-22 00:00:00"))
            ]
        );
    }

    #[test]
    fn phases_are_scaled_to_fill_the_window_up_to_the_target() {
        let plan = plan_phases(
            t("2025-01-01 00:00:00"),
            Some(t("2025-01-31 00:00:00")),
            &[10, 20],
        );
        assert_eq!(
            plan[0],
            (t("2025-01-01 00:00:00"), t("2025-01-11 00:00:00"))
        );
        assert_eq!(
            plan[1],
            (t("2025-01-11 00:00:00"), t("2025-01-31 00:00:00"))
        );
        let plan = plan_phases(
            t("2025-01-01 00:00:00"),
            Some(t("2025-01-02 00:00:00")),
            &[1, 1, 1],
        );
        assert_eq!(
            plan.last().unwrap().1,
            t("2025-01-02 00:00:00"),
            "the last phase ends at the target"
        );
    }
}
