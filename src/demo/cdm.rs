//! Demo data of the CDM changeset document: applications `testApp`,
//! `DemoApp` and `App Service1`, the shared libraries `javalib` and the one
//! of `Chset-20`, and the changesets each example names, in the states in
//! which the examples, sent as written, succeed; and `storefront`, a small
//! application for the console's configuration-data pages.

use crate::domain::cdm::applications::{create_application, create_deployable};
use crate::domain::cdm::changesets;
use crate::domain::cdm::tree::{self, Node};
use crate::domain::cdm::{node_type, snapshots};
use crate::domain::records::insert_values;
use crate::error::Result;
use crate::registry;
use crate::storage::{Row, Tx, Value};

use super::ADMIN_ID;

pub const TEST_APP: &str = "62b517a953b70110a1d3ddeeff7b128c";
pub const DEMO_APP: &str = "5a2127e953924110da35ddeeff7b1289";
pub const SHARED_LIBRARY: &str = "acb905e097b3991052687b890353afcd";
const DEVELOPMENT_1: &str = "6dc517a953b70110a1d3ddeeff7b129b";
const DEVELOPMENT_1_NODE: &str = "a1c517a953b70110a1d3ddeeff7b129b";
const DEVELOPMENT_1_SERVICE: &str = "75c5d7a953b70110a1d3ddeeff7b12a2";
const CHSET_946: &str = "955d6c0f53141110a1d3ddeeff7b1233";
const CHSET_783: &str = "7f5d6c0f53141110a1d3ddeeff7b1201";
const DEP_1_DELETION: &str = "ed5d6c0f53141110a1d3ddeeff7b1233";
pub const CHANGESET_TO_COMMIT: &str = "29e24001533030104bacddeeff7b120c";
pub const DEMO_APP_CHANGESET: &str = "bf506e69537c3010a1d3ddeeff7b12c0";
pub const STOREFRONT: &str = "5f0e3c2a9d1b4e7f8a6c1d2e3f4a5b01";
pub const STOREFRONT_COMMITTED: &str = "5f0e3c2a9d1b4e7f8a6c1d2e3f4a5b02";
pub const STOREFRONT_OPEN: &str = "5f0e3c2a9d1b4e7f8a6c1d2e3f4a5b03";
const STOREFRONT_STAGING: &str = "5f0e3c2a9d1b4e7f8a6c1d2e3f4a5b04";
const STOREFRONT_PRODUCTION: &str = "5f0e3c2a9d1b4e7f8a6c1d2e3f4a5b05";

/// Identities below which the demo places its nodes; the counters start
/// above them.
const FIRST_FREE_MAIN_ID: i64 = 10_000;
const FIRST_FREE_CHANGESET: i64 = 2_000;

pub async fn load(tx: &mut Tx) -> Result<usize> {
    let mut added = 0;
    raise_counter(tx, "cdm_main_id", FIRST_FREE_MAIN_ID).await?;
    raise_counter(tx, "sn_cdm_changeset", FIRST_FREE_CHANGESET).await?;
    if !crate::domain::records::exists(tx, "sn_cdm_application", TEST_APP).await? {
        test_app(tx).await?;
        demo_app(tx).await?;
        create_application(tx, "App Service1", "application", None, "admin").await?;
        create_application(tx, "javalib", "shared_library", None, "admin").await?;
        shared_library(tx).await?;
        added += 1;
    }
    if !crate::domain::records::exists(tx, "sn_cdm_application", STOREFRONT).await? {
        storefront(tx).await?;
        added += 1;
    }
    Ok(added)
}

async fn raise_counter(tx: &mut Tx, name: &str, at_least: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO tollgate_counter (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[Value::from(name), Value::Int(at_least)],
    )
    .await?;
    tx.execute(
        "UPDATE tollgate_counter SET value = $2 WHERE name = $1 AND value < $2",
        &[Value::from(name), Value::Int(at_least)],
    )
    .await?;
    Ok(())
}

