//! Retrieve: copy a complete update set, with every update in it, from a
//! remote instance into a retrieved update set (`sys_remote_update_set`).
//! Everything is read first; the copy is written in one transaction, so a
//! remote that fails half-way leaves nothing behind.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;

use super::remote::{self, Object, RemoteInstance, RemotePolicy};
use super::{insert_rows, new_row, DELETE, INSERT_OR_UPDATE};
use crate::domain::records::insert_values;
use crate::error::{Error, Result};
use crate::ids::is_sys_id;
use crate::registry;
use crate::storage::{Db, Tx, Value};
use crate::time::now_string;

/// Updates read per request from the remote instance.
pub const PAGE_SIZE: usize = 2_000;

/// The fields of a remote update that travel.
const UPDATE_FIELDS: &str = "sys_id,name,table,record_sys_id,target_name,type,action,payload,\
                             base_payload,base_update_set,sequence";

/// A Table API answer for one record or a list: `{"result": ...}`. Other
/// members are skipped unread.
#[derive(Deserialize)]
struct Answer<T> {
    result: T,
}

/// An answer of one record.
type OneRecord<T> = Object<Answer<Object<T>>>;

/// The fields of a remote update set that retrieval reads; the others are
/// skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoteSet {
    #[serde(deserialize_with = "remote::text")]
    pub name: String,
    #[serde(deserialize_with = "remote::text")]
    pub description: String,
    #[serde(deserialize_with = "remote::text")]
    pub state: String,
    #[serde(deserialize_with = "remote::text")]
    pub origin_sys_id: String,
    #[serde(deserialize_with = "remote::text")]
    pub application: String,
}

/// The fields of a remote update that travel (`sys_id` and `sequence` are
/// asked for but not kept: the copy gets its own, in the remote's order).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoteUpdate {
    #[serde(deserialize_with = "remote::text")]
    pub name: String,
    #[serde(deserialize_with = "remote::text")]
    pub table: String,
    #[serde(deserialize_with = "remote::text")]
    pub record_sys_id: String,
    #[serde(deserialize_with = "remote::text")]
    pub target_name: String,
    #[serde(rename = "type", deserialize_with = "remote::text")]
    pub type_: String,
    #[serde(deserialize_with = "remote::text")]
    pub action: String,
    #[serde(deserialize_with = "remote::text")]
    pub payload: String,
    #[serde(deserialize_with = "remote::text")]
    pub base_payload: String,
    #[serde(deserialize_with = "remote::text")]
    pub base_update_set: String,
}

/// A remote update checked as it is parsed, so that a list fails at its
/// first update that is not well formed, before the rest is read.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Object<RemoteUpdate>")]
pub struct CheckedUpdate(pub RemoteUpdate);

const NOT_AN_ACTION: &str = "an update whose action is neither INSERT_OR_UPDATE nor DELETE";
const NO_TARGET: &str = "an update without its table and record sys_id";
const PAYLOAD_NOT_AN_OBJECT: &str = "an update whose payload is not a JSON object";
const BASE_PAYLOAD_NOT_AN_OBJECT: &str = "an update whose base_payload is not a JSON object";
/// What [`CheckedUpdate`] may find wrong with an update.
const UPDATE_PROBLEMS: [&str; 4] = [
    NOT_AN_ACTION,
    NO_TARGET,
    PAYLOAD_NOT_AN_OBJECT,
    BASE_PAYLOAD_NOT_AN_OBJECT,
];

impl TryFrom<Object<RemoteUpdate>> for CheckedUpdate {
    type Error = &'static str;

    fn try_from(Object(update): Object<RemoteUpdate>) -> std::result::Result<Self, &'static str> {
        if update.action != INSERT_OR_UPDATE && update.action != DELETE {
            return Err(NOT_AN_ACTION);
        }
        if update.table.is_empty() || !is_sys_id(&update.record_sys_id) {
            return Err(NO_TARGET);
        }
        if !is_object_or_empty(&update.payload) {
            return Err(PAYLOAD_NOT_AN_OBJECT);
        }
        if !is_object_or_empty(&update.base_payload) {
            return Err(BASE_PAYLOAD_NOT_AN_OBJECT);
        }
        Ok(CheckedUpdate(update))
    }
}

