//! A release's scope: the product enhancements it delivers, the key dates on
//! its timeline, and the tasks (changes, incidents, problems, stories)
//! related to it. The pure rules are small functions with their unit tests
//! below; the `create_*`/`add_*` functions apply them inside one transaction.

use chrono::NaiveDate;

use super::super::records::{exists, get, insert_values};
use super::phases::invalid_release;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::roles;
use crate::registry::table;
use crate::storage::{Db, Executor, Row, Tx, Value};
use crate::time::parse_date_time;

/// The system property that lists the tables whose records may be related
/// to a release (comma-separated table names).
pub const RELATED_TASK_TYPES_PROPERTY: &str = "sn_dpr_model.release_related_task_types";

/// The tables allowed when the property is absent or blank.
pub const DEFAULT_RELATED_TASK_TYPES: &[&str] =
    &["change_request", "incident", "problem", "rm_story"];

/// The classes a product or service (not a version of one) is stored in.
const PRODUCT_CLASSES: &[&str] = &[
    "cmdb_application_product_model",
    "cmdb_service_product_model",
];

/// Roles of which a key date's assignee must hold one (or `admin`).
const KEY_DATE_ASSIGNEE_ROLES: &[&str] = &[
    roles::DPR_PRODUCT_MANAGER,
    roles::DPR_RELEASE_ADMIN,
    roles::DPR_RELEASE_COORDINATOR,
    roles::DPR_RELEASE_USER,
];

const PRIORITIES: &[&str] = &["high", "medium", "low"];
const KEY_DATE_TYPES: &[&str] = &["deadline", "important_date", "key_event", "milestone"];
const KEY_DATE_STATES: &[&str] = &["archived", "missed", "upcoming"];

fn registered(name: &str) -> Result<&'static crate::registry::Table> {
    table(name).ok_or_else(|| Error::internal(format!("table {name} is not registered")))
}

/// A required text field: given and not blank.
fn required(value: Option<String>, field: &str) -> Result<String> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::missing(field))
}

/// A value that must be one of `allowed` (exactly, as the document lists them).
fn one_of(value: &str, allowed: &[&'static str], field: &str) -> Result<&'static str> {
    allowed
        .iter()
        .find(|a| **a == value)
        .copied()
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("{value:?} is not one of {}", allowed.join(", ")),
            )
        })
}

/// `priority`: high, medium or low; medium when not given (or blank).
pub fn priority(raw: Option<&str>) -> Result<&'static str> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok("medium"),
        Some(p) => one_of(p, PRIORITIES, "priority"),
    }
}

/// A key date's `type`.
pub fn key_date_type(raw: &str) -> Result<&'static str> {
    one_of(raw, KEY_DATE_TYPES, "type")
}

/// A key date's `state`.
pub fn key_date_state(raw: &str) -> Result<&'static str> {
    one_of(raw, KEY_DATE_STATES, "state")
}

/// The due date must fall inside the release's planned window, compared by
/// date (both ends included); without a planned end only the start bounds it.
pub fn check_due_date(
    due: NaiveDate,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
    field: &str,
) -> Result<()> {
    let after_start = start.is_none_or(|s| due >= s);
    let before_end = end.is_none_or(|e| due <= e);
    if after_start && before_end {
        return Ok(());
    }
    let window = match (start, end) {
        (Some(s), Some(e)) => format!("{s} to {e}"),
        (Some(s), None) => format!("from {s}"),
        (None, Some(e)) => format!("until {e}"),
        (None, None) => String::new(),
    };
    Err(Error::new(
        ErrorKind::TimeMismatch,
        format!(
            "{field}: The due date must be between the release planned start and end dates ({window})"
        ),
    )
    .with_field(field))
}

/// Whether a user holding `roles` may be assigned a key date.
pub fn may_be_assigned(user_roles: &[String]) -> bool {
    user_roles
        .iter()
        .any(|r| r == roles::ADMIN || KEY_DATE_ASSIGNEE_ROLES.contains(&r.as_str()))
}

/// The tables a release's related tasks may come from, as the
/// related-task-types property says now.
async fn allowed_task_types(mut ex: impl Executor) -> Result<Vec<String>> {
    let property = ex
        .fetch_optional(
            "SELECT value FROM sys_properties WHERE name = $1",
            &[Value::from(RELATED_TASK_TYPES_PROPERTY)],
        )
        .await?
        .and_then(|r| r.text("value"));
    Ok(related_task_types(property.as_deref()))
}

