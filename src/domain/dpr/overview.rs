//! What people look at: releases listed with their product, state, current
//! phase and target, and one release with its phases. Read-only queries for
//! the release console (the rules they show, such as a phase's gate, are
//! the commands' own: `phases`, `policy_status`).

use chrono::NaiveDate;

use super::phases::PhaseHead;
use crate::error::{Error, Result};
use crate::registry::{table, ColumnType};
use crate::storage::{Db, Record, Row, Value};

/// A release as a list shows it.
#[derive(Clone, Debug)]
pub struct ReleaseRow {
    pub sys_id: String,
    pub number: String,
    pub name: String,
    pub state: String,
    pub product: String,
    pub product_name: String,
    pub current_phase: Option<String>,
    pub current_phase_name: Option<String>,
    pub target_date: Option<String>,
    pub planned_end: Option<String>,
    pub process_type: Option<String>,
}

/// Which releases a list shows.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub product: Option<String>,
    pub state: Option<String>,
    /// Readiness target on or after this day.
    pub target_from: Option<NaiveDate>,
    /// Readiness target on or before this day.
    pub target_to: Option<NaiveDate>,
    /// From 1.
    pub page: i64,
    pub per_page: i64,
}

/// One page of releases and how many there are in all.
#[derive(Clone, Debug)]
pub struct Page {
    pub rows: Vec<ReleaseRow>,
    pub total: i64,
}

const SELECT: &str = "SELECT r.sys_id, r.number, r.name, r.state, r.product, r.current_phase, \
     r.planned_end, r.process_type, p.name AS product_name, ph.name AS phase_name, \
     t.target_date \
     FROM sn_dpr_model_release r \
     JOIN cmdb_model p ON p.sys_id = r.product \
     LEFT JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase \
     LEFT JOIN sn_dpr_model_release_target t ON t.sys_id = r.readiness_target";

const COUNT: &str = "SELECT COUNT(*) AS n FROM sn_dpr_model_release r \
     LEFT JOIN sn_dpr_model_release_target t ON t.sys_id = r.readiness_target";

fn release_row(r: &Row) -> ReleaseRow {
    ReleaseRow {
        sys_id: r.string("sys_id"),
        number: r.text("number").unwrap_or_default(),
        name: r.string("name"),
        state: r.string("state"),
        product: r.string("product"),
        product_name: r.string("product_name"),
        current_phase: r.text("current_phase"),
        current_phase_name: r.text("phase_name"),
        target_date: r.text("target_date"),
        planned_end: r.text("planned_end"),
        process_type: r.text("process_type"),
    }
}

/// The release states with their labels, as the registry lists them.
pub fn release_states() -> &'static [(&'static str, &'static str)] {
    match table("sn_dpr_model_release")
        .and_then(|t| t.column("state"))
        .map(|c| &c.ty)
    {
        Some(ColumnType::Choice(choices)) => choices,
        _ => &[],
    }
}

/// The label of a release state (the value itself when unknown).
pub fn state_label(state: &str) -> &str {
    release_states()
        .iter()
        .find(|(value, _)| *value == state)
        .map_or(state, |(_, label)| label)
}

