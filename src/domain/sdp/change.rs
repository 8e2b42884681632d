//! A release request of the v3 API (add and edit), parsed once at the start
//! of the command into a [`ReleaseChange`]: every field the API accepts,
//! each refused with the family's error when malformed, before anything is
//! read. Then the rules a change obeys that need no records: which stage may
//! follow which ([`stage_after`], free unless an administrator forbids moving
//! back), which status the release takes
//! ([`status_move`]), and that a schedule starts before it ends.

use serde_json::{Map, Value as Json};

use super::reference::{parse_named, Named};
use super::releases::{DESCRIPTIVE, REFERENCES, TIMES};
use crate::error::{Error, ErrorKind, Result};

/// Fields only the server sets.
const READ_ONLY: &[&str] = &[
    "id",
    "short_description",
    "created_time",
    "completed_time",
    "deleted_time",
    "release_requester",
    "release_engineer",
    "release_manager",
    "workflow",
    "notes_present",
    "closure_code",
    "configuration_items",
    "image_token",
];

/// A reference field given: its request key, reference kind and column,
/// and what it names (none: the request clears it).
pub struct ReferenceChange {
    pub key: &'static str,
    pub kind: &'static str,
    pub column: &'static str,
    pub named: Option<Named>,
}

/// A role holder given in `roles`: the field prefix (`roles[i]`), the role
/// and the user.
pub struct RoleHolder {
    pub field: String,
    pub role: Named,
    pub user: Named,
}

/// What an add or edit request asks for; a field left out is `None` (an
/// edit keeps it).
#[derive(Default)]
pub struct ReleaseChange {
    pub title: Option<String>,
    /// `Some(None)`: cleared.
    pub description: Option<Option<String>>,
    pub emergency: Option<bool>,
    pub references: Vec<ReferenceChange>,
    pub stage: Option<Named>,
    pub status: Option<Named>,
    /// Date-times given: (request key, column, epoch milliseconds or none).
    pub times: Vec<(&'static str, &'static str, Option<i64>)>,
    /// Services given (all of them: the list replaces the stored one), with
    /// their field names (`services[i]`); null items are left out.
    pub services: Option<Vec<(String, Named)>>,
    /// Assets given, as services are.
    pub assets: Option<Vec<(String, Named)>>,
    /// Role holders given (the list replaces the stored one).
    pub roles: Option<Vec<RoleHolder>>,
    /// Descriptive sub-records given: (key, description or none).
    pub descriptive: Vec<(&'static str, Option<String>)>,
    /// The comment a stage or status change is recorded with (a non-blank
    /// string; otherwise the default text).
    pub comment: Option<String>,
}

/// Whether the request makes a new release or edits one: a new release
/// needs a title and a template.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Purpose {
    Add,
    Edit,
}

