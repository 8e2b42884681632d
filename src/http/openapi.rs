//! The OpenAPI 3.1 document served at `/openapi.json`, built from the
//! endpoint lists the router is built from (`http::families()`) and the
//! table registry. `tests/snapshots/openapi.json` holds the document, so a
//! change to the API shows in review.

use serde_json::{json, Map, Value as Json};

use super::endpoint::{Access, ApiFamily, Body, Endpoint};
use super::envelope::Family as Envelope;
use crate::config::Settings;
use crate::registry::{ColumnType, TABLES};

fn column_schema(ty: ColumnType) -> Json {
    match ty {
        ColumnType::Reference(t) => {
            json!({"oneOf": [{"type": "string"}, {"type": "object", "properties": {"link": {"type": "string"}, "value": {"type": "string"}}}], "description": format!("reference to {t}")})
        }
        ColumnType::Choice(choices) => {
            json!({"type": "string", "enum": choices.iter().map(|(v, _)| *v).collect::<Vec<_>>()})
        }
        other => json!({"type": "string", "description": other.name()}),
    }
}

/// The refusals an endpoint of `family` may answer besides 400, 401 and
/// 403, as its envelope maps errors (`http::envelope`): a client that reads
/// the document knows every status it can get.
fn refusals(family: Envelope) -> &'static [(&'static str, &'static str)] {
    const NOT_FOUND: (&str, &str) = ("404", "The addressed record or resource does not exist");
    const CONFLICT: (&str, &str) = (
        "409",
        "The record's state, a unique value or a reference forbids the operation",
    );
    const TOO_LARGE: (&str, &str) = ("413", "The request body is larger than the server takes");
    const TOO_MANY: (&str, &str) = (
        "429",
        "Too many failed authentications; retry after Retry-After seconds",
    );
    const BUSY: (&str, &str) = ("503", "The database is busy or unreachable; retry");
    match family {
        Envelope::ServiceNow | Envelope::Other => &[NOT_FOUND, CONFLICT, TOO_LARGE, TOO_MANY, BUSY],
        // Conflicts are failures of the request's content here (400).
        Envelope::DigitalProductRelease | Envelope::ServiceDesk => {
            &[NOT_FOUND, TOO_LARGE, TOO_MANY, BUSY]
        }
        // Every refusal of content or state is a 400, as the CDM pages say.
        Envelope::ConfigurationData => &[TOO_MANY, BUSY],
    }
}

/// The schema of a path parameter: the Table API's `{table}` is one of the
/// registered tables (so a client, or a fuzzer, knows which exist).
fn path_schema(name: &str) -> Json {
    if name == "table" {
        json!({"type": "string", "enum": TABLES.iter().map(|t| t.name).collect::<Vec<_>>()})
    } else {
        json!({"type": "string"})
    }
}

/// The operation object of one endpoint, under `settings` (an endpoint that
/// a setting opens is documented as the server answers it: without
/// credentials when the setting is on, as any caller's otherwise).
fn operation(family: &ApiFamily, e: &Endpoint, settings: &Settings) -> Json {
    let mut op = json!({
        "tags": [family.name],
        "summary": e.summary,
        "responses": {
            e.success.to_string(): {"description": "Success"},
            "400": {"description": "Bad request: the message names the field and the problem"},
            "401": {"description": "Missing or wrong credentials"},
            "403": {"description": "The caller lacks the role"},
        },
    });
    for (status, description) in refusals(family.envelope) {
        op["responses"][*status] = json!({ "description": description });
    }
    let roles = match e.access {
        Access::Public => None,
        Access::PublicIf(open, _) if open(settings) => None,
        Access::PublicIf(_, setting) => Some(format!(
            "any authenticated caller (without credentials when `{setting}` is true)"
        )),
        // The handler's own rule, as its note words it (whether admin
        // passes is part of the rule: the caller's own record is anyone's).
        Access::Caller(Some(note)) => Some(note.to_owned()),
        Access::Caller(None) => Some("any authenticated caller".to_owned()),
        Access::Roles([]) => Some("admin".to_owned()),
        Access::Roles(roles) => Some(format!("{} (or admin)", roles.join(", "))),
    };
    if let Some(roles) = roles {
        op["description"] = json!(format!("Roles: {roles}."));
        op["security"] = json!([{"basic": []}, {"bearer": []}]);
    }
    let mut parameters = Vec::new();
    for name in e.path_params() {
        parameters.push(json!({
            "name": e.documented_name(name), "in": "path", "required": true,
            "schema": path_schema(e.documented_name(name)),
        }));
    }
    for q in &e.query {
        parameters.push(json!({
            "name": q.name, "in": "query", "required": q.required,
            "schema": {"type": "string"},
        }));
    }
    if !parameters.is_empty() {
        op["parameters"] = Json::Array(parameters);
    }
    // A GET reads its input from the query string (the v3 `input_data`).
    if e.method != axum::http::Method::GET {
        let object = json!({"type": "object"});
        let content = match e.body {
            Body::None => None,
            Body::Object if family.xml => Some(
                json!({"application/json": {"schema": object}, "application/xml": {"schema": object}}),
            ),
            Body::Object => Some(json!({"application/json": {"schema": object}})),
            Body::Schema(name) => Some(
                json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}),
            ),
            Body::Form => Some(json!({"application/x-www-form-urlencoded": {"schema": object}})),
            Body::Raw => Some(json!({"*/*": {"schema": {"type": "string"}}})),
        };
        if let Some(content) = content {
            op["requestBody"] = json!({"content": content});
        }
    }
    op
}

