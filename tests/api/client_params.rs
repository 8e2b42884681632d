//! What ServiceNow clients send, read as the vendor reads it: booleans in
//! any case (pysnow sends Python's `False`), display values on input
//! (`sysparm_input_display_value`, as servicenow-rest-api sends), name-value
//! pairs filtering a list, dot-walked fields, and
//! `sysparm_suppress_pagination_header`.
//!
//! The tests run on a multi-thread runtime, as the Table API's do (the
//! PostgreSQL harness needs a second thread to drop a schema).

use axum::http::StatusCode;
use serde_json::{json, Value as Json};

use tollgate::demo;

use crate::helpers::{Auth, TestApp, TestResponse};

const USERS: &str = "/api/now/table/sys_user";
const INCIDENTS: &str = "/api/now/table/incident";

fn error_message(res: &TestResponse) -> String {
    res.body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {}", res.text))
        .to_owned()
}

/// A ServiceNow failure with `status` whose message names `word`.
fn assert_refused(res: &TestResponse, status: StatusCode, word: &str) {
    assert_eq!(res.status, status, "{}", res.text);
    let message = error_message(res);
    assert!(
        message.contains(word),
        "message {message:?} should name {word:?}"
    );
}

fn results(res: &TestResponse) -> Vec<Json> {
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    res.body["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result array in {}", res.text))
        .clone()
}

