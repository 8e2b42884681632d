//! Retrieve: copy a complete update set, with every update in it, from a
//! remote instance into a retrieved update set (`sys_remote_update_set`).
//! Everything is read first; the copy is written in one transaction, so a
//! remote that fails half-way leaves nothing behind.

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value as Json;

use super::remote::{RemoteInstance, RemotePolicy};
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
pub async fn remote_set(
    source: &Source,
    update_set_id: &str,
) -> Result<serde_json::Map<String, Json>> {
    check_update_set_id(update_set_id)?;
    let answer = source
        .remote
        .get_json(&format!(
            "/api/now/table/sys_update_set/{}?sysparm_exclude_reference_link=true",
            encoded(update_set_id)
        ))
        .await?
        .ok_or_else(|| {
            Error::conflict(format!(
                "The update set {update_set_id} does not exist on the remote instance {}",
                source.remote.url()
            ))
        })?;
    let set = answer
        .get("result")
        .and_then(Json::as_object)
        .cloned()
        .ok_or_else(|| garbage(source, "an update set without a result object"))?;
    if text(&set, "state") != "complete" {
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
) -> Result<Vec<serde_json::Map<String, Json>>> {
    check_update_set_id(update_set_id)?;
    let path = format!(
        "/api/now/table/sys_update_xml?sysparm_query=update_set%3D{}%5EORDERBYsequence\
         &sysparm_limit={PAGE_SIZE}&sysparm_offset={offset}&sysparm_exclude_reference_link=true\
         &sysparm_fields={UPDATE_FIELDS}",
        encoded(update_set_id)
    );
    let answer = source
        .remote
        .get_json(&path)
        .await?
        .ok_or_else(|| garbage(source, "404 for the update list"))?;
    let rows = answer
        .get("result")
        .and_then(Json::as_array)
        .ok_or_else(|| garbage(source, "an update list without a result array"))?;
    rows.iter()
        .map(|r| {
            let update = r
                .as_object()
                .cloned()
                .ok_or_else(|| garbage(source, "an update that is not an object"))?;
            check_update(source, &update)?;
            Ok(update)
        })
        .collect()
}

/// The remote application's scope name, to find the same application here.
pub async fn remote_scope(source: &Source, application: &str) -> Result<Option<String>> {
    if !is_sys_id(application) {
        return Ok(None);
    }
    let answer = source
        .remote
        .get_json(&format!(
            "/api/now/table/sys_scope/{}?sysparm_fields=scope",
            encoded(application)
        ))
        .await?;
    Ok(answer
        .as_ref()
        .and_then(|a| a.pointer("/result/scope"))
        .and_then(Json::as_str)
        .map(str::to_owned))
}

fn check_update(source: &Source, update: &serde_json::Map<String, Json>) -> Result<()> {
    let action = text(update, "action");
    if action != INSERT_OR_UPDATE && action != DELETE {
        return Err(garbage(
            source,
            "an update whose action is neither INSERT_OR_UPDATE nor DELETE",
        ));
    }
    if text(update, "table").is_empty() || !is_sys_id(&text(update, "record_sys_id")) {
        return Err(garbage(
            source,
            "an update without its table and record sys_id",
        ));
    }
    for field in ["payload", "base_payload"] {
        let t = text(update, field);
        if !t.is_empty() && !matches!(serde_json::from_str::<Json>(&t), Ok(Json::Object(_))) {
            return Err(garbage(
                source,
                &format!("an update whose {field} is not a JSON object"),
            ));
        }
    }
    Ok(())
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

fn text(map: &serde_json::Map<String, Json>, key: &str) -> String {
    match map.get(key) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// What was read from the remote instance.
pub struct Retrieved {
    pub remote_set_id: String,
    pub set: serde_json::Map<String, Json>,
    pub scope: Option<String>,
    pub updates: Vec<serde_json::Map<String, Json>>,
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
    let origin = Some(text(&retrieved.set, "origin_sys_id"))
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| retrieved.remote_set_id.clone());
    let table = registry::table("sys_remote_update_set").expect("registered");
    let id = insert_values(
        tx,
        table,
        None,
        vec![
            ("name", Value::from(text(&retrieved.set, "name"))),
            (
                "description",
                Value::from(text(&retrieved.set, "description")),
            ),
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
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let opt = |k: &str| Value::from(Some(text(u, k)).filter(|t| !t.is_empty()));
            new_row(
                &now,
                actor,
                vec![
                    Value::from(&id),
                    Value::Text(text(u, "name")),
                    Value::Text(text(u, "table")),
                    Value::Text(text(u, "record_sys_id")),
                    opt("target_name"),
                    opt("type"),
                    Value::Text(text(u, "action")),
                    opt("payload"),
                    opt("base_payload"),
                    opt("base_update_set"),
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