/// The tables named by the related-task-types property; the default list
/// when the property is absent or names no table.
pub fn related_task_types(property: Option<&str>) -> Vec<String> {
    let listed: Vec<String> = property
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if listed.is_empty() {
        DEFAULT_RELATED_TASK_TYPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        listed
    }
}

/// Whether a task record of class `class` (its `sys_class_name`; `None` when
/// no task has the id) may be related to a release.
pub fn check_task(id: &str, class: Option<&str>, allowed: &[String]) -> Result<()> {
    match class {
        None => Err(Error::invalid(
            "taskIds",
            format!("no task record with sys_id {id}"),
        )),
        Some("task") => Err(Error::invalid(
            "taskIds",
            format!(
                "{id} is a record of the Task [task] table itself; only records of tables that extend task can be related"
            ),
        )),
        Some(c) if allowed.iter().any(|a| a == c) => Ok(()),
        Some(c) => Err(Error::invalid(
            "taskIds",
            format!(
                "{id} is a {c} record, and {c} is not listed in {RELATED_TASK_TYPES_PROPERTY} ({})",
                allowed.join(",")
            ),
        )),
    }
}

fn date_of(stored: Option<String>) -> Option<NaiveDate> {
    stored
        .as_deref()
        .and_then(parse_date_time)
        .map(|t| t.date())
}

/// The release named by a path's `releaseId`, or "Release ID is invalid".
async fn release_by_path_id(tx: &mut Tx, release_id: &str) -> Result<Row> {
    if !crate::ids::is_sys_id(release_id) {
        return Err(invalid_release());
    }
    get(&mut *tx, registered("sn_dpr_model_release")?, release_id)
        .await?
        .ok_or_else(invalid_release)
}

// ---------------------------------------------------------------------------
// Product enhancements
// ---------------------------------------------------------------------------

/// `POST .../product_enhancement`, as parsed (`None` when not given).
#[derive(Clone, Debug, Default)]
pub struct NewEnhancement {
    pub name: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub product: Option<String>,
    pub version: Option<String>,
    pub release: Option<String>,
    pub feature: Option<String>,
}