/// Releases matching `filter`, by target date (none last), then name.
pub async fn list(db: &Db, filter: &Filter) -> Result<Page> {
    let mut wheres = Vec::new();
    let mut args = Vec::new();
    if let Some(product) = &filter.product {
        args.push(Value::from(product));
        wheres.push(format!("r.product = ${}", args.len()));
    }
    if let Some(state) = &filter.state {
        if !release_states().iter().any(|(v, _)| v == state) {
            return Err(Error::invalid(
                "state",
                format!("{state:?} is not a release state"),
            ));
        }
        args.push(Value::from(state));
        wheres.push(format!("r.state = ${}", args.len()));
    }
    if let Some(from) = filter.target_from {
        args.push(Value::Text(from.format("%Y-%m-%d").to_string()));
        wheres.push(format!("t.target_date >= ${}", args.len()));
    }
    if let Some(to) = filter.target_to {
        args.push(Value::Text(to.format("%Y-%m-%d").to_string()));
        wheres.push(format!("t.target_date <= ${}", args.len()));
    }
    let condition = if wheres.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", wheres.join(" AND "))
    };
    let total = db
        .fetch_optional(&format!("{COUNT}{condition}"), &args)
        .await?
        .and_then(|r| r.int("n"))
        .unwrap_or(0);
    let per_page = filter.per_page.clamp(1, 1000);
    let offset = (filter.page.max(1) - 1).saturating_mul(per_page);
    let mut page_args = args.clone();
    page_args.push(Value::Int(per_page));
    page_args.push(Value::Int(offset));
    let n = page_args.len();
    let rows = db
        .fetch_all(
            &format!(
                "{SELECT}{condition} ORDER BY CASE WHEN t.target_date IS NULL THEN 1 ELSE 0 END, \
                 t.target_date, r.name, r.sys_id LIMIT ${} OFFSET ${n}",
                n - 1
            ),
            &page_args,
        )
        .await?;
    Ok(Page {
        rows: rows.iter().map(release_row).collect(),
        total,
    })
}

/// Releases in progress, by name (at most `limit`).
pub async fn in_progress(db: &Db, limit: i64) -> Result<Vec<ReleaseRow>> {
    let rows = db
        .fetch_all(
            &format!("{SELECT} WHERE r.state = $1 ORDER BY r.name, r.sys_id LIMIT $2"),
            &[
                Value::from(super::releases::state::IN_PROGRESS),
                Value::Int(limit),
            ],
        )
        .await?;
    Ok(rows.iter().map(release_row).collect())
}

/// The products that have releases, by name: the list's product filter.
pub async fn products_with_releases(db: &Db) -> Result<Vec<(String, String)>> {
    let rows = db
        .fetch_all(
            "SELECT DISTINCT p.sys_id, p.name FROM sn_dpr_model_release r \
             JOIN cmdb_model p ON p.sys_id = r.product ORDER BY p.name, p.sys_id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.string("sys_id"), r.string("name")))
        .collect())
}

/// A phase as the release page's timeline shows it.
#[derive(Clone, Debug)]
pub struct PhaseRow {
    pub head: PhaseHead,
    pub planned_start: Option<String>,
    pub planned_end: Option<String>,
    pub actual_start: Option<String>,
    pub actual_end: Option<String>,
}

/// One release with what its page shows.
#[derive(Clone, Debug)]
pub struct ReleaseDetail {
    pub release: ReleaseRow,
    pub description: Option<String>,
    pub version_name: Option<String>,
    pub owner_name: Option<String>,
    pub target_name: Option<String>,
    pub phases: Vec<PhaseRow>,
}

