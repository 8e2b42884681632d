//! Applications and shared libraries, their system folders, and
//! deployables (each connected to an application service).

use super::tree::{self, Node, Tree};
use super::{node_type, refusal, request_error};
use crate::domain::records::{insert_values, next_number};
use crate::error::Result;
use crate::registry;
use crate::storage::{Row, Tx, Value};

pub const ENVIRONMENT_TYPES: [&str; 3] = ["Development", "Test", "Production"];

/// An application row by name; `kind` limits it to applications or shared
/// libraries. Inactive ones are not found.
pub async fn find_active(tx: &mut Tx, name: &str, kind: Option<&str>) -> Result<Option<Row>> {
    let row = tx
        .fetch_optional(
            "SELECT sys_id, name, type, state, root_main_id FROM sn_cdm_application WHERE name = $1",
            &[Value::from(name)],
        )
        .await?;
    Ok(row.filter(|r| r.string("state") == "active" && kind.is_none_or(|k| r.string("type") == k)))
}

/// Builds a new application's tree: the root and its system folders
/// `components` (with its `vars`), `collections` and `deployables`.
/// `main_ids` gives fixed identities (demo data); otherwise they come from
/// the counter.
pub async fn build_tree(
    tx: &mut Tx,
    app: &str,
    name: &str,
    main_ids: Option<[i64; 5]>,
    actor: &str,
) -> Result<()> {
    let mut ids = [0i64; 5];
    for (i, id) in ids.iter_mut().enumerate() {
        *id = match main_ids {
            Some(fixed) => fixed[i],
            None => next_number(tx, "cdm_main_id").await?,
        };
    }
    let node = |main_id: i64, parent: Option<&Node>, name: &str, ty: &str, classifier: &str| {
        let mut n = Node::committed(app, parent, main_id, name, ty, actor);
        n.system_folder = parent.is_some();
        n.classifier = Some(classifier.to_owned());
        n
    };
    let root = node(ids[0], None, name, node_type::APPLICATION, "/application");
    let components = node(
        ids[1],
        Some(&root),
        "components",
        node_type::FOLDER,
        "/application/components",
    );
    let vars = node(
        ids[2],
        Some(&components),
        "vars",
        node_type::FOLDER,
        "/application/components/vars",
    );
    let collections = node(
        ids[3],
        Some(&root),
        "collections",
        node_type::FOLDER,
        "/application/collections",
    );
    let deployables = node(
        ids[4],
        Some(&root),
        "deployables",
        node_type::FOLDER,
        "/application/deployables",
    );
    for n in [&root, &components, &vars, &collections, &deployables] {
        tree::insert(tx, n).await?;
    }
    tx.execute(
        "UPDATE sn_cdm_application SET root_main_id = $1 WHERE sys_id = $2",
        &[Value::Int(ids[0]), Value::from(app)],
    )
    .await?;
    Ok(())
}

/// Creates a deployable in an application: its node and `vars` folder
/// (committed at once, as the vendor does outside changesets), the
/// application service it connects to, and its record. Returns the record's
/// sys_id.
pub async fn create_deployable(
    tx: &mut Tx,
    app: &Row,
    name: &str,
    environment: &str,
    fixed: Option<(&str, i64)>,
    actor: &str,
) -> Result<String> {
    if !ENVIRONMENT_TYPES.contains(&environment) {
        return Err(request_error(
            "create",
            format!("Invalid envType '{environment}': one of Development, Test, Production"),
        ));
    }
    check_deployable_name(name, "create")?;
    let app_id = app.string("sys_id");
    // The name is checked against the committed tree, then committed.
    tx.lock("sn_cdm_application", &app_id).await?;
    let mut tree = tree::committed(tx, &app_id).await?;
    let root = app.int("root_main_id").unwrap_or_default();
    let folder = tree
        .child(root, "deployables")
        .cloned()
        .ok_or_else(|| refusal("the application has no deployables folder"))?;
    if tree.child(folder.main_id, name).is_some() {
        return Err(request_error(
            "create",
            format!("Deployable '{name}' already exists"),
        ));
    }
    let classifier = format!("/application/deployables/env:{environment}");
    let node = committed_child(
        tx,
        &mut tree,
        &folder,
        name,
        node_type::DEPLOYABLE,
        &classifier,
        fixed.map(|f| f.1),
        actor,
    )
    .await?;
    committed_child(
        tx,
        &mut tree,
        &node,
        "vars",
        node_type::FOLDER,
        &format!("{classifier}/vars"),
        None,
        actor,
    )
    .await?;
    let service = insert_values(
        tx,
        registry::table("cmdb_ci_service_auto").expect("registered"),
        None,
        vec![
            (
                "name",
                Value::Text(format!("{}_{name}", app.string("name"))),
            ),
            ("environment", Value::from(environment)),
        ],
        actor,
    )
    .await?;
    insert_values(
        tx,
        registry::table("sn_cdm_deployable").expect("registered"),
        fixed.map(|f| f.0.to_owned()),
        vec![
            ("name", Value::from(name)),
            ("cdm_app", Value::from(&app_id)),
            ("cmdb_ci", Value::from(service)),
            ("node", Value::from(&node.sys_id)),
            ("main_id", Value::Int(node.main_id)),
            ("environment_type", Value::from(environment)),
            ("cdi_usage", Value::from("0")),
            ("state", Value::from("active")),
        ],
        actor,
    )
    .await
}