/// The document the server serves under `settings`.
pub fn document(settings: &Settings) -> Json {
    let mut paths = Map::new();
    let mut tags = Vec::new();
    for family in super::families() {
        if !family.endpoints.is_empty() {
            let under = if family.prefix.is_empty() {
                "At the root".to_owned()
            } else {
                format!("Under {}", family.prefix)
            };
            tags.push(json!({"name": family.name, "description": under}));
        }
        for e in &family.endpoints {
            let path = paths
                .entry(family.documented_path(e))
                .or_insert_with(|| json!({}));
            path[e.method.as_str().to_ascii_lowercase()] = operation(&family, e, settings);
        }
    }
    let mut schemas = Map::new();
    for t in TABLES {
        let props: Map<String, Json> = t
            .all_columns()
            .into_iter()
            .filter(|c| c.ty != ColumnType::Password)
            .map(|c| (c.name.to_owned(), column_schema(c.ty)))
            .collect();
        schemas.insert(
            t.name.to_owned(),
            json!({"type": "object", "title": t.label, "properties": props}),
        );
    }
    schemas.insert("ReleaseCalendar".into(), json!({"type": "object", "required": ["name", "releaseAdmin"], "properties": {
        "name": {"type": "string"}, "releaseAdmin": {"type": "string"}, "description": {"type": "string"},
        "schedules": {"type": "string", "description": "comma-separated cmn_schedule sys_ids"},
        "timeZone": {"type": "string", "description": "Tollgate extension: IANA time zone of the calendar"}}}));
    schemas.insert("ReleaseTarget".into(), json!({"type": "object", "required": ["name", "releaseAdmin", "releaseCalendar", "isRecurring", "startDate"], "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "releaseAdmin": {"type": "string"},
        "releaseCalendar": {"type": "string"}, "isRecurring": {"type": "boolean"}, "startDate": {"type": "string", "format": "date"},
        "endDate": {"type": "string", "format": "date"}, "scheduleSysId": {"type": "string"},
        "repeats": {"type": "object", "properties": {"type": {"enum": ["weekly", "monthly"]}, "every": {"type": "integer"}, "daysOfWeek": {"type": "integer"}}},
        "targetsWithOverlappingScheduleDetails": {"type": "array", "items": {"type": "object", "properties": {"active": {"type": "boolean"}, "date": {"type": "string", "format": "date"}}}}}}));
    schemas.insert("ProductEnhancement".into(), json!({"type": "object", "required": ["name", "productSysId"], "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "priority": {"enum": ["high", "medium", "low"], "default": "medium"},
        "productSysId": {"type": "string"}, "versionSysId": {"type": "string"}, "releaseSysId": {"type": "string"},
        "productFeatureSysId": {"type": "string"}}}));
    schemas.insert("KeyDate".into(), json!({"type": "object", "required": ["name", "type", "state", "dueDate"], "properties": {
        "name": {"type": "string"}, "description": {"type": "string"},
        "type": {"enum": ["deadline", "important_date", "key_event", "milestone"]}, "state": {"enum": ["archived", "missed", "upcoming"]},
        "dueDate": {"type": "string", "format": "date", "description": "also accepted as duedate"}, "assignedTo": {"type": "string"}}}));
    schemas.insert(
        "RelatedTasks".into(),
        json!({"type": "object", "required": ["taskIds"], "properties": {
        "taskIds": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}),
    );
    schemas.insert(
        "PolicyEval".into(),
        json!({"type": "object", "required": ["policy", "input"], "properties": {
        "policy": {"type": "string", "description": "the Rego source, at most 256 KiB"},
        "input": {"description": "the policy's input document, at most 1 MiB of JSON"}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Tollgate", "version": env!("CARGO_PKG_VERSION"), "description": "Release and change control server. ServiceNow-style paths also answer with an optional /{api_version} segment (v1, v2) after the family prefix."},
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}, "bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}