/// A changeset with a fixed id and number.
#[allow(clippy::too_many_arguments)]
async fn changeset(
    tx: &mut Tx,
    id: &str,
    number: &str,
    app: &str,
    state: &str,
    title: &str,
    description: Option<&str>,
    committed_at: Option<&str>,
) -> Result<()> {
    insert_values(
        tx,
        registry::table("sn_cdm_changeset").expect("registered"),
        Some(id.to_owned()),
        vec![
            ("number", Value::from(number)),
            ("title", Value::from(title)),
            ("description", Value::from(description)),
            ("state", Value::from(state)),
            ("cdm_application", Value::from(app)),
            ("committed_at", Value::from(committed_at)),
            ("committed_by", Value::from(committed_at.map(|_| ADMIN_ID))),
            ("publish_option", Value::from("publish_none")),
            ("auto_validate", Value::Bool(false)),
            ("last_updated", Value::from(committed_at)),
        ],
        "admin",
    )
    .await?;
    Ok(())
}

async fn app_row(tx: &mut Tx, id: &str) -> Result<Row> {
    Ok(tx
        .fetch_optional(
            "SELECT sys_id, name, type, state, root_main_id FROM sn_cdm_application WHERE sys_id = $1",
            &[Value::from(id)],
        )
        .await?
        .expect("just made"))
}

/// A component with one CDI, pending in an open changeset.
async fn pending_component(
    tx: &mut Tx,
    app: &str,
    changeset_id: &str,
    component: &str,
    cdi: &str,
    value: &str,
) -> Result<()> {
    let mut t = tree::as_seen_by(tx, app, Some(changeset_id)).await?;
    let root = t
        .nodes
        .values()
        .find(|n| n.parent.is_none())
        .cloned()
        .expect("root");
    let components = t
        .child(root.main_id, "components")
        .cloned()
        .expect("components");
    let c = tree::add(
        tx,
        &mut t,
        Some(changeset_id),
        tree::NewNode::plain(&components, component, node_type::COMPONENT, None),
        "admin",
    )
    .await?;
    tree::add(
        tx,
        &mut t,
        Some(changeset_id),
        tree::NewNode::plain(&c, cdi, node_type::CDI, Some(value)),
        "admin",
    )
    .await?;
    Ok(())
}

