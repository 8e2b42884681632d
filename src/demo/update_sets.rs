//! Demo data of the CI/CD update-set document: the scope `sn_test`, a remote
//! instance that points at this instance itself (so retrieving works on one
//! server), a complete update set to retrieve, retrieved sets ready to
//! preview, commit and commit in order, and a committed set to back out.

use serde_json::{json, Map, Value as Json};

use super::insert_if_absent;
use crate::domain::update_sets::{payload_of, INSERT_OR_UPDATE};
use crate::error::Result;
use crate::identity::{roles, users};
use crate::registry;
use crate::storage::{Db, Tx, Value};
use crate::time::now_string;

pub const SCOPE_ID: &str = "7b0ec6a39d411210f877036c70ae5901";
pub const SOURCE_ID: &str = "e66613a49d011210f877036c70ae59f7";
/// The set the retrieve example names (the document's id; the copy
/// of it carries one `7` too many).
pub const BASELINE_SET: &str = "2ce715950d619e10f87785462179bd67";
pub const PREVIEW_SET: &str = "8f4608d39d89da10f877036c70ae5998";
pub const COMMIT_SET: &str = "4ee89999c9e19e10f877184664aecd42";
pub const FIRST_OF_MULTIPLE: &str = "0a9f45ab9d415e10f877036c70ae5968";
pub const SECOND_OF_MULTIPLE: &str = "c2e89999c9e19e10f877184664aecd40";
/// A retrieved set whose preview finds a collision: it changes the freeze
/// property from a value this instance no longer has.
pub const COLLISION_SET: &str = "5d1e0a7b9d411210f877036c70ae5a10";
pub const COMMITTED_SET: &str = "73dd24e39dcd1e10f877036c70ae59ae";
/// The retrieved set the committed set was installed from.
const COMMITTED_FROM: &str = "73dd24e39dcd1e10f877036c70ae59ad";
/// The user the demo remote instance signs in as.
pub const SOURCE_USER: &str = "update.source";

/// Where the demo remote instance points when nothing better is known.
pub const DEFAULT_SELF_URL: &str = "http://127.0.0.1:8080";

pub async fn load(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    added += usize::from(
        insert_if_absent(
            tx,
            "sys_scope",
            SCOPE_ID,
            vec![
                ("name", Value::from("Test application")),
                ("scope", Value::from("sn_test")),
                ("version", Value::from("1.0.0")),
                (
                    "short_description",
                    Value::from("Release governance configuration"),
                ),
            ],
        )
        .await?,
    );
    // The complete set to retrieve: it created two properties here.
    if insert_if_absent(
        tx,
        "sys_update_set",
        BASELINE_SET,
        vec![
            ("name", Value::from("Governance baseline")),
            (
                "description",
                Value::from("Freeze window and CAB properties"),
            ),
            ("state", Value::from("complete")),
            ("application", Value::from(SCOPE_ID)),
        ],
    )
    .await?
    {
        added += 1;
        let freeze = property(
            tx,
            "2ce715950d619e10f87785462179bd01",
            "sn_test.release.freeze_days",
            "3",
        )
        .await?;
        let cab = property(
            tx,
            "2ce715950d619e10f87785462179bd02",
            "sn_test.release.cab_required",
            "true",
        )
        .await?;
        for (i, payload) in [&freeze, &cab].into_iter().enumerate() {
            update(tx, "update_set", BASELINE_SET, i as i64 + 1, payload, None).await?;
        }
        // Made on another instance from freeze_days = 2, while it is 3
        // here: previewing it finds a collision to accept or skip.
        if retrieved_set(tx, COLLISION_SET, "Release freeze length", "loaded").await? {
            added += 1;
            let mut base = freeze.clone();
            base.insert("value".into(), Json::String("2".into()));
            let mut changed = freeze;
            changed.insert("value".into(), Json::String("5".into()));
            update(
                tx,
                "remote_update_set",
                COLLISION_SET,
                1,
                &changed,
                Some(&base),
            )
            .await?;
        }
    }
    // Retrieved sets: each brings one new property.
    let retrieved = [
        (
            PREVIEW_SET,
            "Release freeze policy",
            "loaded",
            "8f4608d39d89da10f877036c70ae59a1",
            "sn_test.preview.freeze_enabled",
        ),
        (
            COMMIT_SET,
            "Release approvals",
            "previewed",
            "4ee89999c9e19e10f877184664aecd01",
            "sn_test.commit.approvers",
        ),
        (
            FIRST_OF_MULTIPLE,
            "Calendar defaults 1 of 2",
            "loaded",
            "0a9f45ab9d415e10f877036c70ae5901",
            "sn_test.multiple.first",
        ),
        (
            SECOND_OF_MULTIPLE,
            "Calendar defaults 2 of 2",
            "loaded",
            "c2e89999c9e19e10f877184664aecd01",
            "sn_test.multiple.second",
        ),
    ];
    for (set, name, state, record, property_name) in retrieved {
        if retrieved_set(tx, set, name, state).await? {
            added += 1;
            let payload = property_payload(record, property_name, "true");
            let id = update(tx, "remote_update_set", set, 1, &payload, None).await?;
            if state == "previewed" {
                tx.execute(
                    "UPDATE sys_update_xml SET disposition = 'insert' WHERE sys_id = $1",
                    &[Value::from(id)],
                )
                .await?;
            }
        }
    }
    // A set committed here from a retrieved one: it inserted a property,
    // which backing it out deletes.
    if retrieved_set(tx, COMMITTED_FROM, "Release notifications", "committed").await? {
        added += 1;
        tx.execute(
            "UPDATE sys_remote_update_set SET commit_date = $1, update_set = $2 WHERE sys_id = $3",
            &[
                Value::Text(now_string()),
                Value::from(COMMITTED_SET),
                Value::from(COMMITTED_FROM),
            ],
        )
        .await?;
        insert_if_absent(
            tx,
            "sys_update_set",
            COMMITTED_SET,
            vec![
                ("name", Value::from("Release notifications")),
                ("state", Value::from("complete")),
                ("application", Value::from(SCOPE_ID)),
                ("remote_sys_id", Value::from(COMMITTED_FROM)),
                ("install_date", Value::Text(now_string())),
                ("installed_from", Value::from("Demo remote instance")),
            ],
        )
        .await?;
        let payload = property(
            tx,
            "73dd24e39dcd1e10f877036c70ae5901",
            "sn_test.notifications.channel",
            "release-managers",
        )
        .await?;
        update(tx, "remote_update_set", COMMITTED_FROM, 1, &payload, None).await?;
        update(tx, "update_set", COMMITTED_SET, 1, &payload, None).await?;
    }
    Ok(added)
}