/// Whether a payload is empty or one JSON object, checked without building
/// it in memory.
fn is_object_or_empty(payload: &str) -> bool {
    payload.is_empty()
        || (payload
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
            && serde_json::from_str::<serde::de::IgnoredAny>(payload).is_ok())
}

/// What an update list of the wrong shape is told as: the check of
/// [`CheckedUpdate`] that failed, if one did (found among its own words, so
/// nothing the remote sent can be repeated), or the shape in general.
fn update_list_problem(e: &serde_json::Error) -> &'static str {
    let said = e.to_string();
    UPDATE_PROBLEMS
        .into_iter()
        .find(|problem| said.starts_with(problem))
        .unwrap_or("an update list that is not a result array of update objects of text fields")
}

/// A remote instance record, ready to call.
pub struct Source {
    pub sys_id: String,
    pub name: String,
    pub remote: RemoteInstance,
}

/// Checks the id of the remote update set to retrieve: a sys_id, nothing
/// else (it goes into the remote request's path and query).
pub fn check_update_set_id(update_set_id: &str) -> Result<()> {
    if is_sys_id(update_set_id) {
        Ok(())
    } else {
        Err(Error::invalid(
            "update_set_id",
            format!("{update_set_id:?} is not a sys_id (32 lower-case hexadecimal digits)"),
        ))
    }
}

/// Finds the remote instance by sys_id or instance id, and decrypts its
/// credentials; refuses one the server may not reach.
pub async fn source(db: &Db, sys_id: &str, policy: &RemotePolicy) -> Result<Source> {
    let row = db
        .fetch_optional(
            "SELECT sys_id, name, url, username, password, active FROM sys_update_set_source WHERE sys_id = $1",
            &[Value::from(sys_id)],
        )
        .await?
        .ok_or_else(|| {
            Error::not_found(format!("update_source_id: no remote instance {sys_id}"))
        })?;
    if !row.bool("active") {
        return Err(Error::conflict(format!(
            "The remote instance {} is inactive",
            row.string("name")
        )));
    }
    let Some(stored) = row.text("password").filter(|p| !p.is_empty()) else {
        return Err(Error::conflict(format!(
            "The remote instance {} has no stored password (changing its url clears it); set its password",
            row.string("name")
        )));
    };
    let binding = crate::secrets::Binding::new("sys_update_set_source", "password", sys_id);
    let password = crate::secrets::decrypt(db, &stored, &binding).await?;
    Ok(Source {
        sys_id: row.string("sys_id"),
        name: row.string("name"),
        remote: RemoteInstance::new(
            &row.string("url"),
            &row.string("username"),
            &password,
            policy,
        )?,
    })
}

/// The remote update set, which must exist and be complete.
pub async fn remote_set(source: &Source, update_set_id: &str) -> Result<RemoteSet> {
    check_update_set_id(update_set_id)?;
    let set = source
        .remote
        .get_json::<OneRecord<RemoteSet>>(
            &format!(
                "/api/now/table/sys_update_set/{}?sysparm_exclude_reference_link=true",
                encoded(update_set_id)
            ),
            |_| "an update set that is not a result object of text fields",
        )
        .await?
        .ok_or_else(|| {
            Error::conflict(format!(
                "The update set {update_set_id} does not exist on the remote instance {}",
                source.remote.url()
            ))
        })?
        .0
        .result
        .0;
    if set.state != "complete" {
        // The remote's state text is not repeated: nothing it says is.
        return Err(Error::conflict(format!(
            "The update set {update_set_id} on {} is not complete; only complete update sets can be retrieved",
            source.remote.url()
        )));
    }
    Ok(set)
}

/// One page of the remote set's updates, in capture order.
pub async fn remote_updates_page(
    source: &Source,
    update_set_id: &str,
    offset: usize,
) -> Result<Vec<RemoteUpdate>> {
    check_update_set_id(update_set_id)?;
    let path = format!(
        "/api/now/table/sys_update_xml?sysparm_query=update_set%3D{}%5EORDERBYsequence\
         &sysparm_limit={PAGE_SIZE}&sysparm_offset={offset}&sysparm_exclude_reference_link=true\
         &sysparm_fields={UPDATE_FIELDS}",
        encoded(update_set_id)
    );
    let answer = source
        .remote
        .get_json::<Object<Answer<Vec<CheckedUpdate>>>>(&path, update_list_problem)
        .await?
        .ok_or_else(|| garbage(source, "404 for the update list"))?;
    Ok(answer.0.result.into_iter().map(|u| u.0).collect())
}