/// testApp: `Development_1` (2 CDIs, 3 snapshots), `Dep-1` deleted by
/// `Chset-783`, `Chset-946` committed, and the open changesets `Chset-760`,
/// `Chset-146` and `29e24001...`.
async fn test_app(tx: &mut Tx) -> Result<()> {
    create_application(
        tx,
        "testApp",
        "application",
        Some((TEST_APP, [1, 2, 3, 4, 5])),
        "admin",
    )
    .await?;
    let app = app_row(tx, TEST_APP).await?;
    create_deployable(
        tx,
        &app,
        "Development_1",
        "Development",
        Some((DEVELOPMENT_1, 6)),
        "admin",
    )
    .await?;
    // The ids the examples show.
    tx.execute(
        "UPDATE sn_cdm_node SET sys_id = $1 WHERE main_id = 6",
        &[Value::from(DEVELOPMENT_1_NODE)],
    )
    .await?;
    let service = tx
        .fetch_optional(
            "SELECT cmdb_ci FROM sn_cdm_deployable WHERE sys_id = $1",
            &[Value::from(DEVELOPMENT_1)],
        )
        .await?
        .map(|r| r.string("cmdb_ci"))
        .unwrap_or_default();
    tx.execute(
        "UPDATE cmdb_ci_service_auto SET sys_id = $1 WHERE sys_id = $2",
        &[Value::from(DEVELOPMENT_1_SERVICE), Value::from(&service)],
    )
    .await?;
    tx.execute(
        "UPDATE sn_cdm_deployable SET node = $1, cmdb_ci = $2, sys_created_on = '2022-05-31 13:03:23' WHERE sys_id = $3",
        &[Value::from(DEVELOPMENT_1_NODE), Value::from(DEVELOPMENT_1_SERVICE), Value::from(DEVELOPMENT_1)],
    )
    .await?;
    // Two CDIs in Development_1.
    let mut t = tree::committed(tx, TEST_APP).await?;
    let dev = t.get(6).cloned().expect("Development_1");
    for (main_id, name, value) in [(7, "logLevel", "debug"), (8, "replicas", "1")] {
        let mut n = Node::committed(TEST_APP, Some(&dev), main_id, name, node_type::CDI, "admin");
        n.value = Some(value.into());
        tree::insert(tx, &n).await?;
        t.nodes.insert(main_id, n);
    }
    // Dep-1, deleted by Chset-783 (the auto-generated Chset-946 records
    // the same deletion, as the vendor writes it).
    let deployables = t.get(5).cloned().expect("deployables");
    let mut dep1 = Node::committed(
        TEST_APP,
        Some(&deployables),
        9,
        "Dep-1",
        node_type::DEPLOYABLE,
        "admin",
    );
    dep1.classifier = Some("/application/deployables/env:Test".into());
    tree::insert(tx, &dep1).await?;
    changeset(
        tx,
        CHSET_946,
        "Chset-946",
        TEST_APP,
        "committed",
        "Auto generated for deletion of CDM Deployable Dep-12022-06-29 13:09:46",
        Some("Auto generated for deletion of CDM Deployable Dep-12022-06-29 13:09:46"),
        Some("2022-06-29 13:09:46"),
    )
    .await?;
    tx.execute(
        "UPDATE sn_cdm_changeset SET auto_validate = $1, last_conflict_detection_time = '1656508187450', \
         sys_created_on = '2022-06-29 13:09:46', sys_updated_on = '2022-06-29 13:09:47' WHERE sys_id = $2",
        &[Value::Bool(true), Value::from(CHSET_946)],
    )
    .await?;
    changeset(
        tx,
        CHSET_783,
        "Chset-783",
        TEST_APP,
        "committed",
        "admin2022-06-29 13:09:40",
        Some("Retire Dep-1"),
        Some("2022-06-29 13:09:46"),
    )
    .await?;
    let at: i64 = 1_656_508_186_000;
    tx.execute(
        "UPDATE sn_cdm_node SET effective_to = $1, status = 'superseded' WHERE main_id = 9",
        &[Value::Int(at)],
    )
    .await?;
    let mut gone = dep1.clone();
    gone.sys_id = DEP_1_DELETION.into();
    gone.status = "deleted".into();
    gone.changeset_id = Some(CHSET_783.into());
    gone.previous_version = Some(dep1.sys_id.clone());
    gone.effective_from = Some(at);
    gone.sys_updated_on = "2022-06-29 13:09:46".into();
    tree::insert(tx, &gone).await?;
    // Chset-783 also changed Development_1, whose third snapshot it made.
    let after = tree::committed(tx, TEST_APP).await?;
    let resolved = snapshots::resolve(&after, 6);
    tx.execute(
        "UPDATE sn_cdm_deployable SET snapshot_version_counter = 2 WHERE sys_id = $1",
        &[Value::from(DEVELOPMENT_1)],
    )
    .await?;
    let deployable = tx
        .fetch_optional(
            "SELECT sys_id, name, cdm_app, main_id, snapshot_version_counter FROM sn_cdm_deployable WHERE sys_id = $1",
            &[Value::from(DEVELOPMENT_1)],
        )
        .await?
        .expect("made above");
    snapshots::create(tx, &deployable, &resolved, CHSET_783, None, "admin").await?;
    tx.execute(
        "UPDATE sn_cdm_deployable SET sys_updated_on = '2022-06-29 16:19:05', cdi_usage = '0.02' WHERE sys_id = $1",
        &[Value::from(DEVELOPMENT_1)],
    )
    .await?;
    // Open changesets: one the delete example removes, two to commit.
    changeset(
        tx,
        "3e5d6c0f53141110a1d3ddeeff7b1260",
        "Chset-760",
        TEST_APP,
        "open",
        "admin2022-06-30 10:00:00",
        None,
        None,
    )
    .await?;
    changeset(
        tx,
        "3e5d6c0f53141110a1d3ddeeff7b1146",
        "Chset-146",
        TEST_APP,
        "open",
        "admin2022-06-30 10:01:00",
        None,
        None,
    )
    .await?;
    pending_component(
        tx,
        TEST_APP,
        "3e5d6c0f53141110a1d3ddeeff7b1146",
        "cacheSettings",
        "ttlSeconds",
        "300",
    )
    .await?;
    changeset(
        tx,
        CHANGESET_TO_COMMIT,
        "Chset-501",
        TEST_APP,
        "open",
        "admin2022-06-30 10:02:00",
        None,
        None,
    )
    .await?;
    pending_component(
        tx,
        TEST_APP,
        CHANGESET_TO_COMMIT,
        "queueSettings",
        "maxDepth",
        "1000",
    )
    .await?;
    Ok(())
}