impl ReleaseChange {
    /// Parses a request's `release` object.
    /// `max_items` bounds the `services` and `roles` lists (the
    /// `max_query_terms` setting): each item costs lookups in the write
    /// transaction, so their number is refused before any is parsed.
    pub fn parse(
        input: &Map<String, Json>,
        purpose: Purpose,
        max_items: usize,
    ) -> Result<ReleaseChange> {
        if let Some(field) = READ_ONLY.iter().find(|f| input.contains_key(**f)) {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                format!("{field} cannot be set: the server maintains it"),
            )
            .with_field(*field));
        }
        let adding = purpose == Purpose::Add;
        let title = match input.get("title") {
            Some(Json::String(t)) if !t.trim().is_empty() => Some(t.clone()),
            Some(Json::String(_)) | Some(Json::Null) => return Err(Error::missing("title")),
            Some(_) => return Err(Error::wrong_type("title", "a string")),
            None if adding => return Err(Error::missing("title")),
            None => None,
        };
        let mut change = ReleaseChange {
            title,
            ..ReleaseChange::default()
        };
        change.description = match input.get("description") {
            Some(Json::String(d)) => Some(Some(d.clone())),
            Some(Json::Null) => Some(None),
            Some(_) => return Err(Error::wrong_type("description", "a string")),
            None => None,
        };
        if let Some(v) = input.get("emergency") {
            let b = crate::domain::boolean::from_json(v)
                .ok_or_else(|| Error::wrong_type("emergency", "a boolean"))?;
            change.emergency = Some(b);
        }
        for &(key, kind, column) in REFERENCES {
            let named = match input.get(key) {
                Some(v) => parse_named(key, v)?,
                None if key == "template" && adding => return Err(Error::missing("template")),
                None => continue,
            };
            // Every release has a template: it cannot be cleared.
            if key == "template" && named.is_none() {
                return Err(Error::missing("template"));
            }
            change.references.push(ReferenceChange {
                key,
                kind,
                column,
                named,
            });
        }
        // A stage or status given as null names nothing to move to.
        if let Some(v) = input.get("stage") {
            change.stage = Some(parse_named("stage", v)?.ok_or_else(|| Error::missing("stage"))?);
        }
        if let Some(v) = input.get("status") {
            change.status =
                Some(parse_named("status", v)?.ok_or_else(|| Error::missing("status"))?);
        }
        for &(key, column) in TIMES {
            if let Some(v) = input.get(key) {
                change.times.push((key, column, parse_time(key, v)?));
            }
        }
        if let Some(v) = input.get("services") {
            change.services = Some(parse_named_list("services", v, max_items)?);
        }
        if let Some(v) = input.get("assets") {
            change.assets = Some(parse_named_list("assets", v, max_items)?);
        }
        if let Some(v) = input.get("roles") {
            let items = v
                .as_array()
                .ok_or_else(|| Error::wrong_type("roles", "an array"))?;
            if items.len() > max_items {
                return Err(Error::invalid(
                    "roles",
                    format!("lists more than {max_items} items"),
                ));
            }
            let mut roles = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let role_field = format!("roles[{i}].role");
                let role = parse_named(&role_field, item.get("role").unwrap_or(&Json::Null))?
                    .ok_or_else(|| Error::missing(&role_field))?;
                let user = parse_user(
                    &format!("roles[{i}].user"),
                    item.get("user").unwrap_or(&Json::Null),
                )?;
                roles.push(RoleHolder {
                    field: format!("roles[{i}]"),
                    role,
                    user,
                });
            }
            change.roles = Some(roles);
        }
        for &(key, _, _) in DESCRIPTIVE {
            if let Some(value) = input.get(key) {
                change
                    .descriptive
                    .push((key, parse_descriptive(key, value)?));
            }
        }
        change.comment = status_comment(input);
        Ok(change)
    }

    /// The epoch milliseconds the request gives a date-time column, if it
    /// names it (`Some(None)`: cleared).
    pub fn time(&self, column: &str) -> Option<Option<i64>> {
        self.times
            .iter()
            .find(|(_, c, _)| *c == column)
            .map(|(_, _, v)| *v)
    }
}

/// A list of references (`services`, `assets`), with each item's field
/// name (`services[i]`); null items are left out.
fn parse_named_list(key: &str, value: &Json, max_items: usize) -> Result<Vec<(String, Named)>> {
    let items = value
        .as_array()
        .ok_or_else(|| Error::wrong_type(key, "an array"))?;
    if items.len() > max_items {
        return Err(Error::invalid(
            key,
            format!("lists more than {max_items} items"),
        ));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{key}[{i}]");
        if let Some(named) = parse_named(&field, item)? {
            out.push((field, named));
        }
    }
    Ok(out)
}

/// The comment a request gives a stage or status change: a non-blank
/// `comment` string (anything else leaves the default text).
pub fn status_comment(input: &Map<String, Json>) -> Option<String> {
    match input.get("comment") {
        Some(Json::String(c)) if !c.trim().is_empty() => Some(c.clone()),
        _ => None,
    }
}

/// A user named by `{"id": ...}` or `{"name": ...}` (the object is
/// required).
pub fn parse_user(field: &str, value: &Json) -> Result<Named> {
    use super::reference::By;
    let obj = value
        .as_object()
        .ok_or_else(|| Error::wrong_type(field, "an object with id or name"))?;
    let by = match (obj.get("id").filter(|v| !v.is_null()), obj.get("name")) {
        (Some(id), _) => By::Id(super::reference::parse_id(&format!("{field}.id"), id)?),
        (None, Some(Json::String(name))) => By::Name(name.clone()),
        _ => return Err(Error::invalid(field, "give the user's id or name")),
    };
    Ok(Named {
        by,
        given: value.to_string(),
    })
}