/// Creates a product enhancement; returns its sys_id.
pub async fn create_enhancement(db: &Db, req: NewEnhancement, actor: &str) -> Result<String> {
    let name = required(req.name, "name")?;
    let priority = priority(req.priority.as_deref())?;
    let product_id = required(req.product, "productSysId")?;
    let mut tx = db.begin().await?;
    let models = registered("cmdb_model")?;
    let product = get(&mut tx, models, &product_id).await?.ok_or_else(|| {
        Error::invalid(
            "productSysId",
            format!("no product or service with sys_id {product_id}"),
        )
    })?;
    if !PRODUCT_CLASSES.contains(&product.string("sys_class_name").as_str()) {
        return Err(Error::invalid(
            "productSysId",
            format!(
                "{product_id} is not a product or service (Application Model or Service Model)"
            ),
        ));
    }
    if let Some(version_id) = &req.version {
        let version = get(&mut tx, models, version_id).await?.ok_or_else(|| {
            Error::invalid(
                "versionSysId",
                format!("no product version with sys_id {version_id}"),
            )
        })?;
        if version.text("product").as_deref() != Some(product_id.as_str()) {
            return Err(Error::invalid(
                "versionSysId",
                "The version must be for the same product or service provided in productSysId",
            ));
        }
    }
    if let Some(release_id) = &req.release {
        check_enhancement_release(&mut tx, release_id, &product_id, req.version.as_deref()).await?;
    }
    if let Some(feature_id) = &req.feature {
        let feature = get(
            &mut tx,
            registered("sn_dpr_model_product_feature")?,
            feature_id,
        )
        .await?
        .ok_or_else(|| {
            Error::invalid(
                "productFeatureSysId",
                format!("no product feature with sys_id {feature_id}"),
            )
        })?;
        if feature.text("product").as_deref() != Some(product_id.as_str()) {
            return Err(Error::invalid(
                "productFeatureSysId",
                "The product feature must belong to the product or service provided in productSysId",
            ));
        }
    }
    let values = vec![
        ("name", Value::Text(name)),
        (
            "description",
            Value::from(req.description.filter(|d| !d.is_empty())),
        ),
        ("priority", Value::from(priority)),
        ("state", Value::from("open")),
        ("product", Value::Text(product_id)),
        ("version", Value::from(req.version)),
        ("release", Value::from(req.release)),
        ("product_feature", Value::from(req.feature)),
    ];
    let id = insert_values(
        &mut tx,
        registered("sn_dpr_model_product_enhancement")?,
        None,
        values,
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The release must carry the version (itself or through one of its child
/// releases); without a version, the product.
async fn check_enhancement_release(
    tx: &mut Tx,
    release_id: &str,
    product: &str,
    version: Option<&str>,
) -> Result<()> {
    let rows = tx
        .fetch_all(
            "SELECT sys_id, product, version FROM sn_dpr_model_release \
             WHERE sys_id = $1 OR primary_release = $1",
            &[Value::from(release_id)],
        )
        .await?;
    if !rows.iter().any(|r| r.string("sys_id") == release_id) {
        return Err(Error::invalid(
            "releaseSysId",
            format!("no release with sys_id {release_id}"),
        ));
    }
    match version {
        Some(v) if !rows.iter().any(|r| r.text("version").as_deref() == Some(v)) => {
            Err(Error::invalid(
                "releaseSysId",
                "The release must be associated with the version provided in versionSysId",
            ))
        }
        None if !rows.iter().any(|r| r.string("product") == product) => Err(Error::invalid(
            "releaseSysId",
            "The release must be associated with the product or service provided in productSysId",
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Key dates
// ---------------------------------------------------------------------------

/// `POST .../release/{releaseId}/key_date`, as parsed.
#[derive(Clone, Debug, Default)]
pub struct NewKeyDate {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub state: Option<String>,
    pub due_date: Option<NaiveDate>,
    /// The body field the due date came in (`dueDate` or `duedate`), for messages.
    pub due_date_field: String,
    pub description: Option<String>,
    pub assigned_to: Option<String>,
}

/// How a key date's day is stored in its date-time column: midnight UTC.
pub fn stored_due_date(due: NaiveDate) -> String {
    format!("{} 00:00:00", due.format("%Y-%m-%d"))
}

/// Creates a key date on a timeline-oriented release; returns its sys_id.
pub async fn create_key_date(
    db: &Db,
    release_id: &str,
    req: NewKeyDate,
    actor: &str,
) -> Result<String> {
    let due_field = if req.due_date_field.is_empty() {
        "dueDate"
    } else {
        req.due_date_field.as_str()
    };
    // The assignee's roles, read before the write transaction starts.
    let assignee_roles = match &req.assigned_to {
        Some(user) => Some(crate::identity::users::role_names(db, user).await?),
        None => None,
    };
    let mut tx = db.begin().await?;
    let release = release_by_path_id(&mut tx, release_id).await?;
    let name = required(req.name, "name")?;
    let kind = key_date_type(&required(req.kind, "type")?)?;
    let state = key_date_state(&required(req.state, "state")?)?;
    let due = req.due_date.ok_or_else(|| Error::missing(due_field))?;
    if release.text("process_type").as_deref() != Some("timeline") {
        return Err(Error::conflict(
            "Key dates can only be added to a timeline-oriented release",
        ));
    }
    check_due_date(
        due,
        date_of(release.text("planned_start")),
        date_of(release.text("planned_end")),
        due_field,
    )?;
    if let (Some(user), Some(user_roles)) = (&req.assigned_to, &assignee_roles) {
        if !exists(&mut tx, "sys_user", user).await? {
            return Err(Error::invalid(
                "assignedTo",
                format!("no user with sys_id {user}"),
            ));
        }
        if !may_be_assigned(user_roles) {
            return Err(Error::invalid(
                "assignedTo",
                format!(
                    "the user must have one of the roles {}",
                    KEY_DATE_ASSIGNEE_ROLES.join(", ")
                ),
            ));
        }
    }
    let values = vec![
        ("release", Value::from(release_id)),
        ("name", Value::Text(name)),
        ("type", Value::from(kind)),
        ("state", Value::from(state)),
        ("due_date", Value::Text(stored_due_date(due))),
        (
            "description",
            Value::from(req.description.filter(|d| !d.is_empty())),
        ),
        ("assigned_to", Value::from(req.assigned_to)),
    ];
    let id = insert_values(
        &mut tx,
        registered("sn_dpr_model_release_key_date")?,
        None,
        values,
        actor,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

// ---------------------------------------------------------------------------
// Related tasks
// ---------------------------------------------------------------------------

/// What adding related tasks did.
#[derive(Debug, PartialEq, Eq)]
pub struct RelatedTasks {
    /// Mappings written by this call.
    pub added: usize,
    /// Tasks that were related already (left as they were).
    pub already: usize,
}

/// Relates tasks to a release, all or nothing: every id must name a record
/// of a table that extends task and is listed in the related-task-types
/// property. Tasks related already are left alone.
pub async fn add_related_tasks(
    db: &Db,
    release_id: &str,
    task_ids: Option<Vec<String>>,
    actor: &str,
) -> Result<RelatedTasks> {
    // A concurrent call relating the same task makes the unique (release,
    // task) index refuse one insert; the retry then finds the mapping.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match add_related_tasks_once(db, release_id, task_ids.clone(), actor).await {
            Err(e) if e.kind == ErrorKind::NotUnique && attempt < 3 => continue,
            result => return result,
        }
    }
}

async fn add_related_tasks_once(
    db: &Db,
    release_id: &str,
    task_ids: Option<Vec<String>>,
    actor: &str,
) -> Result<RelatedTasks> {
    let mut tx = db.begin().await?;
    release_by_path_id(&mut tx, release_id).await?;
    let mut ids = task_ids.ok_or_else(|| Error::missing("taskIds"))?;
    if ids.is_empty() {
        return Err(Error::invalid("taskIds", "list at least one task sys_id"));
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    let allowed = allowed_task_types(&mut tx).await?;
    for id in &ids {
        let class = tx
            .fetch_optional(
                "SELECT sys_class_name FROM task WHERE sys_id = $1",
                &[Value::from(id)],
            )
            .await?
            .map(|r| r.string("sys_class_name"));
        check_task(id, class.as_deref(), &allowed)?;
    }
    let mappings = registered("sn_dpr_model_release_related_task")?;
    let mut outcome = RelatedTasks {
        added: 0,
        already: 0,
    };
    for id in ids {
        let related = tx
            .fetch_optional(
                "SELECT sys_id FROM sn_dpr_model_release_related_task WHERE \"release\" = $1 AND task = $2",
                &[Value::from(release_id), Value::from(&id)],
            )
            .await?
            .is_some();
        if related {
            outcome.already += 1;
            continue;
        }
        let values = vec![
            ("release", Value::from(release_id)),
            ("task", Value::Text(id)),
        ];
        insert_values(&mut tx, mappings, None, values, actor).await?;
        outcome.added += 1;
    }
    tx.commit().await?;
    Ok(outcome)
}

// ---------------------------------------------------------------------------
// What the console's scope forms offer
// ---------------------------------------------------------------------------

/// A task that may be related to a release.
#[derive(Clone, Debug)]
pub struct TaskChoice {
    pub sys_id: String,
    pub number: String,
    pub short_description: String,
    /// Its table (`sys_class_name`).
    pub class: String,
}

/// The choices of a release's scope forms: the products and versions the
/// release and its child releases carry (what [`create_enhancement`]
/// accepts with this release), the documented priorities, key date types
/// and states, and the tasks of the tables the related-task-types property
/// allows that are not related to the release yet.
#[derive(Clone, Debug, Default)]
pub struct ScopeChoices {
    /// (sys_id, name)
    pub products: Vec<(String, String)>,
    /// (sys_id, product name and version name)
    pub versions: Vec<(String, String)>,
    pub priorities: &'static [&'static str],
    pub key_date_types: &'static [&'static str],
    pub key_date_states: &'static [&'static str],
    pub tasks: Vec<TaskChoice>,
}

/// The choices for release `release_id` (at most `task_limit` tasks, by
/// number).
pub async fn choices(db: &Db, release_id: &str, task_limit: i64) -> Result<ScopeChoices> {
    let mut read = db.begin_read().await?;
    let carried = read
        .fetch_all(
            "SELECT r.product, p.name AS product_name, r.version, v.name AS version_name \
             FROM sn_dpr_model_release r JOIN cmdb_model p ON p.sys_id = r.product \
             LEFT JOIN cmdb_model v ON v.sys_id = r.version \
             WHERE r.sys_id = $1 OR r.primary_release = $1 ORDER BY p.name, v.name",
            &[Value::from(release_id)],
        )
        .await?;
    let allowed = allowed_task_types(&mut read).await?;
    let mut args = vec![Value::from(release_id)];
    let mut names = Vec::new();
    for class in &allowed {
        args.push(Value::from(class.as_str()));
        names.push(format!("${}", args.len()));
    }
    args.push(Value::Int(task_limit));
    let tasks = read
        .fetch_all(
            &format!(
                "SELECT sys_id, number, short_description, sys_class_name FROM task \
                 WHERE sys_class_name IN ({}) AND sys_id NOT IN \
                 (SELECT task FROM sn_dpr_model_release_related_task WHERE \"release\" = $1) \
                 ORDER BY number, sys_id LIMIT ${}",
                names.join(", "),
                args.len()
            ),
            &args,
        )
        .await?;
    read.commit().await?;
    let mut choices = ScopeChoices {
        priorities: PRIORITIES,
        key_date_types: KEY_DATE_TYPES,
        key_date_states: KEY_DATE_STATES,
        ..Default::default()
    };
    for r in &carried {
        let product = (r.string("product"), r.string("product_name"));
        if !choices.products.contains(&product) {
            choices.products.push(product);
        }
        if let Some(version) = r.text("version") {
            let label = format!(
                "{} {}",
                r.string("product_name"),
                r.text("version_name").unwrap_or_default()
            );
            if !choices.versions.iter().any(|(v, _)| *v == version) {
                choices.versions.push((version, label));
            }
        }
    }
    choices.tasks = tasks
        .iter()
        .map(|r| TaskChoice {
            sys_id: r.string("sys_id"),
            number: r.text("number").unwrap_or_default(),
            short_description: r.text("short_description").unwrap_or_default(),
            class: r.string("sys_class_name"),
        })
        .collect();
    Ok(choices)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn priority_defaults_to_medium_and_accepts_only_the_documented_values() {
        assert_eq!(priority(None).unwrap(), "medium");
        assert_eq!(priority(Some("")).unwrap(), "medium");
        assert_eq!(priority(Some("high")).unwrap(), "high");
        let err = priority(Some("urgent")).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("priority"));
        assert!(err.message.contains("high, medium, low"), "{}", err.message);
    }

    #[test]
    fn key_date_types_and_states_are_the_documented_ones() {
        assert_eq!(key_date_type("milestone").unwrap(), "milestone");
        assert!(key_date_type("birthday").is_err());
        assert_eq!(key_date_state("upcoming").unwrap(), "upcoming");
        assert!(key_date_state("done").is_err());
    }

    #[test]
    fn a_due_date_must_fall_inside_the_planned_window_both_ends_included() {
        let (s, e) = (Some(d("2025-09-01")), Some(d("2025-12-31")));
        assert!(check_due_date(d("2025-09-01"), s, e, "dueDate").is_ok());
        assert!(check_due_date(d("2025-12-31"), s, e, "dueDate").is_ok());
        let err = check_due_date(d("2026-01-01"), s, e, "duedate").unwrap_err();
        assert_eq!(err.kind, ErrorKind::TimeMismatch);
        assert!(err.message.starts_with("duedate:"), "{}", err.message);
        assert!(check_due_date(d("2025-08-31"), s, e, "dueDate").is_err());
    }

    #[test]
    fn without_a_planned_end_only_the_start_bounds_the_due_date() {
        let s = Some(d("2025-09-01"));
        assert!(check_due_date(d("2030-01-01"), s, None, "dueDate").is_ok());
        assert!(check_due_date(d("2025-01-01"), s, None, "dueDate").is_err());
    }

    #[test]
    fn assignees_need_a_release_role_or_admin() {
        let roles = |r: &[&str]| r.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(may_be_assigned(&roles(&["sn_dpr_model.release_user"])));
        assert!(may_be_assigned(&roles(&["admin"])));
        assert!(!may_be_assigned(&roles(&[
            "sn_dpr_model.release_calendar_admin"
        ])));
        assert!(!may_be_assigned(&[]));
    }

    #[test]
    fn the_related_task_types_default_when_the_property_is_absent_or_blank() {
        let default: Vec<String> = DEFAULT_RELATED_TASK_TYPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(related_task_types(None), default);
        assert_eq!(related_task_types(Some(" , ")), default);
        assert_eq!(
            related_task_types(Some(" incident , rm_story")),
            vec!["incident".to_owned(), "rm_story".to_owned()]
        );
    }

    #[test]
    fn only_records_of_listed_tables_that_extend_task_can_be_related() {
        let allowed = related_task_types(Some("incident,task"));
        let id = "0123456789abcdef0123456789abcdef";
        assert!(check_task(id, Some("incident"), &allowed).is_ok());
        for class in [None, Some("task"), Some("change_request")] {
            let err = check_task(id, class, &allowed).unwrap_err();
            assert!(err.message.contains(id), "{}", err.message);
            assert_eq!(err.field.as_deref(), Some("taskIds"));
        }
    }

    #[test]
    fn a_due_date_is_stored_at_midnight() {
        assert_eq!(stored_due_date(d("2025-11-01")), "2025-11-01 00:00:00");
    }
}