/// The release `sys_id` with its phases in order; None when there is none.
pub async fn detail(db: &Db, sys_id: &str) -> Result<Option<ReleaseDetail>> {
    if !crate::ids::is_sys_id(sys_id) {
        return Ok(None);
    }
    let mut read = db.begin_read().await?;
    let Some(row) = read
        .fetch_optional(
            "SELECT r.sys_id, r.number, r.name, r.state, r.product, r.current_phase, \
             r.planned_end, r.process_type, r.description, p.name AS product_name, \
             ph.name AS phase_name, t.target_date, t.name AS target_name, \
             v.name AS version_name, u.name AS owner_name, u.user_name AS owner_user \
             FROM sn_dpr_model_release r \
             JOIN cmdb_model p ON p.sys_id = r.product \
             LEFT JOIN cmdb_model v ON v.sys_id = r.version \
             LEFT JOIN sys_user u ON u.sys_id = r.owner \
             LEFT JOIN sn_dpr_model_release_phase ph ON ph.sys_id = r.current_phase \
             LEFT JOIN sn_dpr_model_release_target t ON t.sys_id = r.readiness_target \
             WHERE r.sys_id = $1",
            &[Value::from(sys_id)],
        )
        .await?
    else {
        return Ok(None);
    };
    let phases = read
        .fetch_all(
            &format!(
                "SELECT {}, planned_start, planned_end, actual_start, actual_end \
                 FROM sn_dpr_model_release_phase WHERE \"release\" = $1 ORDER BY \"order\", sys_id",
                PhaseHead::select_list(None)
            ),
            &[Value::from(sys_id)],
        )
        .await?;
    let phases = phases
        .iter()
        .map(|r| {
            Ok(PhaseRow {
                head: PhaseHead::from_row(r)?,
                planned_start: r.text("planned_start"),
                planned_end: r.text("planned_end"),
                actual_start: r.text("actual_start"),
                actual_end: r.text("actual_end"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    read.commit().await?;
    Ok(Some(ReleaseDetail {
        release: release_row(&row),
        description: row.text("description"),
        version_name: row.text("version_name"),
        owner_name: row.text("owner_name").or_else(|| row.text("owner_user")),
        target_name: row.text("target_name"),
        phases,
    }))
}

/// One line of a release's scope: an enhancement, a key date or a related
/// task, as the release page lists them.
#[derive(Clone, Debug)]
pub struct ScopeItem {
    /// The enhancement's, key date's or task's sys_id.
    pub sys_id: String,
    /// A number (enhancements, tasks) or a type (key dates).
    pub label: String,
    pub name: String,
    pub state: String,
    /// A key date's due date; a task's table.
    pub extra: Option<String>,
}

/// What a release's scope holds.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub enhancements: Vec<ScopeItem>,
    pub key_dates: Vec<ScopeItem>,
    pub related_tasks: Vec<ScopeItem>,
}

/// The release's enhancements, key dates (by due date) and related tasks.
pub async fn scope(db: &Db, release_id: &str) -> Result<Scope> {
    let id = [Value::from(release_id)];
    let mut read = db.begin_read().await?;
    let enhancements = read
        .fetch_all(
            "SELECT sys_id, number, name, state FROM sn_dpr_model_product_enhancement \
             WHERE \"release\" = $1 ORDER BY number, sys_id LIMIT 500",
            &id,
        )
        .await?;
    let key_dates = read
        .fetch_all(
            "SELECT sys_id, type, name, state, due_date FROM sn_dpr_model_release_key_date \
             WHERE \"release\" = $1 ORDER BY due_date, sys_id LIMIT 500",
            &id,
        )
        .await?;
    let tasks = read
        .fetch_all(
            "SELECT t.sys_id, t.number, t.short_description, t.state, t.sys_class_name \
             FROM sn_dpr_model_release_related_task r JOIN task t ON t.sys_id = r.task \
             WHERE r.\"release\" = $1 ORDER BY t.number LIMIT 500",
            &id,
        )
        .await?;
    read.commit().await?;
    Ok(Scope {
        enhancements: enhancements
            .iter()
            .map(|r| ScopeItem {
                sys_id: r.string("sys_id"),
                label: r.text("number").unwrap_or_default(),
                name: r.string("name"),
                state: r.text("state").unwrap_or_default(),
                extra: None,
            })
            .collect(),
        key_dates: key_dates
            .iter()
            .map(|r| ScopeItem {
                sys_id: r.string("sys_id"),
                label: r.string("type"),
                name: r.string("name"),
                state: r.string("state"),
                extra: r.text("due_date"),
            })
            .collect(),
        related_tasks: tasks
            .iter()
            .map(|r| ScopeItem {
                sys_id: r.string("sys_id"),
                label: r.text("number").unwrap_or_default(),
                name: r.text("short_description").unwrap_or_default(),
                state: r.text("state").unwrap_or_default(),
                extra: r.text("sys_class_name"),
            })
            .collect(),
    })
}

/// A readiness target a release can be moved to.
#[derive(Clone, Debug)]
pub struct TargetChoice {
    pub sys_id: String,
    pub name: String,
    pub target_date: String,
    pub calendar: String,
}

/// Active readiness targets on or after `from` (YYYY-MM-DD), by date then
/// calendar (at most `limit`): the choices of the console's retarget form.
pub async fn upcoming_targets(db: &Db, from: NaiveDate, limit: i64) -> Result<Vec<TargetChoice>> {
    let rows = db
        .fetch_all(
            "SELECT t.sys_id, t.name, t.target_date, c.name AS calendar \
             FROM sn_dpr_model_release_target t \
             JOIN sn_dpr_model_release_calendar c ON c.sys_id = t.release_calendar \
             WHERE t.active = $1 AND t.target_date >= $2 \
             ORDER BY t.target_date, c.name, t.sys_id LIMIT $3",
            &[
                Value::Bool(true),
                Value::Text(from.format("%Y-%m-%d").to_string()),
                Value::Int(limit),
            ],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TargetChoice {
            sys_id: r.string("sys_id"),
            name: r.string("name"),
            target_date: r.string("target_date"),
            calendar: r.string("calendar"),
        })
        .collect())
}

/// What the console's "New release" form offers: the products (product
/// models, not their versions) and the active release templates, each as
/// `(sys_id, name)` by name.
#[derive(Clone, Debug, Default)]
pub struct NewReleaseChoices {
    pub products: Vec<(String, String)>,
    pub templates: Vec<(String, String)>,
}

/// The products and active templates a release can be created from.
pub async fn new_release_choices(db: &Db) -> Result<NewReleaseChoices> {
    let pairs = |rows: Vec<Row>| {
        rows.iter()
            .map(|r| (r.string("sys_id"), r.string("name")))
            .collect::<Vec<_>>()
    };
    let products = db
        .fetch_all(
            "SELECT sys_id, name FROM cmdb_model WHERE product IS NULL AND sys_class_name IN \
             ('cmdb_application_product_model', 'cmdb_service_product_model', \
             'cmdb_software_product_model') ORDER BY name, sys_id",
            &[],
        )
        .await?;
    let templates = db
        .fetch_all(
            "SELECT sys_id, name FROM sn_dpr_model_release_template WHERE active = $1 \
             ORDER BY name, sys_id",
            &[Value::Bool(true)],
        )
        .await?;
    Ok(NewReleaseChoices {
        products: pairs(products),
        templates: pairs(templates),
    })
}

/// A policy as the console's list shows it, with the template phases it
/// gates (`"Template: Phase"`).
#[derive(Clone, Debug)]
pub struct PolicyRow {
    pub sys_id: String,
    pub name: String,
    pub description: String,
    pub active: bool,
    pub rego: String,
    pub gates: Vec<String>,
}

async fn policy_rows(db: &Db, one: Option<&str>) -> Result<Vec<PolicyRow>> {
    let (filter, args) = match one {
        Some(id) => (" WHERE sys_id = $1", vec![Value::from(id)]),
        None => ("", Vec::new()),
    };
    let rows = db
        .fetch_all(
            &format!(
                "SELECT sys_id, name, description, active, rego FROM sn_pace_policy{filter} \
                 ORDER BY name, sys_id"
            ),
            &args,
        )
        .await?;
    let gates = db
        .fetch_all(
            "SELECT m.policy, t.name AS template, p.name AS phase \
             FROM sn_dpr_model_template_phase_policy m \
             JOIN sn_dpr_model_template_phase p ON p.sys_id = m.template_phase \
             JOIN sn_dpr_model_release_template t ON t.sys_id = p.template \
             ORDER BY t.name, p.\"order\", p.name",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let id = r.string("sys_id");
            PolicyRow {
                gates: gates
                    .iter()
                    .filter(|g| g.string("policy") == id)
                    .map(|g| format!("{}: {}", g.string("template"), g.string("phase")))
                    .collect(),
                sys_id: id,
                name: r.string("name"),
                description: r.string("description"),
                active: r.bool("active"),
                rego: r.string("rego"),
            }
        })
        .collect())
}

/// Every policy, by name, with the phases it gates.
pub async fn policies(db: &Db) -> Result<Vec<PolicyRow>> {
    policy_rows(db, None).await
}

/// One policy, if it exists.
pub async fn policy(db: &Db, sys_id: &str) -> Result<Option<PolicyRow>> {
    if !crate::ids::is_sys_id(sys_id) {
        return Ok(None);
    }
    Ok(policy_rows(db, Some(sys_id)).await?.into_iter().next())
}