/// `{"value": "<epoch milliseconds>"}`, or null.
fn parse_time(field: &str, value: &Json) -> Result<Option<i64>> {
    match value {
        Json::Null => Ok(None),
        Json::Object(o) => match o.get("value") {
            Some(v) => super::reference::parse_id(&format!("{field}.value"), v).map(Some),
            None => Err(Error::missing(&format!("{field}.value"))),
        },
        _ => Err(Error::wrong_type(
            field,
            "an object with value (epoch milliseconds)",
        )),
    }
}

/// `{"description": ...}` (null or no description: none), or null.
fn parse_descriptive(key: &str, value: &Json) -> Result<Option<String>> {
    match value {
        Json::Null => Ok(None),
        Json::Object(o) => match o.get("description") {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(d)) => Ok(Some(d.clone())),
            Some(_) => Err(Error::wrong_type(&format!("{key}.description"), "a string")),
        },
        _ => Err(Error::wrong_type(key, "an object with description")),
    }
}

/// A stage as the order rule sees it: its id and its position
/// (`stage_index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    pub id: i64,
    pub index: i64,
}

impl Stage {
    /// Stages are fixed and their ids follow their order, so a stored
    /// release's stage id is its position.
    pub fn of_id(id: i64) -> Stage {
        Stage { id, index: id }
    }
}

/// The stage a new release starts in (Submission).
pub const FIRST_STAGE: i64 = 1;

/// Whether a release may move back to an earlier stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageOrder {
    /// Any stage may follow any other, as the vendor allows (the default:
    /// the document's edit example moves a release back to Submission).
    Free,
    /// Stages move forward only (an administrator's choice, the property
    /// [`FORBID_STAGE_BACK_PROPERTY`]).
    ForwardOnly,
}

/// The system property that, set to `true`, forbids moving a release back
/// to an earlier stage.
pub const FORBID_STAGE_BACK_PROPERTY: &str = "sdp.release.forbid_stage_back";

impl StageOrder {
    /// The order the property's value asks for (`true`, any case: forward
    /// only; anything else, or no property: free).
    pub fn from_property(value: Option<&str>) -> StageOrder {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("true") => StageOrder::ForwardOnly,
            _ => StageOrder::Free,
        }
    }
}

/// The stage a release is in after a change: the requested one (unless the
/// order is forward only and it lies before the current one; naming the
/// current stage again is no move); without a request, the current stage,
/// or [`FIRST_STAGE`] for a new release.
pub fn stage_after(
    current: Option<Stage>,
    requested: Option<Stage>,
    order: StageOrder,
) -> Result<i64> {
    match (current, requested) {
        (Some(cur), Some(new))
            if order == StageOrder::ForwardOnly && new.index < cur.index && new.id != cur.id =>
        {
            Err(Error::invalid(
                "stage",
                format!(
                    "a release moves forward through the stages, not back \
                     (the system property {FORBID_STAGE_BACK_PROPERTY} is true)"
                ),
            ))
        }
        (_, Some(new)) => Ok(new.id),
        (Some(cur), None) => Ok(cur.id),
        (None, None) => Ok(FIRST_STAGE),
    }
}

/// Which status a change gives the release.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusMove {
    /// The status the request names, which must belong to the stage the
    /// release is in after the change (names repeat across stages).
    Named,
    /// The first status of the stage: a new release, or a stage given
    /// without a status.
    StageStart,
    /// Stage and status stay as they are.
    Unchanged,
}

pub fn status_move(status_named: bool, stage_named: bool, purpose: Purpose) -> StatusMove {
    if status_named {
        StatusMove::Named
    } else if stage_named || purpose == Purpose::Add {
        StatusMove::StageStart
    } else {
        StatusMove::Unchanged
    }
}

