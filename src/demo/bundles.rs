//! Demo records for the bundle, policy-status, complete-phase and retarget
//! examples: two In Progress releases in bundle "Release Bundle Q4", the
//! first gated by the two policies the policy-status example shows (both
//! compliant, so the complete-phase example succeeds as written).

use super::{insert_if_absent, ADMIN_ID, CALENDAR_ID, PRODUCT_PAYMENTS, RELEASE_MANAGER_ID};
use crate::domain::dpr::releases::{create_phases, start};
use crate::error::Result;
use crate::storage::{Tx, Value};
use crate::time::{now_string, parse_date_time};

pub const BUNDLE_ID: &str = "9d0d0b4c874b1110dba83d5ebf867de2";
pub const GATED_RELEASE_ID: &str = "d4982eeb474b621027d48b41516d4385";
pub const RETARGET_RELEASE_ID: &str = "9b2e7ec9476c8e105b8e0dcfe16d43d4";
pub const RETARGET_TARGET_ID: &str = "3f6668e95427fd10f877ac7ac399daa6";
pub const OUT_OF_BAND_CALENDAR_ID: &str = "fcb2eaa09f4302105c534d837a0a1c2b";
pub const POLICY_ONE_ID: &str = "f6783cc843590210ab16fc4bbcb8f223";
pub const POLICY_TWO_ID: &str = "152bb04c43590210ab16fc4bbcb8f2a7";
pub const TEMPLATE_GATED_ID: &str = "2a9c6ca8ffe03a10509cffffffffff21";
pub const VERSION_PAYMENTS_2_4_1_ID: &str = "7c1e6ca8ffe03a10509cffffffffff31";
pub const JANE_DOE_ID: &str = "46d44a5ea9fe198101d3a4c1a7f9d9a1";

const ALWAYS_COMPLIANT: &str = "package tollgate.policy\n\ndefault compliant := false\n\ncompliant if {\n\tis_string(input.release.sys_id)\n}\n";