/// The `key` of every record of a list answer, in order.
fn column(res: &TestResponse, key: &str) -> Vec<String> {
    results(res)
        .iter()
        .map(|r| {
            r[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} is not a string in {r}"))
                .to_owned()
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn create(app: &TestApp, path: &str, body: Json) -> Json {
    let res = app.post(path, body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    res.body["result"].clone()
}

async fn user(app: &TestApp, user_name: &str, name: &str, email: &str) -> String {
    let u = create(
        app,
        USERS,
        json!({"user_name": user_name, "name": name, "email": email}),
    )
    .await;
    u["sys_id"].as_str().unwrap().to_owned()
}

async fn incident(app: &TestApp, short: &str, assigned_to: Option<&str>) -> String {
    let mut body = json!({"short_description": short});
    if let Some(id) = assigned_to {
        body["assigned_to"] = json!(id);
    }
    let i = create(app, INCIDENTS, body).await;
    i["sys_id"].as_str().unwrap().to_owned()
}

/// Alice and Bob, each assigned one incident, and an unassigned one.
struct Desk {
    app: TestApp,
    alice: String,
    bob: String,
}

async fn desk() -> Desk {
    let app = TestApp::spawn().await;
    let alice = user(&app, "alice.w", "Alice Walker", "alice@desk.test").await;
    let bob = user(&app, "bob.w", "Bob Walker", "bob@desk.test").await;
    incident(&app, "disk full", Some(&alice)).await;
    incident(&app, "printer jam", Some(&bob)).await;
    incident(&app, "nobody's", None).await;
    Desk { app, alice, bob }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_api_flags_are_read_in_any_case_as_python_spells_them() {
    let d = desk().await;
    // pysnow's first call.
    let res = d
        .app
        .get(&format!(
            "{INCIDENTS}?sysparm_display_value=False&sysparm_exclude_reference_link=False\
             &sysparm_suppress_pagination_header=False&sysparm_limit=1"
        ))
        .await;
    assert_eq!(results(&res).len(), 1);
    assert!(res.header("link").is_some(), "False keeps the Link header");
    let walker = format!(
        "{INCIDENTS}?sysparm_query=short_description=disk%20full&sysparm_fields=assigned_to"
    );
    let res = d
        .app
        .get(&format!(
            "{walker}&sysparm_display_value=True&sysparm_exclude_reference_link=TRUE"
        ))
        .await;
    assert_eq!(results(&res)[0]["assigned_to"], "Alice Walker");
    let res = d
        .app
        .get(&format!("{walker}&sysparm_display_value=ALL"))
        .await;
    let shown = &results(&res)[0]["assigned_to"];
    assert_eq!(shown["display_value"], "Alice Walker", "{shown}");
    assert_eq!(shown["value"], d.alice.as_str(), "{shown}");
    assert!(shown["link"].is_string(), "{shown}");
    for param in [
        "sysparm_exclude_reference_link",
        "sysparm_suppress_pagination_header",
        "sysparm_display_value",
    ] {
        let res = d.app.get(&format!("{INCIDENTS}?{param}=maybe")).await;
        assert_refused(&res, StatusCode::BAD_REQUEST, param);
    }
    let res = d
        .app
        .post(
            &format!("{INCIDENTS}?sysparm_input_display_value=yes"),
            json!({"short_description": "x"}),
        )
        .await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "sysparm_input_display_value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppress_pagination_header_drops_the_link_header_only() {
    let d = desk().await;
    for spelling in ["true", "True"] {
        let res = d
            .app
            .get(&format!(
                "{INCIDENTS}?sysparm_limit=1&sysparm_suppress_pagination_header={spelling}"
            ))
            .await;
        assert_eq!(results(&res).len(), 1);
        assert_eq!(res.header("link"), None, "{spelling}");
        assert_eq!(res.header("x-total-count"), Some("3"));
    }
    let res = d
        .app
        .get(&format!(
            "{INCIDENTS}?sysparm_limit=1&sysparm_suppress_pagination_header=false"
        ))
        .await;
    assert!(res.header("link").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_count_skips_the_total_and_pages_without_a_last_link() {
    let d = desk().await;
    let page = |offset: usize| {
        format!("{INCIDENTS}?sysparm_limit=2&sysparm_offset={offset}&sysparm_no_count=True")
    };
    let first = d.app.get(&page(0)).await;
    assert_eq!(results(&first).len(), 2);
    assert_eq!(first.header("x-total-count"), None);
    let link = first.header("link").unwrap_or_default().to_owned();
    assert!(
        link.contains("rel=\"next\""),
        "a full page has a next: {link}"
    );
    assert!(!link.contains("rel=\"last\""), "no count, no last: {link}");
    let second = d.app.get(&page(2)).await;
    assert_eq!(results(&second).len(), 1);
    let link = second.header("link").unwrap_or_default().to_owned();
    assert!(!link.contains("rel=\"next\""), "{link}");
    assert!(link.contains("rel=\"prev\""), "{link}");
    let counted = d
        .app
        .get(&format!(
            "{INCIDENTS}?sysparm_limit=2&sysparm_no_count=false"
        ))
        .await;
    assert_eq!(counted.header("x-total-count"), Some("3"));
    let res = d.app.get(&format!("{INCIDENTS}?sysparm_no_count=1")).await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "sysparm_no_count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boolean_fields_take_any_case_and_one_or_zero_and_refuse_other_words() {
    let app = TestApp::spawn().await;
    for (i, (given, stored)) in [
        (json!("False"), "false"),
        (json!("TRUE"), "true"),
        (json!("0"), "false"),
        (json!(1), "true"),
        (json!(false), "false"),
    ]
    .into_iter()
    .enumerate()
    {
        let u = create(
            &app,
            USERS,
            json!({"user_name": format!("flag{i}"), "active": given}),
        )
        .await;
        assert_eq!(u["active"], stored, "{given}");
    }
    let res = app
        .post(USERS, json!({"user_name": "flagx", "active": "maybe"}))
        .await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "active");
    let res = app
        .get(&format!(
            "{USERS}?sysparm_query=user_nameSTARTSWITHflag^active=FALSE^ORDERBYuser_name"
        ))
        .await;
    assert_eq!(column(&res, "user_name"), ["flag0", "flag2", "flag4"]);
    let res = app
        .get(&format!("{USERS}?sysparm_query=active=maybe"))
        .await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "maybe");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_of_the_other_families_are_read_in_any_case() {
    let app = TestApp::spawn_demo().await;
    let bundle = format!(
        "/api/sn_dpr/v1/digital_product_release/bundle/{}",
        demo::BUNDLE_ID
    );
    let lower = app.get(&format!("{bundle}?sendAggregation=true")).await;
    assert_eq!(lower.status, StatusCode::OK, "{}", lower.text);
    assert!(lower.body.get("aggregates").is_some(), "{}", lower.text);
    for spelling in ["True", "TRUE"] {
        let res = app
            .get(&format!("{bundle}?sendAggregation={spelling}"))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(res.body, lower.body, "{spelling}");
    }
    let plain = app.get(&format!("{bundle}?sendAggregation=False")).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text);
    assert!(
        plain.body.get("aggregates").is_none(),
        "False asks for none"
    );
    let res = app.get(&format!("{bundle}?sendAggregation=yes")).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("sendAggregation"), "{}", res.text);

    // v3: get_total_count given as a string in any case.
    app.user("tech", &["sdp.technician"]).await;
    let key = tollgate::identity::users::create_api_key(&app.db, "tech", "sdp")
        .await
        .unwrap();
    let auth = Auth::Header("authorization", format!("authtoken: {key}"));
    for (spelling, counted) in [("True", true), ("FALSE", false)] {
        let input = json!({"list_info": {"get_total_count": spelling}});
        let path = format!("/api/v3/releases?input_data={}", encode(&input.to_string()));
        let res = app.request("GET", &path, &auth, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        assert_eq!(
            res.body["list_info"].get("total_count").is_some(),
            counted,
            "{spelling}: {}",
            res.text
        );
    }
    let input = json!({"list_info": {"get_total_count": "maybe"}});
    let path = format!("/api/v3/releases?input_data={}", encode(&input.to_string()));
    let res = app.request("GET", &path, &auth, None).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text);
    assert!(res.text.contains("get_total_count"), "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_display_value_resolves_references_and_choice_labels() {
    let d = desk().await;
    let app = &d.app;
    user(app, "sam.1", "Sam Same", "").await;
    user(app, "sam.2", "Sam Same", "").await;
    let with_display = format!("{INCIDENTS}?sysparm_input_display_value=true");

    // As servicenow-rest-api sends it.
    let body = json!({"short_description": "by name", "assigned_to": "Bob Walker",
                      "state": "Work in Progress"});
    let res = app.post(INCIDENTS, body.clone()).await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "not a sys_id");
    let created = create(app, &with_display, body).await;
    assert_eq!(created["assigned_to"]["value"], d.bob.as_str(), "{created}");
    assert_eq!(created["state"], "in_progress");

    // A sys_id, a stored choice value and a label in another case still do.
    let id = created["sys_id"].as_str().unwrap();
    let res = app
        .request(
            "PATCH",
            &format!("{INCIDENTS}/{id}?sysparm_input_display_value=True"),
            &Auth::admin(),
            Some(json!({"assigned_to": d.alice, "state": "closed complete"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["result"]["assigned_to"]["value"], d.alice.as_str());
    assert_eq!(res.body["result"]["state"], "closed");

    let before = app.count("task").await;
    for (name, word) in [("Sam Same", "several"), ("Nobody Here", "no User record")] {
        let res = app
            .post(
                &with_display,
                json!({"short_description": "x", "assigned_to": name}),
            )
            .await;
        assert_refused(&res, StatusCode::BAD_REQUEST, "assigned_to");
        assert_refused(&res, StatusCode::BAD_REQUEST, word);
    }
    let res = app
        .post(
            &with_display,
            json!({"short_description": "x", "state": "Half done"}),
        )
        .await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "state");
    assert_eq!(
        app.count("task").await,
        before,
        "nothing refused was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_display_value_looks_up_only_tables_the_caller_may_read() {
    let app = TestApp::spawn_demo().await;
    // A release coordinator writes key dates but cannot read users.
    let coordinator = app
        .user("coord", &["sn_dpr_model.release_coordinator"])
        .await;
    let key_date = create(
        &app,
        "/api/now/table/sn_dpr_model_release_key_date",
        json!({"release": demo::DRAFT_RELEASE_ID, "name": "Code freeze", "type": "milestone",
               "state": "upcoming", "due_date": "2027-01-15 12:00:00"}),
    )
    .await;
    let key_date = key_date["sys_id"].as_str().unwrap().to_owned();
    let path = format!(
        "/api/now/table/sn_dpr_model_release_key_date/{key_date}?sysparm_input_display_value=true"
    );
    let res = app
        .request(
            "PATCH",
            &path,
            &coordinator,
            Some(json!({"assigned_to": "Rita Release"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    let res = app
        .request(
            "PATCH",
            &path,
            &coordinator,
            Some(json!({"assigned_to": demo::RELEASE_MANAGER_ID})),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "a sys_id needs no lookup: {}",
        res.text
    );
    let res = app
        .request(
            "PATCH",
            &path,
            &Auth::admin(),
            Some(json!({"assigned_to": "Rita Release"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(
        res.body["result"]["assigned_to"]["value"],
        demo::RELEASE_MANAGER_ID
    );
    // A write whose answer would walk into users is refused before it is
    // made; an admin's answer shows the walked field.
    let key_dates = app.count("sn_dpr_model_release_key_date").await;
    let body = json!({"release": demo::DRAFT_RELEASE_ID, "name": "Go-live", "type": "milestone",
                      "state": "upcoming", "due_date": "2027-02-01 12:00:00",
                      "assigned_to": demo::RELEASE_MANAGER_ID});
    let walked =
        "/api/now/table/sn_dpr_model_release_key_date?sysparm_fields=name,assigned_to.email";
    let res = app
        .request("POST", walked, &coordinator, Some(body.clone()))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
    assert_eq!(app.count("sn_dpr_model_release_key_date").await, key_dates);
    let created = create(&app, walked, body).await;
    assert_eq!(
        created,
        json!({"name": "Go-live", "assigned_to.email": "rita.release@example.com"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_value_pairs_filter_the_list() {
    let d = desk().await;
    let app = &d.app;
    let res = app.get(&format!("{USERS}?user_name=alice.w")).await;
    assert_eq!(column(&res, "user_name"), ["alice.w"]);
    assert_eq!(res.header("x-total-count"), Some("1"));
    let link = res.header("link").unwrap_or_default().to_owned();
    assert!(
        link.contains("user_name=alice.w"),
        "pages keep the filter: {link}"
    );

    let by = |q: &str| format!("{INCIDENTS}?{q}&sysparm_fields=short_description");
    // A reference by sys_id or by display value (as the vendor documents).
    let res = app.get(&by(&format!("assigned_to={}", d.bob))).await;
    assert_eq!(column(&res, "short_description"), ["printer jam"]);
    let res = app.get(&by("assigned_to=Bob%20Walker")).await;
    assert_eq!(column(&res, "short_description"), ["printer jam"]);
    // A choice by value or by label; a boolean in any case.
    let res = app.get(&by("state=open&active=True")).await;
    assert_eq!(column(&res, "short_description").len(), 3);
    let res = app.get(&by("state=Open")).await;
    assert_eq!(column(&res, "short_description").len(), 3);
    let res = app.get(&by("state=closed")).await;
    assert!(column(&res, "short_description").is_empty());
    // Pairs are AND-ed with each other and with sysparm_query; dot-walked too.
    let res = app
        .get(&by(
            "sysparm_query=short_descriptionLIKEj^ORshort_descriptionLIKEd&assigned_to.email=alice@desk.test",
        ))
        .await;
    assert_eq!(column(&res, "short_description"), ["disk full"]);
    // A pair naming no field is refused by its name rather than ignored
    // (an ignored filter would answer every record).
    let res = app.get(&format!("{USERS}?user_nam=alice.w")).await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "user_nam");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_walked_fields_filter_sort_and_show_through_references() {
    let d = desk().await;
    let app = &d.app;
    let list = |q: &str| format!("{INCIDENTS}?sysparm_query={q}&sysparm_fields=short_description");
    let res = app.get(&list("assigned_to.email=alice@desk.test")).await;
    assert_eq!(column(&res, "short_description"), ["disk full"]);
    let res = app
        .get(&list(
            "assigned_to.emailENDSWITH@desk.test^ORDERBYDESCassigned_to.name",
        ))
        .await;
    assert_eq!(
        column(&res, "short_description"),
        ["printer jam", "disk full"]
    );
    let res = app.get(&list("assigned_to.email!=alice@desk.test")).await;
    assert_eq!(
        sorted(column(&res, "short_description")),
        ["nobody's", "printer jam"],
        "an empty reference is not equal to anything"
    );
    let res = app.get(&list("assigned_to.nameISEMPTY")).await;
    assert_eq!(column(&res, "short_description"), ["nobody's"]);

    // Shown under their dotted names, empty when the reference is. (Where
    // empty values sort differs between the databases, so the unassigned
    // incident is sorted last by its own field.)
    let res = app
        .get(&format!(
            "{INCIDENTS}?sysparm_query=ORDERBYDESCassigned_to^ORDERBYassigned_to.user_name\
             &sysparm_fields=short_description,assigned_to.email,assigned_to.user_name"
        ))
        .await;
    let rows = results(&res);
    let mut shown: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["short_description"].as_str().unwrap().to_owned(),
                r["assigned_to.email"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    shown.sort();
    assert_eq!(
        shown,
        [
            ("disk full".to_owned(), "alice@desk.test".to_owned()),
            ("nobody's".to_owned(), "".to_owned()),
            ("printer jam".to_owned(), "bob@desk.test".to_owned()),
        ]
    );
    let res = app
        .get(&format!(
            "{INCIDENTS}?sysparm_query=assigned_toISNOTEMPTY^ORDERBYassigned_to.user_name\
             &sysparm_fields=short_description,assigned_to.email,assigned_to.user_name"
        ))
        .await;
    assert_eq!(
        column(&res, "short_description"),
        ["disk full", "printer jam"]
    );
    let rows = results(&res);
    assert_eq!(rows[1]["assigned_to.user_name"], "bob.w");
    assert_eq!(rows[1].as_object().unwrap().len(), 3, "{}", rows[1]);

    // One record, with display values.
    let id = rows[1]["sys_id"].as_str().map(str::to_owned);
    assert!(id.is_none(), "sys_id was not asked for");
    let res = app
        .get(&format!(
            "{INCIDENTS}?assigned_to={}&sysparm_fields=sys_id",
            d.alice
        ))
        .await;
    let id = column(&res, "sys_id").remove(0);
    let res = app
        .get(&format!(
            "{INCIDENTS}/{id}?sysparm_fields=number,assigned_to.name,assigned_to&sysparm_display_value=all"
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    let r = &res.body["result"];
    assert_eq!(r["assigned_to.name"]["value"], "Alice Walker", "{r}");
    assert_eq!(r["assigned_to"]["display_value"], "Alice Walker", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_walks_follow_several_references_and_hierarchies() {
    let app = TestApp::spawn_demo().await;
    let alice = user(&app, "alice.w", "Alice Walker", "alice@desk.test").await;
    let disk = incident(&app, "disk full", Some(&alice)).await;
    let printer = incident(&app, "printer jam", None).await;
    let change = create(
        &app,
        "/api/now/table/change_request",
        json!({"short_description": "a change", "assigned_to": alice}),
    )
    .await;
    let release = demo::DRAFT_RELEASE_ID;
    let related = "/api/now/table/sn_dpr_model_release_related_task";
    for task in [&disk, &printer, change["sys_id"].as_str().unwrap()] {
        create(&app, related, json!({"release": release, "task": task})).await;
    }
    // Two hops, the first into the task hierarchy's stored table.
    let res = app
        .get(&format!(
            "{related}?sysparm_query=task.assigned_to.email=alice@desk.test^ORDERBYtask.short_description\
             &sysparm_fields=task.short_description,task.sys_class_name,release.owner.user_name"
        ))
        .await;
    let rows = results(&res);
    let tasks: Vec<&str> = rows
        .iter()
        .map(|r| r["task.short_description"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["a change", "disk full"]);
    assert_eq!(rows[0]["task.sys_class_name"], "change_request");
    let owner = app
        .get(&format!(
            "/api/now/table/sn_dpr_model_release/{release}?sysparm_fields=owner.user_name"
        ))
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.text);
    let owner = owner.body["result"]["owner.user_name"].clone();
    assert!(owner.as_str().is_some_and(|o| !o.is_empty()), "{owner}");
    assert_eq!(rows[0]["release.owner.user_name"], owner);
    // The incident table answers for incidents only, walked or not.
    let res = app
        .get(&format!(
            "{INCIDENTS}?sysparm_query=assigned_to.email=alice@desk.test&sysparm_fields=short_description"
        ))
        .await;
    assert_eq!(column(&res, "short_description"), ["disk full"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_through_a_non_reference_a_secret_or_too_far_is_400_naming_it() {
    let d = desk().await;
    let app = &d.app;
    for (query, word) in [
        ("short_description.name=x", "short_description"),
        ("assigned_to.user_password=x", "user_password"),
        ("assigned_to.nosuch=x", "nosuch"),
        ("ORDERBYassigned_to.nosuch", "nosuch"),
        ("assigned_to.name.x.y.z=1", "more than 3"),
        ("assigned_to.=x", "assigned_to."),
    ] {
        let res = app
            .get(&format!("{INCIDENTS}?sysparm_query={}", encode(query)))
            .await;
        assert_refused(&res, StatusCode::BAD_REQUEST, "sysparm_query");
        assert_refused(&res, StatusCode::BAD_REQUEST, word);
    }
    for fields in [
        "assigned_to.nosuch",
        "short_description.x",
        "assigned_to.user_password",
    ] {
        let res = app
            .get(&format!("{INCIDENTS}?sysparm_fields={fields}"))
            .await;
        assert_refused(&res, StatusCode::BAD_REQUEST, "sysparm_fields");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_walking_needs_read_access_to_every_table_it_passes_through() {
    let d = desk().await;
    let app = &d.app;
    // A release user reads incidents but not users.
    let reader = app.user("reader", &["sn_dpr_model.release_user"]).await;
    let get = |path: String| {
        let reader = reader.clone();
        async move { app.request("GET", &path, &reader, None).await }
    };
    let res = get(format!("{INCIDENTS}?sysparm_fields=short_description")).await;
    assert_eq!(results(&res).len(), 3);
    let res = get(format!("{INCIDENTS}?assigned_to={}", d.bob)).await;
    assert_eq!(results(&res).len(), 1, "a sys_id walks nowhere");
    for path in [
        format!("{INCIDENTS}?sysparm_query=assigned_to.email=alice@desk.test"),
        format!("{INCIDENTS}?sysparm_query=assigned_to.emailSTARTSWITHa"),
        format!("{INCIDENTS}?sysparm_query=ORDERBYassigned_to.email"),
        format!("{INCIDENTS}?sysparm_fields=assigned_to.email"),
        format!("{INCIDENTS}?assigned_to=Alice%20Walker"),
    ] {
        let res = get(path.clone()).await;
        assert_refused(&res, StatusCode::FORBIDDEN, "sys_user");
        assert_eq!(
            res.body["error"]["message"]
                .as_str()
                .map(|m| m.contains("assigned_to")),
            Some(true),
            "{path}"
        );
    }
    let res = get(format!("{INCIDENTS}?sysparm_limit=1&sysparm_fields=sys_id")).await;
    let id = column(&res, "sys_id").remove(0);
    let res = get(format!("{INCIDENTS}/{id}?sysparm_fields=assigned_to.email")).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text);
}

/// pysnow 0.7 attaches a file through a copy of the table resource that
/// shares its parameters, so every later request of that resource carries
/// the Attachment API's `table_name`, `table_sys_id` and `file_name`. These
/// are pysnow's exact requests after an upload (its update and delete first
/// look the record up by a query): on a table without such fields the three
/// are not name-value pairs, as the vendor ignores them; any other unknown
/// name is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pysnow_s_carried_over_attachment_parameters_are_not_pairs() {
    let d = desk().await;
    let app = &d.app;
    let target = incident(app, "attached to", Some(&d.alice)).await;
    let other = incident(app, "looked up", Some(&d.alice)).await;
    let carried = format!("table_name=incident&table_sys_id={target}&file_name=pysnow.bin");
    let pysnow = |query: &str| {
        format!(
            "{INCIDENTS}?sysparm_query={}&sysparm_limit=10000&sysparm_offset=0\
             &sysparm_display_value=False&sysparm_suppress_pagination_header=False\
             &sysparm_exclude_reference_link=False&sysparm_view=&sysparm_fields=&{carried}",
            encode(query)
        )
    };

    // resource.get(query={"sys_id": ...}), and the look-up of update/delete.
    let res = app.get(&pysnow(&format!("sys_id={other}"))).await;
    assert_eq!(column(&res, "sys_id"), [other.as_str()]);
    let res = app.get(&pysnow("short_descriptionSTARTSWITHlooked")).await;
    assert_eq!(column(&res, "short_description"), ["looked up"]);
    assert_eq!(res.header("x-total-count"), Some("1"));

    // The update (PUT) and the delete carry them too.
    let one = format!(
        "{INCIDENTS}/{other}?sysparm_display_value=False&sysparm_exclude_reference_link=False\
         &sysparm_view=&sysparm_fields=&{carried}"
    );
    let res = app
        .request(
            "PUT",
            &one,
            &Auth::admin(),
            Some(json!({"state": "in_progress"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text);
    assert_eq!(res.body["result"]["state"], "in_progress");
    let res = app.request("DELETE", &one, &Auth::admin(), None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text);
    let res = app.get(&pysnow(&format!("sys_id={other}"))).await;
    assert!(results(&res).is_empty(), "{}", res.text);

    // Only those names: another unknown name is refused, and a table that
    // has such a field filters by it.
    let res = app.get(&format!("{INCIDENTS}?file_nam=pysnow.bin")).await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "file_nam");
    let file = format!("/api/now/attachment/file?{carried}");
    let res = app
        .raw("POST", &file, &Auth::admin(), Some("x"), "text/plain")
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text);
    let files = "/api/now/table/sys_attachment?sysparm_fields=file_name";
    let res = app.get(&format!("{files}&table_name=incident")).await;
    assert_eq!(column(&res, "file_name"), ["pysnow.bin"]);
    let res = app.get(&format!("{files}&table_name=no_such_table")).await;
    assert!(results(&res).is_empty(), "{}", res.text);
}
