//! `tollgate demo`: the demo data set, so the examples in the API documents
//! work as written. Idempotent, and safe while a server runs on the same
//! database (it only inserts what is missing, in one transaction).

mod bundles;
pub mod cdm;
mod scope;
mod servicedesk;
pub mod update_sets;
use crate::error::Result;
use crate::registry::{self, Table};
use crate::storage::{Db, Tx, Value};
pub use bundles::*;

use crate::domain::records::insert_values;

pub const ADMIN_ID: &str = "6816f79cc0a8016401c5a33be04be441";
pub const RELEASE_MANAGER_ID: &str = "dc6770ae3b97a210532fb50f23e45a33";
pub const CALENDAR_ID: &str = "d3d1f3b4ff60ba10509cffffffffffa8";
pub const SCHEDULE_ID: &str = "b862d589ff3c3210509cffffffffff97";
pub const BLACKOUT_SPAN_ID: &str = "b862d589ff3c3210509cffffffffff98";
pub const PRODUCT_MOBILE_BANKING: &str = "c65c372bfb9d5610fdacfe7405efdcd7";
pub const PRODUCT_NOTIFICATIONS: &str = "de66ea3833e966103e8361a9ed5c7b4e";
pub const PRODUCT_IDENTITY: &str = "5a3c7b21ff503610509cffffffffff01";
pub const PRODUCT_PAYMENTS: &str = "f8fe5fd40a0a0b9100f91d64df145295";
pub const PRODUCT_CUSTOMER_PORTAL: &str = "012c6d20ff203210229bffffffffff25";
pub const VERSION_IDENTITY_3_2: &str = "39fd3f66ff503610509cffffffffff09";
pub const VERSION_PAYMENTS_2_5: &str = "0ff12581ffbc3210509cffffffffff15";
pub const TEMPLATE_TIMELINE: &str = "c83134a4ff643a10509cffffffffffb5";
pub const TEMPLATE_PRODUCT: &str = "648c6ca8ffe03a10509cffffffffff11";
pub const TARGET_PATCH_Q4: &str = "8071e5f8ff687a10509cffffffffffd9";
pub const TARGET_Q4_PRODUCT: &str = "077e1ffb97bc4e107bc2341de053afe2";
pub const TARGET_Q2_PATCH: &str = "008b84a1ffe4ba10509cffffffffff2c";
pub const DRAFT_RELEASE_ID: &str = "83f12581ffbc3210509cffffffffff16";