/// A committed (not pending) system-made child node.
#[allow(clippy::too_many_arguments)]
async fn committed_child(
    tx: &mut Tx,
    tree: &mut Tree,
    parent: &Node,
    name: &str,
    ty: &'static str,
    classifier: &str,
    main_id: Option<i64>,
    actor: &str,
) -> Result<Node> {
    let main_id = match main_id {
        Some(id) => id,
        None => next_number(tx, "cdm_main_id").await?,
    };
    let mut node = Node::committed(&parent.application, Some(parent), main_id, name, ty, actor);
    node.classifier = Some(classifier.to_owned());
    node.system_folder = name == "vars";
    tree::insert(tx, &node).await?;
    tree.attach(node.clone());
    Ok(node)
}

/// Creates the application record and its tree (the Table API's insert of
/// `sn_cdm_application` comes through here too).
pub async fn create_application(
    tx: &mut Tx,
    name: &str,
    kind: &str,
    fixed: Option<(&str, [i64; 5])>,
    actor: &str,
) -> Result<String> {
    let id = insert_values(
        tx,
        registry::table("sn_cdm_application").expect("registered"),
        fixed.map(|f| f.0.to_owned()),
        vec![
            ("name", Value::from(name)),
            ("type", Value::from(kind)),
            ("state", Value::from("active")),
        ],
        actor,
    )
    .await?;
    build_tree(tx, &id, name, fixed.map(|f| f.1), actor).await?;
    Ok(id)
}

/// Deletes a deployable the way the vendor does: an auto-generated
/// changeset ("Auto generated for deletion of CDM Deployable <name><time>")
/// deletes its node and everything below it and is committed at once; the
/// record stays, `deleted`, with its snapshots as history.
pub async fn delete_deployable(tx: &mut Tx, app: &Row, name: &str, actor: &str) -> Result<String> {
    let app_id = app.string("sys_id");
    // Checked active, then deleted and committed: one at a time per application.
    tx.lock("sn_cdm_application", &app_id).await?;
    let record = active_deployable(tx, app, name, "delete").await?;
    let title = format!(
        "Auto generated for deletion of CDM Deployable {name}{}",
        crate::time::now_string()
    );
    let changeset = auto_changeset(tx, &app_id, &title, actor).await?;
    let mut tree = tree::committed(tx, &app_id).await?;
    tree::delete(
        tx,
        &mut tree,
        &changeset,
        record.int("main_id").unwrap_or_default(),
        actor,
    )
    .await?;
    if let Err(conflicts) = super::commit::commit(tx, &changeset, actor).await? {
        return Err(request_error(
            "delete",
            format!("Deployable '{name}' could not be deleted: {conflicts} conflict(s)"),
        ));
    }
    tx.execute(
        "UPDATE sn_cdm_deployable SET state = 'deleted', sys_updated_on = $1, sys_updated_by = $2, \
         sys_mod_count = sys_mod_count + 1 WHERE sys_id = $3",
        &[Value::Text(crate::time::now_string()), Value::from(actor), Value::from(record.string("sys_id"))],
    )
    .await?;
    Ok(changeset)
}

/// What `PUT /applications/deployables` changes.
pub struct DeployableChange<'a> {
    pub new_name: Option<&'a str>,
    pub new_description: Option<&'a str>,
    /// `Some("")` disconnects the deployable from its service.
    pub new_service: Option<&'a str>,
    pub new_identifier: Option<&'a str>,
}