/// The demo remote instance and the user it signs in as, pointing at
/// `self_url`. Runs outside the demo transaction (the user's password is
/// hashed and stored through the identity module).
pub async fn load_source(db: &Db, self_url: &str) -> Result<usize> {
    let exists = db
        .fetch_optional(
            "SELECT sys_id FROM sys_update_set_source WHERE sys_id = $1",
            &[Value::from(SOURCE_ID)],
        )
        .await?
        .is_some();
    if exists {
        return Ok(0);
    }
    let password = crate::ids::random_secret(24);
    users::upsert_user(
        db,
        &users::NewUser {
            sys_id: None,
            user_name: SOURCE_USER,
            first_name: "Update",
            last_name: "Source",
            email: "",
            password: Some(&password),
            roles: &[roles::CICD_AUTOMATION],
        },
        "demo",
    )
    .await?;
    let mut tx = db.begin().await?;
    insert_if_absent(
        &mut tx,
        "sys_update_set_source",
        SOURCE_ID,
        vec![
            ("name", Value::from("This instance (demo)")),
            ("url", Value::from(self_url)),
            ("username", Value::from(SOURCE_USER)),
            ("password", Value::from(password)),
            ("type", Value::from("test")),
            ("instance_id", Value::from("tollgate-demo")),
            (
                "description",
                Value::from("Points at this instance so retrieval works on one server"),
            ),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(1)
}

async fn retrieved_set(tx: &mut Tx, id: &str, name: &str, state: &str) -> Result<bool> {
    insert_if_absent(
        tx,
        "sys_remote_update_set",
        id,
        vec![
            ("name", Value::from(name)),
            ("state", Value::from(state)),
            ("remote_sys_id", Value::from(format!("{}0", &id[..31]))),
            ("update_source", Value::from(SOURCE_ID)),
            ("application", Value::from(SCOPE_ID)),
            ("update_count", Value::Int(1)),
        ],
    )
    .await
}

/// Creates a property (if absent); returns its payload.
async fn property(tx: &mut Tx, id: &str, name: &str, value: &str) -> Result<Map<String, Json>> {
    let table = registry::table("sys_properties").expect("registered");
    insert_if_absent(
        tx,
        "sys_properties",
        id,
        vec![
            ("name", Value::from(name)),
            ("value", Value::from(value)),
            ("type", Value::from("string")),
        ],
    )
    .await?;
    let row = crate::domain::records::get(&mut *tx, table, id)
        .await?
        .expect("just inserted");
    Ok(payload_of(table, &row))
}

/// A property's payload as another instance would send it.
fn property_payload(id: &str, name: &str, value: &str) -> Map<String, Json> {
    let now = now_string();
    let p = json!({
        "sys_id": id, "sys_created_on": now, "sys_created_by": "admin", "sys_updated_on": now,
        "sys_updated_by": "admin", "sys_mod_count": "0", "name": name, "value": value,
        "description": null, "type": "string"
    });
    p.as_object().cloned().unwrap_or_default()
}

async fn update(
    tx: &mut Tx,
    set_column: &'static str,
    set: &str,
    sequence: i64,
    payload: &Map<String, Json>,
    base: Option<&Map<String, Json>>,
) -> Result<String> {
    let record = payload
        .get("sys_id")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let name = payload
        .get("name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let table = registry::table("sys_update_xml").expect("registered");
    crate::domain::records::insert_values(
        tx,
        table,
        None,
        vec![
            (set_column, Value::from(set)),
            ("name", Value::from(format!("sys_properties_{record}"))),
            ("table", Value::from("sys_properties")),
            ("record_sys_id", Value::from(record)),
            ("target_name", Value::from(name)),
            ("type", Value::from("System Property")),
            ("action", Value::from(INSERT_OR_UPDATE)),
            (
                "payload",
                Value::Text(Json::Object(payload.clone()).to_string()),
            ),
            (
                "base_payload",
                Value::from(base.map(|b| Json::Object(b.clone()).to_string())),
            ),
            ("application", Value::from(SCOPE_ID)),
            ("sequence", Value::Int(sequence)),
        ],
        "demo",
    )
    .await
}