/// The remote application's scope name, to find the same application here.
pub async fn remote_scope(source: &Source, application: &str) -> Result<Option<String>> {
    if !is_sys_id(application) {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Scope {
        scope: Option<String>,
    }
    let answer = source
        .remote
        .get_json::<OneRecord<Scope>>(
            &format!(
                "/api/now/table/sys_scope/{}?sysparm_fields=scope",
                encoded(application)
            ),
            |_| "an application that is not a result object with a text scope",
        )
        .await?;
    Ok(answer.and_then(|a| a.0.result.0.scope))
}

/// An id for a remote request's path or query (checked as a sys_id first;
/// encoded all the same, so no later change can make it say more).
fn encoded(id: &str) -> String {
    utf8_percent_encode(id, NON_ALPHANUMERIC).to_string()
}

fn garbage(source: &Source, what: &str) -> Error {
    Error::conflict(format!(
        "The remote instance {} answered {what}",
        source.remote.url()
    ))
}

/// What was read from the remote instance.
pub struct Retrieved {
    pub remote_set_id: String,
    pub set: RemoteSet,
    pub scope: Option<String>,
    pub updates: Vec<RemoteUpdate>,
}

/// Writes the retrieved copy; with `cleanup`, earlier uncommitted copies of
/// the same remote set go first. Returns the new retrieved set's sys_id.
pub async fn store(
    tx: &mut Tx,
    source: &Source,
    retrieved: Retrieved,
    cleanup: bool,
    actor: &str,
) -> Result<String> {
    if cleanup {
        let earlier = tx
            .fetch_all(
                "SELECT sys_id FROM sys_remote_update_set WHERE remote_sys_id = $1 AND state <> 'committed'",
                &[Value::from(&retrieved.remote_set_id)],
            )
            .await?;
        for row in earlier {
            remove(tx, &row.string("sys_id")).await?;
        }
    }
    let application = match &retrieved.scope {
        Some(scope) => tx
            .fetch_optional(
                "SELECT sys_id FROM sys_scope WHERE scope = $1",
                &[Value::from(scope)],
            )
            .await?
            .map(|r| r.string("sys_id")),
        None => None,
    };
    let origin = Some(retrieved.set.origin_sys_id)
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| retrieved.remote_set_id.clone());
    let table = registry::table("sys_remote_update_set").expect("registered");
    let id = insert_values(
        tx,
        table,
        None,
        vec![
            ("name", Value::from(retrieved.set.name)),
            ("description", Value::from(retrieved.set.description)),
            ("state", Value::from("loaded")),
            ("remote_sys_id", Value::from(&retrieved.remote_set_id)),
            ("origin_sys_id", Value::from(origin)),
            ("update_source", Value::from(&source.sys_id)),
            ("application", Value::from(application.clone())),
            ("update_count", Value::Int(retrieved.updates.len() as i64)),
        ],
        actor,
    )
    .await?;
    let now = now_string();
    let columns = [
        "remote_update_set",
        "name",
        "table",
        "record_sys_id",
        "target_name",
        "type",
        "action",
        "payload",
        "base_payload",
        "base_update_set",
        "application",
        "sequence",
    ];
    let rows = retrieved
        .updates
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            let opt = |t: String| Value::from(Some(t).filter(|t| !t.is_empty()));
            new_row(
                &now,
                actor,
                vec![
                    Value::from(&id),
                    Value::Text(u.name),
                    Value::Text(u.table),
                    Value::Text(u.record_sys_id),
                    opt(u.target_name),
                    opt(u.type_),
                    Value::Text(u.action),
                    opt(u.payload),
                    opt(u.base_payload),
                    opt(u.base_update_set),
                    Value::from(application.clone()),
                    Value::Int(i as i64 + 1),
                ],
            )
        })
        .collect();
    insert_rows(tx, "sys_update_xml", &columns, rows).await?;
    Ok(id)
}