/// Updates a deployable's record; a rename also renames its node, through
/// an auto-generated changeset committed at once (as a deletion does).
/// Returns the record's sys_id.
pub async fn update_deployable(
    tx: &mut Tx,
    app: &Row,
    name: &str,
    change: &DeployableChange<'_>,
    actor: &str,
) -> Result<String> {
    let app_id = app.string("sys_id");
    tx.lock("sn_cdm_application", &app_id).await?;
    let record = active_deployable(tx, app, name, "update").await?;
    let id = record.string("sys_id");
    let mut values: Vec<(&'static str, Value)> = Vec::new();
    if let Some(service) = change.new_service {
        let service = service
            .trim()
            .trim_matches(|c| c == '\'' || c == '\u{2019}' || c == '"');
        if service.is_empty() {
            values.push(("cmdb_ci", Value::Null));
        } else if crate::domain::records::exists(tx, "cmdb_ci_service_auto", service).await? {
            values.push(("cmdb_ci", Value::from(service)));
        } else {
            return Err(request_error(
                "update",
                format!("newServiceId: no application service {service}"),
            ));
        }
    }
    if let Some(description) = change.new_description {
        values.push(("description", Value::from(description)));
    }
    if let Some(identifier) = change.new_identifier {
        values.push(("identifier", Value::from(identifier)));
    }
    if let Some(new_name) = change.new_name.filter(|n| *n != name) {
        check_deployable_name(new_name, "update")?;
        let title = format!(
            "Auto generated for rename of CDM Deployable {name} to {new_name}{}",
            crate::time::now_string()
        );
        let changeset = auto_changeset(tx, &app_id, &title, actor).await?;
        let mut tree = tree::committed(tx, &app_id).await?;
        let main_id = record.int("main_id").unwrap_or_default();
        tree::update(
            tx,
            &mut tree,
            &changeset,
            main_id,
            tree::Change {
                name: Some(new_name),
                ..tree::Change::default()
            },
            actor,
        )
        .await
        .map_err(|e| request_error("update", e.message.trim_start_matches("Error: ")))?;
        if let Err(conflicts) = super::commit::commit(tx, &changeset, actor).await? {
            return Err(request_error(
                "update",
                format!("Deployable '{name}' could not be renamed: {conflicts} conflict(s)"),
            ));
        }
        values.push(("name", Value::from(new_name)));
    }
    if !values.is_empty() {
        crate::domain::records::update_values(
            tx,
            registry::table("sn_cdm_deployable").expect("registered"),
            &id,
            values,
            actor,
        )
        .await?;
    }
    Ok(id)
}

/// The active deployable `name` of an application, or the vendor-style
/// refusal for `operation`.
async fn active_deployable(tx: &mut Tx, app: &Row, name: &str, operation: &str) -> Result<Row> {
    tx.fetch_optional(
        "SELECT sys_id, main_id FROM sn_cdm_deployable WHERE cdm_app = $1 AND name = $2 AND state = 'active'",
        &[Value::from(app.string("sys_id")), Value::from(name)],
    )
    .await?
    .ok_or_else(|| {
        request_error(
            operation,
            format!("Deployable '{name}' not found in application '{}'", app.string("name")),
        )
    })
}

/// An open changeset the server makes for its own change to an application
/// (deleting or renaming a deployable), committed by the caller at once.
async fn auto_changeset(tx: &mut Tx, app_id: &str, title: &str, actor: &str) -> Result<String> {
    let number = next_number(tx, "sn_cdm_changeset").await?;
    insert_values(
        tx,
        registry::table("sn_cdm_changeset").expect("registered"),
        None,
        vec![
            ("number", Value::Text(format!("Chset-{number}"))),
            ("title", Value::from(title)),
            ("description", Value::from(title)),
            ("state", Value::from("open")),
            ("cdm_application", Value::from(app_id)),
            ("publish_option", Value::from("publish_none")),
            ("auto_validate", Value::Bool(false)),
        ],
        actor,
    )
    .await
}

/// A deployable's name: up to 255 of the characters the vendor allows.
fn check_deployable_name(name: &str, operation: &str) -> Result<()> {
    let valid = !name.trim().is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _-.%$:#".contains(c));
    if valid {
        Ok(())
    } else {
        Err(request_error(
            operation,
            format!("Invalid deployable name '{name}': up to 255 of 0-9 A-Z a-z _ - . % $ : # and spaces"),
        ))
    }
}