pub(super) async fn load(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    let text = |s: &str| Value::from(s);
    let jane = vec![
        ("user_name", text("jane.doe")),
        ("first_name", text("Jane")),
        ("last_name", text("Doe")),
        ("name", text("Jane Doe")),
        ("email", text("jane.doe@example.com")),
    ];
    added += usize::from(insert_if_absent(tx, "sys_user", JANE_DOE_ID, jane).await?);
    let version = vec![
        ("name", text("Payments Service v2.4.1")),
        ("product", text(PRODUCT_PAYMENTS)),
        ("version", text("v2.4.1")),
    ];
    added += usize::from(
        insert_if_absent(
            tx,
            "cmdb_software_product_model",
            VERSION_PAYMENTS_2_4_1_ID,
            version,
        )
        .await?,
    );
    for (id, name) in [
        (POLICY_ONE_ID, "Policy Name 1"),
        (POLICY_TWO_ID, "Policy Name 2"),
    ] {
        let policy = vec![
            ("name", text(name)),
            (
                "description",
                Value::Text(format!(
                    "{name}: a demo policy that passes for every release"
                )),
            ),
            ("active", Value::Bool(true)),
            ("rego", text(ALWAYS_COMPLIANT)),
        ];
        added += usize::from(insert_if_absent(tx, "sn_pace_policy", id, policy).await?);
    }
    let template = vec![
        ("name", text("Compliance-gated release")),
        (
            "description",
            text("Build, then verify; the build phase is gated by two policies"),
        ),
        ("orientation", text("timeline")),
        ("active", Value::Bool(true)),
    ];
    if insert_if_absent(
        tx,
        "sn_dpr_model_release_template",
        TEMPLATE_GATED_ID,
        template,
    )
    .await?
    {
        added += 1;
        let phases = crate::registry::table("sn_dpr_model_template_phase")
            .ok_or_else(|| crate::error::Error::internal("phases"))?;
        let mappings = crate::registry::table("sn_dpr_model_template_phase_policy")
            .ok_or_else(|| crate::error::Error::internal("mappings"))?;
        for (order, name, days) in [(100, "Phase Name", 10), (200, "Verify", 5)] {
            let values = vec![
                ("template", text(TEMPLATE_GATED_ID)),
                ("name", text(name)),
                ("order", Value::Int(order)),
                ("duration_days", Value::Int(days)),
            ];
            let phase =
                crate::domain::records::insert_values(tx, phases, None, values, "demo").await?;
            if order == 100 {
                for policy in [POLICY_ONE_ID, POLICY_TWO_ID] {
                    crate::domain::records::insert_values(
                        tx,
                        mappings,
                        None,
                        vec![
                            ("template_phase", Value::Text(phase.clone())),
                            ("policy", text(policy)),
                        ],
                        "demo",
                    )
                    .await?;
                }
            }
        }
    }
    let calendar = vec![
        ("name", text("Out-of-band calendar")),
        ("release_admin", text(RELEASE_MANAGER_ID)),
        ("time_zone", text("UTC")),
        ("active", Value::Bool(true)),
    ];
    added += usize::from(
        insert_if_absent(
            tx,
            "sn_dpr_model_release_calendar",
            OUT_OF_BAND_CALENDAR_ID,
            calendar,
        )
        .await?,
    );
    let target = vec![
        ("name", text("Q1 2027 readiness")),
        ("release_calendar", text(CALENDAR_ID)),
        ("release_admin", text(RELEASE_MANAGER_ID)),
        ("target_date", text("2027-03-31")),
        ("active", Value::Bool(true)),
        ("recurring", Value::Bool(false)),
    ];
    added += usize::from(
        insert_if_absent(
            tx,
            "sn_dpr_model_release_target",
            RETARGET_TARGET_ID,
            target,
        )
        .await?,
    );
    let property = vec![
        ("name", text("sn_dpr.out_of_band_release_allowed")),
        ("value", text("true")),
        ("type", text("boolean")),
        (
            "description",
            text("Releases may be retargeted to out-of-band dates"),
        ),
    ];
    let exists = tx
        .fetch_optional(
            "SELECT sys_id FROM sys_properties WHERE name = $1",
            &[text("sn_dpr.out_of_band_release_allowed")],
        )
        .await?;
    if exists.is_none() {
        added += usize::from(
            insert_if_absent(
                tx,
                "sys_properties",
                "7d2e6ca8ffe03a10509cffffffffff41",
                property,
            )
            .await?,
        );
    }

    // Fixed planned windows, so that both retarget examples (one of them to
    // 2026-10-23) fall after the current phase's start.
    for (id, name, planned_start, planned_end) in [
        (
            GATED_RELEASE_ID,
            "Payments Service 2.4.1",
            "2026-09-01 09:00:00",
            "2026-12-18 23:59:59",
        ),
        (
            RETARGET_RELEASE_ID,
            "Payments Q1 2027",
            "2026-09-01 09:00:00",
            "2027-01-29 23:59:59",
        ),
    ] {
        let start_at = planned_start.to_owned();
        let release = vec![
            ("name", text(name)),
            ("state", text("draft")),
            ("product", text(PRODUCT_PAYMENTS)),
            ("version", text(VERSION_PAYMENTS_2_4_1_ID)),
            ("owner", text(ADMIN_ID)),
            ("template", text(TEMPLATE_GATED_ID)),
            ("process_type", text("timeline")),
            ("planned_start", Value::Text(start_at.clone())),
            ("planned_end", text(planned_end)),
        ];
        if insert_if_absent(tx, "sn_dpr_model_release", id, release).await? {
            added += 1;
            let begin = parse_date_time(&start_at).unwrap_or_default();
            create_phases(
                tx,
                id,
                TEMPLATE_GATED_ID,
                begin,
                parse_date_time(planned_end),
                "demo",
            )
            .await?;
            start(tx, id, "demo").await?;
        }
    }
    // The gated release's policies have run and passed.
    let phase = tx
        .fetch_optional(
            "SELECT current_phase FROM sn_dpr_model_release WHERE sys_id = $1",
            &[text(GATED_RELEASE_ID)],
        )
        .await?
        .and_then(|r| r.text("current_phase"));
    if let Some(phase) = phase {
        let executions = crate::registry::table("sn_dpr_model_policy_execution")
            .ok_or_else(|| crate::error::Error::internal("executions"))?;
        for (policy, output) in [
            (
                POLICY_ONE_ID,
                "Check sum OK; 0 violations. Execution log id: e23-9a.",
            ),
            (
                POLICY_TWO_ID,
                "Configuration complete: payments.retry_limit is set.",
            ),
        ] {
            let done = tx
                .fetch_optional(
                    "SELECT sys_id FROM sn_dpr_model_policy_execution WHERE release_phase = $1 AND policy = $2",
                    &[Value::Text(phase.clone()), text(policy)],
                )
                .await?;
            if done.is_none() {
                let values = vec![
                    ("release", text(GATED_RELEASE_ID)),
                    ("release_phase", Value::Text(phase.clone())),
                    ("product", text(PRODUCT_PAYMENTS)),
                    ("version", text(VERSION_PAYMENTS_2_4_1_ID)),
                    ("policy", text(policy)),
                    ("status", text("compliant")),
                    ("reason", text("All checks passed")),
                    ("output", text(output)),
                    ("last_run_at", Value::Text(now_string())),
                ];
                crate::domain::records::insert_values(tx, executions, None, values, "demo").await?;
                added += 1;
            }
        }
    }
    let bundle = vec![
        ("name", text("Release Bundle Q4")),
        ("description", text("Q4 payments releases")),
        ("owner", text(JANE_DOE_ID)),
    ];
    if insert_if_absent(tx, "sn_dpr_model_release_bundle", BUNDLE_ID, bundle).await? {
        added += 1;
        let members = crate::registry::table("sn_dpr_model_release_bundle_member")
            .ok_or_else(|| crate::error::Error::internal("members"))?;
        for release in [GATED_RELEASE_ID, RETARGET_RELEASE_ID] {
            crate::domain::records::insert_values(
                tx,
                members,
                None,
                vec![("bundle", text(BUNDLE_ID)), ("release", text(release))],
                "demo",
            )
            .await?;
        }
    }
    Ok(added)
}
