//! The policy engine's tests. The worked examples are read from
//! `docs/POLICIES.md` itself, so the document and the engine cannot drift.

use super::*;
use serde_json::{json, Value as Json};
use std::sync::Arc;
use std::time::Instant;

const POLICIES_MD: &str = include_str!("../../docs/POLICIES.md");

/// The fenced block that follows `<!-- test: {name} -->` in docs/POLICIES.md.
fn doc_block(name: &str) -> &'static str {
    let marker = format!("<!-- test: {name} -->");
    let start = POLICIES_MD
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/POLICIES.md has no {marker}"));
    let rest = &POLICIES_MD[start + marker.len()..];
    let fence = rest.find("```").expect("a fenced block after the marker");
    let body = &rest[fence..];
    let body = &body[body.find('\n').expect("a fence line") + 1..];
    &body[..body.find("\n```").expect("a closing fence") + 1]
}

fn doc_json(name: &str) -> Json {
    serde_json::from_str(doc_block(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn doc_verdict(name: &str) -> Verdict {
    serde_json::from_value(doc_json(name)).expect("a verdict")
}

fn compiled(source: &str) -> CompiledPolicy {
    compile(source).unwrap_or_else(|e| panic!("does not compile:\n{e}"))
}

fn verdict(compliant: bool, reason: &str, output: &str) -> Verdict {
    Verdict {
        compliant,
        reason: reason.to_string(),
        output: output.to_string(),
    }
}

#[test]
fn compiled_policies_can_be_shared_between_threads() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<CompiledPolicy>();
    assert_shareable::<Verdict>();
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<PolicyCache>();
}

#[test]
fn example_1_gives_the_documented_verdict() {
    let policy = compiled(doc_block("example1 policy"));
    let input = doc_json("example1 input");
    assert_eq!(evaluate(&policy, &input), doc_verdict("example1 verdict"));
}

#[test]
fn example_1_is_compliant_when_every_enhancement_is_closed_or_there_are_none() {
    let policy = compiled(doc_block("example1 policy"));
    let mut input = doc_json("example1 input");
    for e in input["enhancements"].as_array_mut().unwrap() {
        e["state"] = json!("closed");
    }
    assert_eq!(
        evaluate(&policy, &input),
        verdict(true, "All checks passed", "3 of 3 enhancements closed")
    );
    input["enhancements"] = json!([]);
    assert_eq!(
        evaluate(&policy, &input),
        verdict(true, "All checks passed", "0 of 0 enhancements closed")
    );
}

#[test]
fn example_2_gives_the_documented_verdict() {
    let policy = compiled(doc_block("example2 policy"));
    let input = doc_json("example2 input");
    assert_eq!(evaluate(&policy, &input), doc_verdict("example2 verdict"));
}

#[test]
fn example_2_is_compliant_when_tasks_are_closed_dates_on_track_and_a_target_is_set() {
    let policy = compiled(doc_block("example2 policy"));
    let mut input = doc_json("example2 input");
    input["tasks"][1]["state"] = json!("closed");
    input["key_dates"][0]["state"] = json!("archived");
    input["release"]["readiness_target"] = json!("4d5e6f7a8b9c4aa01223ddeeff001122");
    assert_eq!(
        evaluate(&policy, &input),
        verdict(
            true,
            "Ready: tasks closed, key dates on track, readiness target set",
            "0 open tasks, 0 overdue key dates"
        )
    );

    // A missed key date is overdue whatever its due date.
    input["key_dates"][1]["state"] = json!("missed");
    assert_eq!(
        evaluate(&policy, &input),
        verdict(
            false,
            "key date Go-live was due 2099-12-01 09:00:00",
            "0 open tasks, 1 overdue key dates"
        )
    );
}

#[test]
fn a_policy_that_does_not_compile_is_refused_with_the_line_and_column() {
    let source = "package tollgate.policy\n\
                  \n\
                  default compliant := false\n\
                  compliant {\n\
                  \x20 count(input.tasks) == 0\n\
                  }\n";
    let message = compile(source).unwrap_err();
    assert!(message.starts_with("--> policy.rego:4:11"), "{message}");
    assert!(message.contains("4 | compliant {"), "{message}");
    assert!(
        message.contains("error: `if` keyword is required"),
        "{message}"
    );
    // The document shows this very message.
    assert_eq!(
        doc_block("compile error").trim_end(),
        message,
        "docs/POLICIES.md"
    );
}

#[test]
fn an_unsafe_variable_is_refused_on_compile() {
    let message = compile("package tollgate.policy\ncompliant if { y == 1 }\n").unwrap_err();
    assert!(message.contains("policy.rego:2:16"), "{message}");
    assert!(message.contains("undefined variable `y`"), "{message}");
}

#[test]
fn a_policy_without_compliant_is_refused() {
    let message = compile("package tollgate.policy\nreason := \"hello\"\n").unwrap_err();
    assert!(
        message.contains("does not define a `compliant` rule"),
        "{message}"
    );
    // A rule named like it in another package does not count.
    let message = compile("package tollgate.policy\nnot_compliant := true\n").unwrap_err();
    assert!(message.contains("`compliant`"), "{message}");
}

#[test]
fn the_reserved_package_is_refused() {
    let message = compile("package tollgate_engine\ncompliant := true\n").unwrap_err();
    assert!(message.contains("reserved"), "{message}");
    let message = compile("package tollgate_engine.mine\ncompliant := true\n").unwrap_err();
    assert!(message.contains("reserved"), "{message}");
}

#[test]
fn a_call_of_an_unknown_function_is_refused_on_compile() {
    for (source, name) in [
        ("package tollgate.policy\ncompliant := regex.match(\"^a\", input.name)\n", "regex.match"),
        ("package tollgate.policy\ncompliant if cuont(input.tasks) == 0\n", "cuont"),
        (
            "package tollgate.policy\ncompliant if {\n  every t in input.tasks {\n    lower(t.state) == \"closed\"\n    http.send({})\n  }\n}\n",
            "http.send",
        ),
    ] {
        let message = compile(source).unwrap_err();
        assert!(message.starts_with("--> policy.rego:"), "{message}");
        assert!(message.contains(&format!("unknown function `{name}`")), "{message}");
    }
}

#[test]
fn builtins_and_the_policys_own_functions_are_known() {
    let policy = compiled(
        "package tollgate.policy\n\
         import rego.v1\n\
         default closed(_) := false\n\
         closed(t) if lower(t.state) == \"closed\"\n\
         lib.is_open(t) if not closed(t)\n\
         compliant if {\n\
         \x20 every t in input.tasks { closed(t) }\n\
         \x20 count([t | some t in input.tasks; lib.is_open(t)]) == 0\n\
         \x20 data.tollgate.policy.closed({\"state\": \"CLOSED\"})\n\
         \x20 print(\"checked\", count(input.tasks))\n\
         \x20 time.now_ns() > 0\n\
         }\n",
    );
    assert!(evaluate(&policy, &json!({"tasks": [{"state": "Closed"}]})).compliant);
}

#[test]
fn any_package_name_is_accepted() {
    for (source, package) in [
        (
            "package release_gates\ncompliant := true\n",
            "release_gates",
        ),
        (
            "package acme.gates.build\ncompliant := true\n",
            "acme.gates.build",
        ),
        (
            "package acme[\"gate-1.0\"]\ncompliant := true\n",
            "acme.gate-1.0",
        ),
    ] {
        let policy = compiled(source);
        assert_eq!(policy.package(), package);
        assert!(evaluate(&policy, &json!({})).compliant, "{source}");
    }
}

#[test]
fn rego_v0_syntax_is_refused() {
    let message = compile("package tollgate.policy\ncompliant { true }\n").unwrap_err();
    assert!(message.contains("policy.rego:2:"), "{message}");
}

#[test]
fn a_run_time_error_is_non_compliant_with_the_error_as_output() {
    let policy = compiled("package tollgate.policy\ncompliant := 10 / count(input.tasks) > 1\n");
    let v = evaluate(&policy, &json!({"tasks": []}));
    assert!(!v.compliant);
    assert_eq!(v.reason, REASON_EVALUATION_FAILED);
    assert!(v.output.contains("policy.rego:2:"), "{}", v.output);
    assert!(v.output.contains("divide by zero"), "{}", v.output);
    // The same policy evaluates normally on other input.
    assert_eq!(
        evaluate(&policy, &json!({"tasks": [1]})),
        verdict(true, REASON_PASSED, "")
    );
}

#[test]
fn conflicting_values_are_a_run_time_error() {
    let policy = compiled(
        "package tollgate.policy\n\
         compliant := true if input.a\n\
         compliant := false if input.b\n",
    );
    let v = evaluate(&policy, &json!({"a": true, "b": true}));
    assert!(!v.compliant);
    assert_eq!(v.reason, REASON_EVALUATION_FAILED);
    assert!(v.output.contains("conflicts"), "{}", v.output);
}

#[test]
fn an_undefined_compliant_is_non_compliant() {
    let policy = compiled("package tollgate.policy\ncompliant if input.ready == true\n");
    let v = evaluate(&policy, &json!({"ready": false}));
    assert!(!v.compliant);
    assert_eq!(v.reason, REASON_EVALUATION_FAILED);
    assert!(
        v.output.contains("`compliant` is undefined"),
        "{}",
        v.output
    );
    assert!(evaluate(&policy, &json!({"ready": true})).compliant);
}

#[test]
fn a_compliant_that_is_not_a_boolean_is_non_compliant() {
    let policy = compiled("package tollgate.policy\ncompliant := \"yes\"\n");
    let v = evaluate(&policy, &json!({}));
    assert!(!v.compliant);
    assert_eq!(v.reason, REASON_EVALUATION_FAILED);
    assert_eq!(v.output, "`compliant` must be a boolean, but it is \"yes\"");
}

#[test]
fn violations_are_joined_into_the_reason_when_no_reason_is_defined() {
    let policy = compiled(
        "package tollgate.policy\n\
         default compliant := false\n\
         compliant if count(violations) == 0\n\
         violations contains sprintf(\"%s is open\", [t]) if some t in input.open\n",
    );
    assert_eq!(
        evaluate(&policy, &json!({"open": ["CHG2", "CHG1"]})),
        verdict(false, "CHG1 is open; CHG2 is open", "")
    );
    assert_eq!(
        evaluate(&policy, &json!({"open": []})),
        verdict(true, REASON_PASSED, "")
    );
}

#[test]
fn a_defined_reason_wins_over_violations() {
    let policy = compiled(
        "package tollgate.policy\n\
         compliant := false\n\
         reason := \"blocked\"\n\
         violations contains \"one\"\n",
    );
    assert_eq!(evaluate(&policy, &json!({})), verdict(false, "blocked", ""));
}

#[test]
fn default_reasons_apply_when_there_is_no_reason_and_no_violation() {
    let passes = compiled("package tollgate.policy\ncompliant := true\n");
    assert_eq!(
        evaluate(&passes, &json!({})),
        verdict(true, "All checks passed", "")
    );
    let fails = compiled("package tollgate.policy\ncompliant := false\nviolations := set()\n");
    assert_eq!(
        evaluate(&fails, &json!({})),
        verdict(false, "Policy is not compliant", "")
    );
}

#[test]
fn output_that_is_not_a_string_is_recorded_as_json() {
    let policy = compiled(
        "package tollgate.policy\n\
         compliant := true\n\
         output := {\"open\": count(input.tasks)}\n",
    );
    assert_eq!(
        evaluate(&policy, &json!({"tasks": [1, 2]})),
        verdict(true, REASON_PASSED, "{\"open\":2}")
    );
}

#[test]
fn a_runaway_policy_is_stopped_by_the_time_limit() {
    let policy = compiled(
        "package tollgate.policy\n\
         compliant if {\n\
         \x20 n := count([1 | some a in numbers.range(1, 20000); some b in numbers.range(1, 20000)])\n\
         \x20 n > 0\n\
         }\n",
    );
    let start = Instant::now();
    let v = evaluate(&policy, &json!({}));
    let elapsed = start.elapsed();
    assert!(!v.compliant);
    assert_eq!(v.reason, REASON_EVALUATION_FAILED);
    assert!(v.output.to_lowercase().contains("time"), "{}", v.output);
    assert!(elapsed < EVALUATION_TIME_LIMIT * 5, "{elapsed:?}");
}

#[test]
fn the_cache_compiles_once_per_id_and_version() {
    let cache = PolicyCache::new(16);
    let source = doc_block("example1 policy");
    let input = doc_json("example1 input");
    for _ in 0..10 {
        let policy = cache.get_or_compile("p1", 0, source).unwrap();
        assert!(!evaluate(&policy, &input).compliant);
    }
    assert_eq!(cache.compilations(), 1);

    // Another policy compiles once too.
    cache
        .get_or_compile("p2", 0, doc_block("example2 policy"))
        .unwrap();
    cache
        .get_or_compile("p2", 0, doc_block("example2 policy"))
        .unwrap();
    assert_eq!(cache.compilations(), 2);
    assert_eq!(cache.len(), 2);

    // A new version is compiled again and replaces the old one.
    let changed = "package tollgate.policy\ncompliant := true\n";
    let policy = cache.get_or_compile("p1", 1, changed).unwrap();
    assert!(evaluate(&policy, &input).compliant);
    cache.get_or_compile("p1", 1, changed).unwrap();
    assert_eq!(cache.compilations(), 3);
    assert_eq!(cache.len(), 2);
}

#[test]
fn the_cache_remembers_compile_errors() {
    let cache = PolicyCache::new(16);
    let broken = "package tollgate.policy\ncompliant if {\n";
    let first = cache.get_or_compile("p", 3, broken).unwrap_err();
    let second = cache.get_or_compile("p", 3, broken).unwrap_err();
    assert_eq!(first, second);
    assert!(first.contains("policy.rego:"), "{first}");
    assert_eq!(cache.compilations(), 1);
}

#[test]
fn the_cache_recompiles_when_the_source_differs_under_the_same_version() {
    let cache = PolicyCache::new(16);
    let yes = "package tollgate.policy\ncompliant := true\n";
    let no = "package tollgate.policy\ncompliant := false\n";
    assert!(evaluate(&cache.get_or_compile("p", 1, yes).unwrap(), &json!({})).compliant);
    assert!(!evaluate(&cache.get_or_compile("p", 1, no).unwrap(), &json!({})).compliant);
    assert_eq!(cache.compilations(), 2);
}

#[test]
fn the_cache_is_bounded_and_drops_the_least_recently_used_policy() {
    let cache = PolicyCache::new(3);
    let source = "package tollgate.policy\ncompliant := true\n";
    for id in ["a", "b", "c"] {
        cache.get_or_compile(id, 0, source).unwrap();
    }
    cache.get_or_compile("a", 0, source).unwrap(); // "b" is now the oldest
    cache.get_or_compile("d", 0, source).unwrap();
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.compilations(), 4);
    cache.get_or_compile("a", 0, source).unwrap();
    cache.get_or_compile("c", 0, source).unwrap();
    assert_eq!(cache.compilations(), 4, "a and c stayed");
    cache.get_or_compile("b", 0, source).unwrap();
    assert_eq!(cache.compilations(), 5, "b was dropped");
    cache.remove("b");
    assert_eq!(cache.len(), 2);
}

#[test]
fn the_cache_compiles_once_when_many_threads_ask_at_once() {
    let cache = Arc::new(PolicyCache::new(16));
    let source = doc_block("example2 policy");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            std::thread::spawn(move || cache.get_or_compile("shared", 7, source).is_ok())
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap());
    }
    assert_eq!(cache.compilations(), 1);
}