pub(super) async fn insert_if_absent(
    tx: &mut Tx,
    table: &'static str,
    sys_id: &str,
    values: Vec<(&'static str, Value)>,
) -> Result<bool> {
    let t: &Table = registry::table(table).ok_or_else(|| crate::error::Error::internal(table))?;
    if crate::domain::records::exists(tx, table, sys_id).await? {
        return Ok(false);
    }
    insert_values(tx, t, Some(sys_id.to_owned()), values, "demo").await?;
    Ok(true)
}

/// Loads the demo data; returns how many records it added. The demo remote
/// instance points at [`update_sets::DEFAULT_SELF_URL`].
pub async fn load(db: &Db) -> Result<usize> {
    load_with(db, update_sets::DEFAULT_SELF_URL).await
}

/// Loads the demo data with the demo remote instance pointing at
/// `self_url`, this instance's own address.
pub async fn load_with(db: &Db, self_url: &str) -> Result<usize> {
    let mut tx = db.begin().await?;
    let mut added = 0;
    // The documents' admin sys_id is the bootstrap admin's; when the admin
    // was made otherwise, a stand-in user carries the id.
    let stand_in = vec![
        ("user_name", Value::from("demo.admin")),
        ("first_name", Value::from("Demo")),
        ("last_name", Value::from("Administrator")),
        ("name", Value::from("Demo Administrator")),
        ("email", Value::from("demo.admin@example.com")),
    ];
    added += usize::from(insert_if_absent(&mut tx, "sys_user", ADMIN_ID, stand_in).await?);
    let manager = vec![
        ("user_name", Value::from("release.manager")),
        ("first_name", Value::from("Rita")),
        ("last_name", Value::from("Release")),
        ("name", Value::from("Rita Release")),
        ("email", Value::from("rita.release@example.com")),
    ];
    added += usize::from(insert_if_absent(&mut tx, "sys_user", RELEASE_MANAGER_ID, manager).await?);
    let schedule = vec![
        ("name", Value::from("Q4 2025 change blackout")),
        (
            "description",
            Value::from("No production releases during the November freeze"),
        ),
        ("time_zone", Value::from("America/New_York")),
        ("type", Value::from("blackout")),
    ];
    added += usize::from(insert_if_absent(&mut tx, "cmn_schedule", SCHEDULE_ID, schedule).await?);
    let span = vec![
        ("schedule", Value::from(SCHEDULE_ID)),
        ("name", Value::from("November freeze")),
        ("type", Value::from("blackout")),
        ("start_date_time", Value::from("2025-11-06 18:00:00")),
        ("end_date_time", Value::from("2025-11-08 06:00:00")),
        ("repeat_type", Value::from("")),
    ];
    added +=
        usize::from(insert_if_absent(&mut tx, "cmn_schedule_span", BLACKOUT_SPAN_ID, span).await?);
    let calendar = vec![
        ("name", Value::from("Enterprise release calendar")),
        (
            "description",
            Value::from("Readiness targets for the enterprise portfolio"),
        ),
        ("release_admin", Value::from(RELEASE_MANAGER_ID)),
        ("schedules", Value::from(SCHEDULE_ID)),
        ("time_zone", Value::from("America/New_York")),
        ("active", Value::Bool(true)),
    ];
    added += usize::from(
        insert_if_absent(
            &mut tx,
            "sn_dpr_model_release_calendar",
            CALENDAR_ID,
            calendar,
        )
        .await?,
    );
    added += load_release_model(&mut tx).await?;
    added += scope::load(&mut tx).await?;
    added += bundles::load(&mut tx).await?;
    added += servicedesk::load(&mut tx).await?;
    added += servicedesk::load_releases(&mut tx).await?;
    added += update_sets::load(&mut tx).await?;
    added += cdm::load(&mut tx).await?;
    tx.commit().await?;
    added += update_sets::load_source(db, self_url).await?;
    Ok(added)
}

/// Products, versions, templates, targets and a draft release named by the
/// release examples of the Digital Product Release document.
async fn load_release_model(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    let text = |s: &str| Value::from(s);
    for (id, class, name) in [
        (
            PRODUCT_MOBILE_BANKING,
            "cmdb_application_product_model",
            "Mobile Banking App",
        ),
        (
            PRODUCT_NOTIFICATIONS,
            "cmdb_service_product_model",
            "Notification Service",
        ),
        (
            PRODUCT_IDENTITY,
            "cmdb_service_product_model",
            "Identity Service",
        ),
        (
            PRODUCT_PAYMENTS,
            "cmdb_application_product_model",
            "Payments Service",
        ),
        (
            PRODUCT_CUSTOMER_PORTAL,
            "cmdb_application_product_model",
            "Customer Portal",
        ),
    ] {
        let values = vec![
            ("name", text(name)),
            ("short_description", text(name)),
            ("owned_by", text(RELEASE_MANAGER_ID)),
        ];
        added += usize::from(insert_if_absent(tx, class, id, values).await?);
    }
    for (id, class, product, product_name, version) in [
        (
            VERSION_IDENTITY_3_2,
            "cmdb_service_offering_model",
            PRODUCT_IDENTITY,
            "Identity Service",
            "3.2",
        ),
        (
            VERSION_PAYMENTS_2_5,
            "cmdb_software_product_model",
            PRODUCT_PAYMENTS,
            "Payments Service",
            "2.5.0",
        ),
    ] {
        let values = vec![
            ("name", Value::Text(format!("{product_name} {version}"))),
            ("product", text(product)),
            ("version", text(version)),
        ];
        added += usize::from(insert_if_absent(tx, class, id, values).await?);
    }
    for (id, name, orientation, phases) in [
        (
            TEMPLATE_TIMELINE,
            "Enterprise timeline release",
            "timeline",
            [("Plan", 7), ("Build", 14), ("Test", 7), ("Deploy", 3)],
        ),
        (
            TEMPLATE_PRODUCT,
            "Product release",
            "timeline",
            [
                ("Define", 5),
                ("Develop", 20),
                ("Validate", 10),
                ("Launch", 2),
            ],
        ),
    ] {
        let values = vec![
            ("name", text(name)),
            ("description", Value::Text(format!("{name} in four phases"))),
            ("orientation", text(orientation)),
            ("active", Value::Bool(true)),
        ];
        if insert_if_absent(tx, "sn_dpr_model_release_template", id, values).await? {
            added += 1;
            for (i, (phase, days)) in phases.iter().enumerate() {
                let values = vec![
                    ("template", text(id)),
                    ("name", text(phase)),
                    ("order", Value::Int(100 * (i as i64 + 1))),
                    ("duration_days", Value::Int(*days)),
                ];
                insert_values(
                    tx,
                    registry::table("sn_dpr_model_template_phase")
                        .ok_or_else(|| crate::error::Error::internal("phase table"))?,
                    None,
                    values,
                    "demo",
                )
                .await?;
                added += 1;
            }
        }
    }
    for (id, name, date) in [
        (TARGET_PATCH_Q4, "Patch Q4 readiness", "2026-12-18"),
        (TARGET_Q4_PRODUCT, "Q4 product readiness", "2026-12-31"),
        (TARGET_Q2_PATCH, "Q2 patch readiness", "2027-06-30"),
    ] {
        let values = vec![
            ("name", text(name)),
            ("release_calendar", text(CALENDAR_ID)),
            ("release_admin", text(RELEASE_MANAGER_ID)),
            ("target_date", text(date)),
            ("active", Value::Bool(true)),
            ("recurring", Value::Bool(false)),
        ];
        added +=
            usize::from(insert_if_absent(tx, "sn_dpr_model_release_target", id, values).await?);
    }
    let draft = vec![
        ("name", text("Q4 2025 Product Release")),
        ("state", text("draft")),
        ("product", text(PRODUCT_PAYMENTS)),
        ("owner", text(ADMIN_ID)),
        ("process_type", text("timeline")),
        ("planned_start", Value::Text(crate::time::now_string())),
    ];
    added +=
        usize::from(insert_if_absent(tx, "sn_dpr_model_release", DRAFT_RELEASE_ID, draft).await?);
    Ok(added)
}