/// Deletes a retrieved set with its updates and preview problems.
pub async fn remove(tx: &mut Tx, remote_set: &str) -> Result<()> {
    for sql in [
        "DELETE FROM sys_update_preview_problem WHERE remote_update_set = $1",
        "DELETE FROM sys_update_xml WHERE remote_update_set = $1",
        "DELETE FROM sys_remote_update_set WHERE sys_id = $1",
    ] {
        tx.execute(sql, &[Value::from(remote_set)]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type Page = Object<Answer<Vec<CheckedUpdate>>>;

    const UPDATE: &str = r#"{"sys_id":"9999aaaa9999aaaa9999aaaa9999aaaa","name":"n","table":"sys_properties",
        "record_sys_id":"9999bbbb9999bbbb9999bbbb9999bbbb","target_name":null,"type":"System Property",
        "action":"INSERT_OR_UPDATE","payload":"{\"name\":\"x\"}","base_payload":"","sequence":7,
        "extra":{"deep":[1,[2,[3]]]}}"#;

    #[test]
    fn a_well_formed_answer_is_read_field_by_field_skipping_the_rest() {
        let page: Page =
            serde_json::from_str(&format!(r#"{{"result":[{UPDATE}],"x":1}}"#)).unwrap();
        let updates: Vec<RemoteUpdate> = page.0.result.into_iter().map(|u| u.0).collect();
        assert_eq!(updates.len(), 1);
        let u = &updates[0];
        assert_eq!(u.table, "sys_properties");
        assert_eq!(u.type_, "System Property");
        assert_eq!(u.target_name, "", "null reads as empty");
        assert_eq!(u.payload, r#"{"name":"x"}"#);
        let set: OneRecord<RemoteSet> = serde_json::from_str(
            r#"{"result":{"name":"S","state":"complete","application":"","update_count":3,"active":true}}"#,
        )
        .unwrap();
        assert_eq!(set.0.result.0.state, "complete");
        assert_eq!(set.0.result.0.description, "");
    }

    #[test]
    fn an_answer_of_the_wrong_shape_fails_at_its_first_wrong_element() {
        // Each is cut off after the wrong element: a data error, not the end
        // of input, shows parsing stopped there.
        for cut in [
            "[0,0,0,",
            r#"{"result":[0,0,"#,
            r#"{"result":{"#,
            r#"{"result":[["a","b","c"],"#,
            r#"{"result":[{"table":[1],"#,
            r#"{"result":[{"table":{"a":1}},"#,
        ] {
            let e = serde_json::from_str::<Page>(cut).err().expect(cut);
            assert!(e.is_data(), "{cut}: {e}");
            assert_eq!(
                update_list_problem(&e),
                "an update list that is not a result array of update objects of text fields",
                "{cut}"
            );
        }
        for (cut, problem) in [
            (r#"{"result":[{},"#, NOT_AN_ACTION),
            (r#"{"result":[{"action":"DELETE"},"#, NO_TARGET),
            (
                r#"{"result":[{"action":"DELETE","table":"t","record_sys_id":"9999bbbb9999bbbb9999bbbb9999bbbb","payload":"[1]"},"#,
                PAYLOAD_NOT_AN_OBJECT,
            ),
            (
                r#"{"result":[{"action":"DELETE","table":"t","record_sys_id":"9999bbbb9999bbbb9999bbbb9999bbbb","base_payload":"1"},"#,
                BASE_PAYLOAD_NOT_AN_OBJECT,
            ),
        ] {
            let e = serde_json::from_str::<Page>(cut).err().expect(cut);
            assert!(e.is_data(), "{cut}: {e}");
            assert_eq!(update_list_problem(&e), problem, "{cut}");
        }
        let e = serde_json::from_str::<OneRecord<RemoteSet>>(r#"{"result":["complete","#)
            .err()
            .unwrap();
        assert!(e.is_data(), "a record is an object, never an array: {e}");
    }

    #[test]
    fn a_payload_is_checked_as_an_object_without_being_built() {
        for good in ["", "{}", " \n{\"a\":[1,2]}", "{\"a\":{\"b\":null}}"] {
            assert!(is_object_or_empty(good), "{good:?}");
        }
        for bad in ["[]", "1", "\"{}\"", "{", "{}x", "\u{a0}{}", "null"] {
            assert!(!is_object_or_empty(bad), "{bad:?}");
        }
    }
}