#[test]
fn the_global_cache_is_one_instance() {
    assert!(std::ptr::eq(PolicyCache::global(), PolicyCache::global()));
}

#[test]
fn one_compiled_policy_evaluates_from_several_threads_at_once() {
    let policy = compiled(doc_block("example1 policy"));
    let failing = (doc_json("example1 input"), doc_verdict("example1 verdict"));
    let mut all_closed = failing.0.clone();
    for e in all_closed["enhancements"].as_array_mut().unwrap() {
        e["state"] = json!("closed");
    }
    let passing = (
        all_closed,
        verdict(true, REASON_PASSED, "3 of 3 enhancements closed"),
    );
    let cases = Arc::new([failing, passing]);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let policy = policy.clone();
            let cases = cases.clone();
            std::thread::spawn(move || {
                for n in 0..200 {
                    let (input, expected) = &cases[(n + i) % 2];
                    assert_eq!(&evaluate(&policy, input), expected);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_compiled_policy_evaluates_a_thousand_times() {
    let policy = compiled(doc_block("example2 policy"));
    let input = doc_json("example2 input");
    let expected = doc_verdict("example2 verdict");
    let start = Instant::now();
    for _ in 0..1000 {
        assert_eq!(evaluate(&policy, &input), expected);
    }
    let elapsed = start.elapsed();
    eprintln!(
        "1000 evaluations of example 2 took {elapsed:?} ({:?} each)",
        elapsed / 1000
    );
}

#[test]
fn the_builtins_docs_name_are_there_and_the_missing_ones_are_missing() {
    use regorus::unstable::BUILTINS;
    for name in [
        "count",
        "sum",
        "sprintf",
        "startswith",
        "split",
        "lower",
        "is_string",
        "to_number",
        "object.get",
        "json.marshal",
        "time.now_ns",
        "time.parse_ns",
        "time.add_date",
        "time.diff",
    ] {
        assert!(BUILTINS.contains_key(name), "{name} is missing");
    }
    for name in [
        "regex.match",
        "glob.match",
        "semver.compare",
        "net.cidr_contains",
        "uuid.rfc4122",
        "http.send",
    ] {
        assert!(!BUILTINS.contains_key(name), "{name} is there");
    }
}

#[test]
fn the_documented_input_document_has_the_documented_fields_and_works_with_the_examples() {
    let input = doc_json("input document");
    let keys = |v: &Json| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k.join(",")
    };
    assert_eq!(
        keys(&input),
        "enhancements,key_dates,phase,product,release,tasks,version"
    );
    assert_eq!(
        keys(&input["release"]),
        "name,owner,planned_end,planned_start,process_type,product,readiness_target,\
         state,sys_id,template,validates_version,version"
    );
    assert_eq!(
        keys(&input["phase"]),
        "name,order,planned_end,planned_start,state,sys_id"
    );
    assert_eq!(keys(&input["product"]), "class,name,sys_id");
    assert_eq!(keys(&input["version"]), "name,sys_id");
    assert_eq!(
        keys(&input["enhancements"][0]),
        "number,short_description,state,sys_id"
    );
    assert_eq!(
        keys(&input["tasks"][0]),
        "active,number,short_description,state,sys_id,table"
    );
    assert_eq!(
        keys(&input["key_dates"][0]),
        "due_date,name,state,sys_id,type"
    );

    let example1 = compiled(doc_block("example1 policy"));
    assert_eq!(
        evaluate(&example1, &input),
        verdict(true, REASON_PASSED, "1 of 1 enhancements closed")
    );
    // Example 2 passes on it while its code freeze (2026-08-01) is ahead.
    let example2 = compiled(doc_block("example2 policy"));
    let v = evaluate(&example2, &input);
    assert!(v.output.starts_with("0 open tasks, "), "{v:?}");
}