/// DemoApp: deployables `Development_1` and `Test_1`, and the committed
/// `Chset-1207` (sys_id `bf506e69...`, also its commit request's id).
async fn demo_app(tx: &mut Tx) -> Result<()> {
    create_application(
        tx,
        "DemoApp",
        "application",
        Some((DEMO_APP, [137, 138, 139, 140, 141])),
        "admin",
    )
    .await?;
    let app = app_row(tx, DEMO_APP).await?;
    for (name, env, main, node, description, from) in [
        (
            "Development_1",
            "Development",
            150,
            "833527a953924110da35ddeeff7b12c1",
            "dev deployable decription",
            1_647_563_806_950_i64,
        ),
        (
            "Test_1",
            "Test",
            153,
            "a245e7a953924110da35ddeeff7b1223",
            "test deployable decription",
            1_647_563_821_422,
        ),
    ] {
        let id = create_deployable(
            tx,
            &app,
            name,
            env,
            Some((&format!("{}{main}", &node[..29]), main)),
            "admin",
        )
        .await?;
        tx.execute(
            "UPDATE sn_cdm_node SET sys_id = $1, description = $2, effective_from = $3 WHERE main_id = $4",
            &[Value::from(node), Value::from(description), Value::Int(from), Value::Int(main)],
        )
        .await?;
        tx.execute(
            "UPDATE sn_cdm_deployable SET node = $1 WHERE sys_id = $2",
            &[Value::from(node), Value::from(&id)],
        )
        .await?;
    }
    changeset(
        tx,
        DEMO_APP_CHANGESET,
        "Chset-1207",
        DEMO_APP,
        "committed",
        "admin064407e953124110da35ddeeff7b1235",
        Some("A description of my changeset provided during creation"),
        Some("2022-03-17 22:19:33"),
    )
    .await?;
    let t = tree::committed(tx, DEMO_APP).await?;
    let deployables = tx
        .fetch_all(
            "SELECT sys_id, name, cdm_app, main_id, snapshot_version_counter FROM sn_cdm_deployable WHERE cdm_app = $1 ORDER BY name",
            &[Value::from(DEMO_APP)],
        )
        .await?;
    for d in &deployables {
        let resolved = snapshots::resolve(&t, d.int("main_id").unwrap_or_default());
        snapshots::create(tx, d, &resolved, DEMO_APP_CHANGESET, None, "admin").await?;
    }
    let cs = changesets::by_id(tx, DEMO_APP_CHANGESET)
        .await?
        .expect("made above");
    insert_values(
        tx,
        registry::table("sn_cdm_request_queue").expect("registered"),
        Some(DEMO_APP_CHANGESET.to_owned()),
        vec![
            ("type", Value::from("commit")),
            ("state", Value::from("completed")),
            ("processing_state", Value::from("PROCESSED")),
            ("changeset", Value::from(DEMO_APP_CHANGESET)),
            ("parameters", Value::from("{}")),
            (
                "output",
                Value::Text(changesets::summary(&cs, true).to_string()),
            ),
        ],
        "admin",
    )
    .await?;
    Ok(())
}

