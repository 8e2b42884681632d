//! Demo records for the release-scope examples: the product, version,
//! release and feature the product-enhancement example names; the
//! timeline-oriented release, the assignee and the two tasks the key-date
//! and related-task examples name.

use super::{insert_if_absent, ADMIN_ID, PRODUCT_CUSTOMER_PORTAL, RELEASE_MANAGER_ID};
use super::{TEMPLATE_PRODUCT, TEMPLATE_TIMELINE};
use crate::domain::dpr::releases::{create_phases, start};
use crate::error::Result;
use crate::identity::roles;
use crate::storage::{Tx, Value};
use crate::time::parse_date_time;

pub const PRODUCT_MEDIA_STREAMING: &str = "de8e9c0dfff8f2108289ffffffffff61";
pub const VERSION_MEDIA_STREAMING_4_0: &str = "da4b608dff7cf2108289ffffffffffc2";
pub const RELEASE_MEDIA_STREAMING_4_0: &str = "9a4b608dff7cf2108289ffffffffffc3";
pub const FEATURE_VIDEO_PLAYBACK: &str = "192d2905ff7436108289ffffffffff3f";
pub const RELEASE_PORTAL_Q4: &str = "eb7dd11d97b402107bc2341de053af34";
pub const CHANGE_LOAD_BALANCER: &str = "36836028532023004247ddeeff7b12f1";
pub const STORY_INVOICES: &str = "bc84b11dff5c32108289ffffffffff12";
pub const USER_ABEL_TUTER: &str = "62826bf03710200044e0bfc8bcbe5df1";

/// An In Progress, timeline-oriented release with a fixed planned window,
/// its phases planned from the template as `releases::create` plans them.
struct DemoRelease {
    id: &'static str,
    name: &'static str,
    product: &'static str,
    version: Option<&'static str>,
    template: &'static str,
    planned_start: &'static str,
    planned_end: &'static str,
}

async fn release(tx: &mut Tx, r: &DemoRelease) -> Result<usize> {
    let values = vec![
        ("name", Value::from(r.name)),
        ("state", Value::from("draft")),
        ("product", Value::from(r.product)),
        ("version", Value::from(r.version)),
        ("owner", Value::from(ADMIN_ID)),
        ("template", Value::from(r.template)),
        ("process_type", Value::from("timeline")),
        ("planned_start", Value::from(r.planned_start)),
        ("planned_end", Value::from(r.planned_end)),
    ];
    if !insert_if_absent(tx, "sn_dpr_model_release", r.id, values).await? {
        return Ok(0);
    }
    let begin = parse_date_time(r.planned_start).unwrap_or_default();
    let end = parse_date_time(r.planned_end);
    create_phases(tx, r.id, r.template, begin, end, "demo").await?;
    start(tx, r.id, "demo").await?;
    Ok(1)
}

pub(super) async fn load(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    let text = |s: &str| Value::from(s);

    // The product-enhancement example: product, version, release, feature.
    let product = vec![
        ("name", text("Media Streaming App")),
        (
            "short_description",
            text("Video streaming for web and mobile"),
        ),
        ("owned_by", text(RELEASE_MANAGER_ID)),
    ];
    added += usize::from(
        insert_if_absent(
            tx,
            "cmdb_application_product_model",
            PRODUCT_MEDIA_STREAMING,
            product,
        )
        .await?,
    );
    let version = vec![
        ("name", text("Media Streaming App 4.0")),
        ("product", text(PRODUCT_MEDIA_STREAMING)),
        ("version", text("4.0")),
    ];
    added += usize::from(
        insert_if_absent(
            tx,
            "cmdb_software_product_model",
            VERSION_MEDIA_STREAMING_4_0,
            version,
        )
        .await?,
    );
    let feature = vec![
        ("name", text("Video playback")),
        (
            "description",
            text("Playing films and series on every device"),
        ),
        ("product", text(PRODUCT_MEDIA_STREAMING)),
    ];
    added += usize::from(
        insert_if_absent(
            tx,
            "sn_dpr_model_product_feature",
            FEATURE_VIDEO_PLAYBACK,
            feature,
        )
        .await?,
    );
    for r in [
        DemoRelease {
            id: RELEASE_MEDIA_STREAMING_4_0,
            name: "Media Streaming App 4.0",
            product: PRODUCT_MEDIA_STREAMING,
            version: Some(VERSION_MEDIA_STREAMING_4_0),
            template: TEMPLATE_PRODUCT,
            planned_start: "2025-10-01 00:00:00",
            planned_end: "2026-03-31 23:59:59",
        },
        // The key-date and related-task examples: 2025-11-01 is inside the window.
        DemoRelease {
            id: RELEASE_PORTAL_Q4,
            name: "Customer Portal Q4 2025",
            product: PRODUCT_CUSTOMER_PORTAL,
            version: None,
            template: TEMPLATE_TIMELINE,
            planned_start: "2025-09-01 00:00:00",
            planned_end: "2025-12-31 23:59:59",
        },
    ] {
        added += release(tx, &r).await?;
    }

    // The key-date example's assignee: a release coordinator.
    let abel = vec![
        ("user_name", text("abel.tuter")),
        ("first_name", text("Abel")),
        ("last_name", text("Tuter")),
        ("name", text("Abel Tuter")),
        ("email", text("abel.tuter@example.com")),
    ];
    added += usize::from(insert_if_absent(tx, "sys_user", USER_ABEL_TUTER, abel).await?);
    let role = tx
        .fetch_optional(
            "SELECT sys_id FROM sys_user_role WHERE name = $1",
            &[text(roles::DPR_RELEASE_COORDINATOR)],
        )
        .await?
        .map(|r| r.string("sys_id"));
    if let Some(role) = role {
        let held = tx
            .fetch_optional(
                "SELECT sys_id FROM sys_user_has_role WHERE \"user\" = $1 AND role = $2",
                &[text(USER_ABEL_TUTER), Value::Text(role.clone())],
            )
            .await?
            .is_some();
        if !held {
            let table = crate::registry::table("sys_user_has_role")
                .ok_or_else(|| crate::error::Error::internal("sys_user_has_role"))?;
            let values = vec![("user", text(USER_ABEL_TUTER)), ("role", Value::Text(role))];
            crate::domain::records::insert_values(tx, table, None, values, "demo").await?;
            crate::identity::users::bump_identity_epoch(tx).await?;
            added += 1;
        }
    }

    // The related-task example's tasks: a change request and a story.
    let change = vec![
        (
            "short_description",
            text("Replace the customer portal's load balancer"),
        ),
        ("state", text("open")),
        ("assigned_to", text(USER_ABEL_TUTER)),
    ];
    added +=
        usize::from(insert_if_absent(tx, "change_request", CHANGE_LOAD_BALANCER, change).await?);
    let story = vec![
        (
            "short_description",
            text("As a customer I can download my invoices as PDF"),
        ),
        ("state", text("in_progress")),
    ];
    added += usize::from(insert_if_absent(tx, "rm_story", STORY_INVOICES, story).await?);
    Ok(added)
}
