//! The OpenAPI 3.1 document served at `/openapi.json`, built from the list of
//! endpoints below and the table registry. A test checks every listed path
//! is routed.

use serde_json::{json, Map, Value as Json};

use crate::registry::{ColumnType, TABLES};

pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub roles: &'static [&'static str],
    pub body: Option<&'static str>,
    pub success: u16,
}

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint { method: "get", path: "/api/now/table/{table}", summary: "List records of a table (sysparm_query, sysparm_fields, sysparm_limit, sysparm_offset, sysparm_display_value, sysparm_exclude_reference_link)", roles: &["the table's read roles"], body: None, success: 200 },
    Endpoint {
        method: "get",
        path: "/api/sn_dpr/digital_product_release/bundle/{sysId}",
        summary: "A release bundle, with aggregates over its releases when sendAggregation=true (answered without a result wrapper)",
        roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin", "sn_dpr_model.release_coordinator", "sn_dpr_model.release_user"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/sn_dpr/digital_product_release/release/{sysId}/retarget",
        summary: "Change a release's readiness target (existing or out-of-band) and re-plan its remaining phases",
        roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin"],
        body: Some("record"),
        success: 200,
    },
    Endpoint { method: "post", path: "/api/now/table/{table}", summary: "Create a record", roles: &["the table's write roles"], body: Some("record"), success: 201 },
    Endpoint { method: "get", path: "/api/now/table/{table}/{sys_id}", summary: "Read one record", roles: &["the table's read roles"], body: None, success: 200 },
    Endpoint { method: "put", path: "/api/now/table/{table}/{sys_id}", summary: "Update fields of a record", roles: &["the table's write roles"], body: Some("record"), success: 200 },
    Endpoint { method: "patch", path: "/api/now/table/{table}/{sys_id}", summary: "Update fields of a record", roles: &["the table's write roles"], body: Some("record"), success: 200 },
    Endpoint { method: "delete", path: "/api/now/table/{table}/{sys_id}", summary: "Delete a record", roles: &["the table's write roles"], body: None, success: 204 },
    Endpoint { method: "post", path: "/api/sn_dpr/digital_product_release/release", summary: "Create a release (independent, draft, or primary with child releases), or move a Draft release to In Progress", roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin"], body: Some("record"), success: 201 },
    Endpoint { method: "post", path: "/api/sn_dpr/digital_product_release/release_id/{releaseId}/complete_phase", summary: "Complete the current phase of a release when every mapped policy is compliant for every product", roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin", "sn_dpr_model.release_coordinator"], body: None, success: 201 },
    Endpoint {
        method: "post",
        path: "/api/sn_dpr/digital_product_release/release/{releaseId}/phase/{phaseSysId}/start",
        summary: "Tollgate addition: start the next phase of a stage-oriented release by hand",
        roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin", "sn_dpr_model.release_coordinator"],
        body: None,
        success: 201,
    },
    Endpoint {
        method: "post",
        path: "/api/sn_dpr/digital_product_release/release/{releaseId}/restart",
        summary: "Tollgate addition: restart a release from one of its phases (body: phaseSysId); that phase and later ones are reset",
        roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin"],
        body: Some("record"),
        success: 201,
    },
    Endpoint {
        method: "post",
        path: "/api/sn_dpr/digital_product_release/release/{releaseId}/policies/run",
        summary: "Schedule an evaluation of every policy of the current phase for every product of the release",
        roles: &["sn_dpr_model.product_manager"],
        body: None,
        success: 201,
    },
    Endpoint { method: "get", path: "/api/sn_dpr/digital_product_release/releases/{releaseId}/policies/status", summary: "Policy compliance of the current phase, per product", roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin", "sn_dpr_model.release_coordinator", "sn_dpr_model.release_user"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_dpr/digital_product_release/release_calendar", summary: "Create a release calendar", roles: &["sn_dpr_model.release_calendar_admin"], body: Some("ReleaseCalendar"), success: 201 },
    Endpoint { method: "post", path: "/api/sn_dpr/digital_product_release/release_target", summary: "Create a readiness target or a recurring series of them", roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin"], body: Some("ReleaseTarget"), success: 201 },
    Endpoint { method: "post", path: "/api/sn_dpr/digital_product_release/product_enhancement", summary: "Create a product enhancement, optionally for a version, a release carrying that version, and a product feature", roles: &["sn_dpr_model.product_manager"], body: Some("ProductEnhancement"), success: 201 },
    Endpoint { method: "post", path: "/api/sn_dpr/digital_product_release/release/{releaseId}/key_date", summary: "Create a key date inside the planned window of a timeline-oriented release", roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin", "sn_dpr_model.release_coordinator"], body: Some("KeyDate"), success: 201 },
    Endpoint { method: "post", path: "/api/sn_dpr/digital_product_release/release/{releaseId}/related_task", summary: "Relate task records (of the tables in sn_dpr_model.release_related_task_types) to a release, all or nothing", roles: &["sn_dpr_model.product_manager", "sn_dpr_model.release_admin"], body: Some("RelatedTasks"), success: 201 },
    Endpoint { method: "get", path: "/api/sn_cicd/progress/{progress_id}", summary: "Progress of an asynchronous operation", roles: &["sn_cicd.sys_ci_automation"], body: None, success: 200 },
    Endpoint { method: "delete", path: "/api/sn_cdm/changesets", summary: "Delete a changeset that is not committed (changesetNumber)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/changesets", summary: "Changesets of an application (appName, number, state)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/changesets/create", summary: "Create an open changeset for an application or shared library (appName or sharedLibraryName, description, returnFields)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "put", path: "/api/sn_cdm/changesets/commit", summary: "Queue the commit of a changeset by number (changesetNumber, autoValidate, publishOption)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/changesets/activity", summary: "Node changes of a changeset, old and new (changesetNumber, returnFields)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/changesets/commit-status/{commit_id}", summary: "State of a commit request", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/changesets/impacted-deployables", summary: "Deployables a changeset impacts (changesetNumber, returnFields)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/changesets/impacted-shared-components", summary: "Shared components a changeset impacts (changesetNumber, returnFields)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/changesets/{changeset_id}/impacted-deployables", summary: "Deployable nodes a changeset impacts", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/changesets/{changeset_id}/commit", summary: "Queue the commit of a changeset (autoValidate, publishOption)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/editor/nodes", summary: "Children of a node, committed or as a changeset sees them (parentFullNamePath, name, type, changesetNumber, decryptPassword)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/editor/nodes", summary: "Add a node in a changeset (changesetNumber, fullNamePath, type, value, secure, autoCreateParents)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "put", path: "/api/sn_cdm/editor/nodes", summary: "Rename a node or change its value in a changeset (changesetNumber, fullNamePath, newName, newValue, secure)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "delete", path: "/api/sn_cdm/editor/nodes", summary: "Delete a node and its subtree in a changeset (changesetNumber, fullNamePath)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/editor/includes", summary: "The nodes that include a node (sourceFullNamePath, changesetNumber)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/editor/includes", summary: "Include a component or collection in a deployable or collection (changesetNumber, sourceFullNamePath, targetFullNamePath)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/applications/uploads/components", summary: "Upload JSON, YAML, INI or properties content into a component (appName, namePath, dataFormat, changesetNumber, autoCommit, autoValidate, publishOption, autoDelete, identifierKeys)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/applications/uploads/components/vars", summary: "Upload variables into the components' vars folder", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/applications/uploads/collections", summary: "Upload content into a collection (collectionName)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/applications/uploads/deployables", summary: "Upload content into a deployable (deployableName); below an include it overrides", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/applications/upload-status/{upload_id}", summary: "State of an upload request", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/applications/deployables", summary: "Create a deployable (appName, name, envType)", roles: &["sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/applications/shared_components", summary: "Shared components an application includes (appName, withUpdatesOnly)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/applications/shared_libraries/components/applications", summary: "Applications that include a shared component (sharedLibraryName, sharedComponentName)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "put", path: "/api/sn_cdm/applications/deployables", summary: "Rename a deployable (through an auto-generated committed changeset), change its description, service or identifier (appName, name, newName, newDescription, newServiceId, newIdentifier)", roles: &["sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "delete", path: "/api/sn_cdm/applications/deployables", summary: "Delete a deployable through an auto-generated, committed changeset (appName, name)", roles: &["sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/applications/deployables/create", summary: "Create numbered deployables (appSysId, envType, quantity)", roles: &["sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/applications/deployables/exports", summary: "Queue the export of a deployable's snapshot (appName, deployableName, exporterName, dataFormat, snapshotName, restrictExport)", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/applications/deployables/exports/{export_id}/status", summary: "State of an export", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "get", path: "/api/sn_cdm/applications/deployables/exports/{export_id}/content", summary: "Content of a completed export", roles: &["sn_cdm.cdm.viewer", "sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/snapshots/{snapshot_id}/validate", summary: "Validate a snapshot with the policies mapped to its deployable", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/snapshots/{snapshot_id}/publish", summary: "Publish a validated snapshot", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/snapshots/{snapshot_id}/unpublish", summary: "Unpublish a snapshot", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "put", path: "/api/sn_cdm/snapshots/validate", summary: "Validate a snapshot by name (appName, deployableName, name)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "put", path: "/api/sn_cdm/snapshots/publish", summary: "Publish a snapshot by name (appName, deployableName, name)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "put", path: "/api/sn_cdm/snapshots/unpublish", summary: "Unpublish a snapshot by name (appName, deployableName, name)", roles: &["sn_cdm.cdm_editor", "sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cdm/policies/mappings", summary: "Map a policy to a deployable (appName, deployableName, policyName)", roles: &["sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "delete", path: "/api/sn_cdm/policies/mappings", summary: "Remove a policy mapping (appName, deployableName, policyName)", roles: &["sn_cdm.cdm_admin"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cicd/update_set/create", summary: "Create an update set in progress in an application scope (update_set_name, scope or sys_id, description)", roles: &["sn_cicd.sys_ci_automation"], body: None, success: 201 },
    Endpoint { method: "post", path: "/api/sn_cicd/update_set/retrieve", summary: "Retrieve a complete update set from a remote instance (update_set_id, update_source_id or update_source_instance_id, auto_preview, cleanup_retrieved); asynchronous", roles: &["sn_cicd.sys_ci_automation"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cicd/update_set/preview/{remote_update_set_id}", summary: "Preview a retrieved update set for collisions, missing objects, uncommitted updates and conflicts; asynchronous", roles: &["sn_cicd.sys_ci_automation"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cicd/update_set/commit/{remote_update_set_id}", summary: "Commit a retrieved update set in one transaction (force_commit accepts unresolved problems); asynchronous", roles: &["sn_cicd.sys_ci_automation"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cicd/update_set/commitMultiple", summary: "Commit retrieved update sets in the given order, stopping at the first failure (remote_update_set_ids, force_commit); asynchronous", roles: &["sn_cicd.sys_ci_automation"], body: None, success: 200 },
    Endpoint { method: "post", path: "/api/sn_cicd/update_set/back_out", summary: "Back out a committed update set (update_set_id, rollback_installs); asynchronous", roles: &["sn_cicd.sys_ci_automation"], body: None, success: 200 },
    Endpoint {
        method: "get",
        path: "/api/v3/releases",
        summary: "ServiceDesk-style: list releases (input_data={\"list_info\": {...}})",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v3/releases",
        summary: "ServiceDesk-style: add a release (input_data={\"release\": {...}}, form-encoded)",
        roles: &["sdp.technician", "sdp.admin"],
        body: Some("form"),
        success: 201,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/releases/{release_id}",
        summary: "ServiceDesk-style: one release",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/v3/releases/{release_id}",
        summary: "ServiceDesk-style: edit the fields of a release named in input_data",
        roles: &["sdp.technician", "sdp.admin"],
        body: Some("form"),
        success: 200,
    },
    Endpoint {
        method: "delete",
        path: "/api/v3/releases/move_to_trash",
        summary: "ServiceDesk-style: move releases to the trash (?ids=1,2; one response_status per id)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/v3/releases/restore_from_trash",
        summary: "ServiceDesk-style: restore releases from the trash (?ids=1,2)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "delete",
        path: "/api/v3/releases/{release_id}",
        summary: "ServiceDesk-style: delete a release in the trash for good",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/releases/{release_id}/history",
        summary: "ServiceDesk-style: the release's history, newest first",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/v3/releases/assign",
        summary: "ServiceDesk-style: assign the release engineer or manager of releases (?ids=1,2)",
        roles: &["sdp.technician", "sdp.admin"],
        body: Some("form"),
        success: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/v3/releases/pickup",
        summary: "ServiceDesk-style: the caller becomes the release engineer (?ids=1,2)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/v3/releases/{release_id}/close",
        summary: "ServiceDesk-style: close a release (status completed or canceled)",
        roles: &["sdp.technician", "sdp.admin"],
        body: Some("form"),
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/releases/{release_id}/status_comments",
        summary: "ServiceDesk-style: the comments recorded with every stage or status change",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/priorities",
        summary: "ServiceDesk-style reference entities: list (also release_stages, release_statuses, release_templates, release_types, release_roles, urgencies, impacts, risks, categories, subcategories, items, groups, sites, services); POST adds, /{id} gets, PUT edits, DELETE deletes (4005 while in use)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/releases/{release_id}/summary",
        summary: "ServiceDesk-style: counts of the release's tasks (and closed), worklogs, notes, approvals, changes, projects, reminders",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/releases/{release_id}/tasks",
        summary: "ServiceDesk-style: the release's tasks (also /worklogs and /notes; POST adds one)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/releases/{release_id}/approval_levels/approval_summary",
        summary: "ServiceDesk-style: per stage, the latest decision and the approval levels",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "post",
        path: "/api/v3/releases/{release_id}/approval_levels",
        summary: "ServiceDesk-style: add an approval level to a stage (approvers and a percent rule)",
        roles: &["sdp.technician", "sdp.admin"],
        body: Some("form"),
        success: 201,
    },
    Endpoint {
        method: "put",
        path: "/api/v3/releases/{release_id}/approval_levels/{level_id}",
        summary: "ServiceDesk-style: change an approval level's name, rule or approvers while no approver has decided (Tollgate addition)",
        roles: &["sdp.technician", "sdp.admin"],
        body: Some("form"),
        success: 200,
    },
    Endpoint {
        method: "delete",
        path: "/api/v3/releases/{release_id}/approval_levels/{level_id}",
        summary: "ServiceDesk-style: delete an approval level no approver has decided on (Tollgate addition)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "put",
        path: "/api/v3/releases/{release_id}/approval_levels/{level_id}/approve",
        summary: "ServiceDesk-style: an approver approves a level (also /reject)",
        roles: &["sdp.technician", "sdp.admin"],
        body: Some("form"),
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/releases/{release_id}/get_permissions",
        summary: "ServiceDesk-style: what the caller may view, edit and approve in each stage (and -1: the release as a whole)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint {
        method: "get",
        path: "/api/v3/users",
        summary: "ServiceDesk-style users: list (POST adds; /{id} gets, PUT edits, DELETE deletes unless releases refer to the user)",
        roles: &["sdp.technician", "sdp.admin"],
        body: None,
        success: 200,
    },
    Endpoint { method: "get", path: "/api/tollgate/api_keys", summary: "API keys: list (never the key or its hash; ?user=NAME narrows); POST creates one for a user (optional expires_in_days or expires YYYY-MM-DD) and shows the key once", roles: &["admin"], body: None, success: 200 },
    Endpoint { method: "delete", path: "/api/tollgate/api_keys/{id}", summary: "Revoke an API key: it stops working at once", roles: &["admin"], body: None, success: 204 },
    Endpoint { method: "post", path: "/oauth_token.do", summary: "OAuth 2 token (password and refresh_token grants, form-encoded)", roles: &[], body: Some("form"), success: 200 },
    Endpoint { method: "get", path: "/healthz", summary: "The process is up", roles: &[], body: None, success: 200 },
    Endpoint { method: "get", path: "/readyz", summary: "The database is reachable and migrated", roles: &[], body: None, success: 200 },
    Endpoint { method: "get", path: "/metrics", summary: "Prometheus metrics", roles: &[], body: None, success: 200 },
    Endpoint { method: "get", path: "/openapi.json", summary: "This document", roles: &[], body: None, success: 200 },
];

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

pub fn document() -> Json {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let mut op = json!({
            "summary": e.summary,
            "responses": {
                e.success.to_string(): {"description": "Success"},
                "400": {"description": "Bad request: the message names the field and the problem"},
                "401": {"description": "Missing or wrong credentials"},
                "403": {"description": "The caller lacks the role"},
            },
        });
        if !e.roles.is_empty() {
            op["description"] = json!(format!("Roles: {} (or admin).", e.roles.join(", ")));
            op["security"] = json!([{"basic": []}, {"bearer": []}]);
        }
        if let Some(body) = e.body {
            let content = if body == "form" {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            let schema = if body == "record" || body == "form" {
                json!({"type": "object"})
            } else {
                json!({"$ref": format!("#/components/schemas/{body}")})
            };
            op["requestBody"] = json!({"content": {content: {"schema": schema}}});
        }
        paths
            .entry(e.path.to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(e.method.to_owned(), op));
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
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Tollgate", "version": env!("CARGO_PKG_VERSION"), "description": "Release and change control server. ServiceNow-style paths also answer with an optional /{api_version} segment (v1, v2) after the family prefix."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}, "bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}