/// The shared library of `Chset-20`, with the four shared components that
/// changeset touched.
async fn shared_library(tx: &mut Tx) -> Result<()> {
    create_application(
        tx,
        "OracleG-Library-10",
        "shared_library",
        Some((SHARED_LIBRARY, [300, 301, 302, 303, 304])),
        "john.jones",
    )
    .await?;
    changeset(
        tx,
        "1cb945e097b3991052687b890353af01",
        "Chset-20",
        SHARED_LIBRARY,
        "committed",
        "john.jones2022-12-12 20:28:39",
        None,
        Some("2022-12-12 20:28:49"),
    )
    .await?;
    let t = tree::committed(tx, SHARED_LIBRARY).await?;
    let components = t.get(301).cloned().expect("components");
    for (i, (name, sys_id, node, node_main)) in [
        (
            "logonService-V2.1",
            "34b945e097b3991052687b890353af20",
            "3cb945e097b3991052687b890353af0d",
            "74b945e097b3991052687b890353af0d",
        ),
        (
            "logonService-V2.2",
            "30b945e097b3991052687b890353af21",
            "b0b945e097b3991052687b890353af11",
            "f8b945e097b3991052687b890353af10",
        ),
        (
            "paymentService-V1.0",
            "b4b945e097b3991052687b890353af21",
            "6cb905e097b3991052687b890353afd3",
            "a4b905e097b3991052687b890353afd3",
        ),
        (
            "paymentService-V1.1",
            "3cb945e097b3991052687b890353af21",
            "e0b905e097b3991052687b890353aff1",
            "2cb905e097b3991052687b890353aff0",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let main_id = 310 + i as i64;
        let mut n = Node::committed(
            SHARED_LIBRARY,
            Some(&components),
            main_id,
            name,
            node_type::COMPONENT,
            "john.jones",
        );
        n.sys_id = node.into();
        n.changeset_id = Some("1cb945e097b3991052687b890353af01".into());
        tree::insert(tx, &n).await?;
        insert_values(
            tx,
            registry::table("sn_cdm_shared_component").expect("registered"),
            Some(sys_id.to_owned()),
            vec![
                ("name", Value::from(name)),
                ("cdm_shared_library", Value::from(SHARED_LIBRARY)),
                ("node", Value::from(node)),
                ("node_main", Value::from(node_main)),
                ("main_id", Value::Int(main_id)),
                ("state", Value::from("active")),
                ("version_counter", Value::Int(1)),
            ],
            "john.jones",
        )
        .await?;
    }
    tx.execute(
        "UPDATE sn_cdm_shared_component SET sys_created_on = '2022-12-12 20:28:39', sys_updated_on = '2022-12-12 20:28:49' \
         WHERE cdm_shared_library = $1",
        &[Value::from(SHARED_LIBRARY)],
    )
    .await?;
    Ok(())
}

/// storefront: a small application for the console's configuration-data
/// pages. Application variables (one secure), components `web` and
/// `database` (a secure password), a collection `eu` whose variables win
/// over the application's, deployables `Staging` and `Production` that
/// include them; `Chset-1301` committed it all (a validated, published
/// snapshot of Staging; a validated, unpublished one of Production), and
/// the open `Chset-1302` changes the web port and the database password
/// without conflict.
async fn storefront(tx: &mut Tx) -> Result<()> {
    create_application(
        tx,
        "storefront",
        "application",
        Some((STOREFRONT, [600, 601, 602, 603, 604])),
        "admin",
    )
    .await?;
    let app = app_row(tx, STOREFRONT).await?;
    changeset(
        tx,
        STOREFRONT_COMMITTED,
        "Chset-1301",
        STOREFRONT,
        "committed",
        "admin2026-11-02 09:00:00",
        Some("Initial storefront configuration"),
        Some("2026-11-02 09:05:00"),
    )
    .await?;
    let staging = create_deployable(
        tx,
        &app,
        "Staging",
        "Test",
        Some((STOREFRONT_STAGING, 630)),
        "admin",
    )
    .await?;
    let production = create_deployable(
        tx,
        &app,
        "Production",
        "Production",
        Some((STOREFRONT_PRODUCTION, 640)),
        "admin",
    )
    .await?;
    let mut t = tree::committed(tx, STOREFRONT).await?;
    // (main_id, parent, name, type, value, secure, include of)
    type DemoNode<'a> = (
        i64,
        i64,
        &'a str,
        &'a str,
        Option<&'a str>,
        bool,
        Option<i64>,
    );
    let nodes: [DemoNode; 17] = [
        (
            610,
            602,
            "apiHost",
            node_type::VARIABLE,
            Some("api.example.com"),
            false,
            None,
        ),
        (
            611,
            602,
            "logLevel",
            node_type::VARIABLE,
            Some("info"),
            false,
            None,
        ),
        (612, 601, "web", node_type::COMPONENT, None, false, None),
        (613, 612, "port", node_type::CDI, Some("8080"), false, None),
        (
            614,
            612,
            "apiUrl",
            node_type::CDI,
            Some("https://@@apiHost@@/v1"),
            false,
            None,
        ),
        (
            615,
            612,
            "logLevel",
            node_type::CDI,
            Some("@@logLevel@@"),
            false,
            None,
        ),
        (
            616,
            601,
            "database",
            node_type::COMPONENT,
            None,
            false,
            None,
        ),
        (
            617,
            616,
            "user",
            node_type::CDI,
            Some("storefront"),
            false,
            None,
        ),
        (
            618,
            616,
            "password",
            node_type::CDI,
            Some("demo-Storefront-pw-1"),
            true,
            None,
        ),
        (620, 603, "eu", node_type::COLLECTION, None, false, None),
        (621, 620, "vars", node_type::FOLDER, None, false, None),
        (
            622,
            621,
            "apiHost",
            node_type::VARIABLE,
            Some("api.eu.example.com"),
            false,
            None,
        ),
        (631, 630, "web", node_type::LINKED, None, false, Some(612)),
        (
            632,
            630,
            "database",
            node_type::LINKED,
            None,
            false,
            Some(616),
        ),
        (641, 640, "eu", node_type::LINKED, None, false, Some(620)),
        (642, 640, "web", node_type::LINKED, None, false, Some(612)),
        (
            643,
            640,
            "database",
            node_type::LINKED,
            None,
            false,
            Some(616),
        ),
    ];
    for (main_id, parent, name, ty, value, secure, include) in nodes {
        let parent = t.get(parent).cloned().expect("parent made first");
        let mut n = Node::committed(STOREFRONT, Some(&parent), main_id, name, ty, "admin");
        let (value, secure_value) = tree::store_value(tx, value, secure).await?;
        n.value = value;
        n.secure_value = secure_value;
        n.secure = secure;
        n.linked_to = include;
        n.system_folder = name == "vars";
        n.changeset_id = Some(STOREFRONT_COMMITTED.into());
        tree::insert(tx, &n).await?;
        t.attach(n);
    }
    // Production logs less: its own variable wins over the application's.
    let vars = t
        .child(640, "vars")
        .cloned()
        .expect("the deployable's vars folder");
    let mut quiet = Node::committed(
        STOREFRONT,
        Some(&vars),
        644,
        "logLevel",
        node_type::VARIABLE,
        "admin",
    );
    quiet.value = Some("warn".into());
    quiet.changeset_id = Some(STOREFRONT_COMMITTED.into());
    tree::insert(tx, &quiet).await?;
    t.attach(quiet);
    for id in [&staging, &production] {
        let d = tx
            .fetch_optional(
                "SELECT sys_id, name, cdm_app, main_id, snapshot_version_counter FROM sn_cdm_deployable WHERE sys_id = $1",
                &[Value::from(id.as_str())],
            )
            .await?
            .expect("made above");
        let resolved = snapshots::resolve(&t, d.int("main_id").unwrap_or_default());
        let snapshot =
            snapshots::create(tx, &d, &resolved, STOREFRONT_COMMITTED, None, "admin").await?;
        let row = snapshots::by_id(tx, &snapshot).await?.expect("just made");
        snapshots::validate(tx, &row, "admin").await?;
        if *id == staging {
            let row = snapshots::by_id(tx, &snapshot).await?.expect("just made");
            snapshots::publish(tx, &row, "admin").await?;
        }
    }
    // The open changeset: two changes nobody else made, so no conflict.
    changeset(
        tx,
        STOREFRONT_OPEN,
        "Chset-1302",
        STOREFRONT,
        "open",
        "admin2026-11-20 14:00:00",
        Some("Move the web port; rotate the database password"),
        None,
    )
    .await?;
    let mut seen = tree::as_seen_by(tx, STOREFRONT, Some(STOREFRONT_OPEN)).await?;
    for (main_id, value) in [(613, "8081"), (618, "demo-Storefront-pw-2")] {
        tree::update(
            tx,
            &mut seen,
            STOREFRONT_OPEN,
            main_id,
            tree::Change {
                value: Some(Some(value)),
                ..Default::default()
            },
            "admin",
        )
        .await?;
    }
    Ok(())
}