/// A release's schedule (epoch milliseconds) may not end before it starts.
pub fn check_schedule(start: Option<i64>, end: Option<i64>) -> Result<()> {
    match (start, end) {
        (Some(s), Some(e)) if s > e => Err(Error::new(
            ErrorKind::TimeMismatch,
            "scheduled_start_time is after scheduled_end_time",
        )
        .with_field("scheduled_start_time")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::sdp::reference::By;

    fn object(v: Json) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    fn stage(id: i64) -> Option<Stage> {
        Some(Stage::of_id(id))
    }

    #[test]
    fn stages_move_forward_or_stay() {
        for order in [StageOrder::Free, StageOrder::ForwardOnly] {
            // Forward, by one or skipping stages.
            assert_eq!(stage_after(stage(1), stage(2), order).unwrap(), 2);
            assert_eq!(stage_after(stage(2), stage(9), order).unwrap(), 9);
            // Naming the current stage again is no move.
            assert_eq!(stage_after(stage(4), stage(4), order).unwrap(), 4);
            // Nothing named: the current stage, or Submission for a new release.
            assert_eq!(stage_after(stage(5), None, order).unwrap(), 5);
            assert_eq!(stage_after(None, None, order).unwrap(), FIRST_STAGE);
            // A new release may start in any stage.
            assert_eq!(stage_after(None, stage(3), order).unwrap(), 3);
        }
    }

    #[test]
    fn stages_move_back_unless_the_property_forbids_it() {
        for (from, to) in [(2, 1), (9, 8), (5, 3)] {
            assert_eq!(
                stage_after(stage(from), stage(to), StageOrder::Free).unwrap(),
                to
            );
            let err = stage_after(stage(from), stage(to), StageOrder::ForwardOnly).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Invalid, "{from} -> {to}");
            assert_eq!(err.field.as_deref(), Some("stage"));
        }
        // The order is the stage's position, not its id.
        let moved = Stage { id: 3, index: 10 };
        assert_eq!(
            stage_after(stage(9), Some(moved), StageOrder::ForwardOnly).unwrap(),
            3
        );
    }

    #[test]
    fn only_true_forbids_moving_back() {
        assert_eq!(StageOrder::from_property(None), StageOrder::Free);
        assert_eq!(StageOrder::from_property(Some("false")), StageOrder::Free);
        assert_eq!(StageOrder::from_property(Some("")), StageOrder::Free);
        assert_eq!(
            StageOrder::from_property(Some(" TRUE ")),
            StageOrder::ForwardOnly
        );
    }

    #[test]
    fn the_status_is_named_or_the_stage_start_or_kept() {
        use Purpose::*;
        assert_eq!(status_move(true, false, Edit), StatusMove::Named);
        assert_eq!(status_move(true, true, Add), StatusMove::Named);
        assert_eq!(status_move(false, true, Edit), StatusMove::StageStart);
        assert_eq!(status_move(false, false, Add), StatusMove::StageStart);
        assert_eq!(status_move(false, false, Edit), StatusMove::Unchanged);
    }

    #[test]
    fn a_schedule_ends_after_it_starts() {
        assert!(check_schedule(Some(1), Some(2)).is_ok());
        assert!(check_schedule(Some(2), Some(2)).is_ok());
        assert!(check_schedule(Some(2), None).is_ok());
        let err = check_schedule(Some(3), Some(2)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TimeMismatch);
        assert_eq!(err.field.as_deref(), Some("scheduled_start_time"));
    }

    #[test]
    fn a_new_release_needs_a_title_and_a_template() {
        let err = ReleaseChange::parse(&object(json!({"template": {"id": 1}})), Purpose::Add, 100)
            .err()
            .unwrap();
        assert_eq!(err.field.as_deref(), Some("title"));
        let err = ReleaseChange::parse(&object(json!({"title": "x"})), Purpose::Add, 100)
            .err()
            .unwrap();
        assert_eq!(err.field.as_deref(), Some("template"));
        assert!(ReleaseChange::parse(&object(json!({"title": "x"})), Purpose::Edit, 100).is_ok());
        // The template can never be cleared.
        let err = ReleaseChange::parse(&object(json!({"template": null})), Purpose::Edit, 100)
            .err()
            .unwrap();
        assert_eq!(err.kind, ErrorKind::Missing);
    }

    #[test]
    fn fields_parse_once_into_the_change() {
        let change = ReleaseChange::parse(
            &object(json!({
                "title": "Q3", "description": null, "emergency": true,
                "template": {"name": "General"}, "impact": null,
                "stage": {"id": "2"}, "status": {"name": "Rejected"},
                "scheduled_end_time": {"value": "1592820360370"},
                "services": [{"id": 4}, null],
                "roles": [{"role": {"id": 1}, "user": {"name": "Ann"}}],
                "checklist": {"description": "done"},
                "comment": "  ",
            })),
            Purpose::Add,
            100,
        )
        .unwrap();
        assert_eq!(change.title.as_deref(), Some("Q3"));
        assert_eq!(change.description, Some(None));
        assert_eq!(change.emergency, Some(true));
        let refs: Vec<_> = change
            .references
            .iter()
            .map(|r| (r.column, r.named.as_ref().map(|n| n.by.clone())))
            .collect();
        assert_eq!(
            refs,
            [
                ("template_id", Some(By::Name("General".into()))),
                ("impact_id", None)
            ]
        );
        assert_eq!(change.stage.as_ref().unwrap().by, By::Id(2));
        assert_eq!(
            change.status.as_ref().unwrap().by,
            By::Name("Rejected".into())
        );
        assert_eq!(change.time("scheduled_end"), Some(Some(1_592_820_360_370)));
        assert_eq!(change.time("scheduled_start"), None);
        let services = change.services.unwrap();
        assert_eq!(services.len(), 1);
        assert_eq!(services[0].0, "services[0]");
        let roles = change.roles.unwrap();
        assert_eq!(roles[0].user.by, By::Name("Ann".into()));
        assert_eq!(change.descriptive, [("checklist", Some("done".to_owned()))]);
        // A blank comment is no comment.
        assert_eq!(change.comment, None);
    }

    #[test]
    fn malformed_fields_are_refused_with_their_names() {
        for (input, field, kind) in [
            (json!({"id": 3}), "id", ErrorKind::ReadOnly),
            (json!({"title": 3}), "title", ErrorKind::WrongType),
            (json!({"title": " "}), "title", ErrorKind::Missing),
            (
                json!({"emergency": "yes"}),
                "emergency",
                ErrorKind::WrongType,
            ),
            (json!({"stage": null}), "stage", ErrorKind::Missing),
            (json!({"stage": "planning"}), "stage", ErrorKind::WrongType),
            (json!({"status": {}}), "status", ErrorKind::Invalid),
            (
                json!({"scheduled_start_time": {}}),
                "scheduled_start_time.value",
                ErrorKind::Missing,
            ),
            (json!({"services": {}}), "services", ErrorKind::WrongType),
            (
                json!({"roles": [{"user": {"id": 1}}]}),
                "roles[0].role",
                ErrorKind::Missing,
            ),
            (
                json!({"roles": [{"role": {"id": 1}, "user": null}]}),
                "roles[0].user",
                ErrorKind::WrongType,
            ),
            (
                json!({"checklist": {"description": 1}}),
                "checklist.description",
                ErrorKind::WrongType,
            ),
        ] {
            let err = ReleaseChange::parse(&object(input.clone()), Purpose::Edit, 100)
                .err()
                .unwrap_or_else(|| panic!("{input} was accepted"));
            assert_eq!(err.field.as_deref(), Some(field), "{input}");
            assert_eq!(err.kind, kind, "{input}");
        }
    }

    #[test]
    fn service_and_role_lists_longer_than_the_limit_are_refused_before_parsing() {
        for key in ["services", "assets", "roles"] {
            let err = ReleaseChange::parse(
                &object(json!({"title": "x", key: [1, 2, 3]})),
                Purpose::Edit,
                2,
            )
            .err()
            .expect("refused");
            assert_eq!(err.field.as_deref(), Some(key));
            assert!(err.message.contains("more than 2"), "{}", err.message);
        }
    }
}
