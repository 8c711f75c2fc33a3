//! The loader on small definitions: strictness, error locations, naming and the rules of the
//! format that are not visible in the Gorgias definition.

use integration_spec::{Catalog, Definition, LoadError, MethodKind, ToolFilter};
use serde_json::{Value, json};

const HEAD: &str = "\
name: demo
title: Demo
description: A demo API.
connection:
  base_url: \"https://{subdomain}.demo.test\"
  subdomain: dns-label
  verify: {method: GET, path: /api/me}
  error_message_pointer: /error
  rate_limit: {usage_header: X-Used, retry_after_header: Retry-After, window_seconds: 10}
  pagination:
    cursor_param: cursor
    limit_param: limit
    next_cursor_pointer: /meta/next
    prev_cursor_pointer: /meta/prev
    default_limit: 20
    max_limit: 50
  custom_fields:
    - {resource: things, path: /api/fields}
tags:
  things: Things.
  admin: Admin.
";

const THINGS: &str = "\
resources:
  - name: thing
    plural: things
    tags: [things]
    methods:
      - method: list
        http: GET /api/things
        doc:
          description: List things.
          query:
            color: {type: string, enum: [red, blue], description: Color.}
      - method: get
        http: GET /api/things/{id}
        doc:
          description: Get a thing.
          path:
            id: {type: integer, description: The thing.}
      - method: delete
        http: DELETE /api/things/{id}
      - method: polish
        http: POST /api/things/{id}/polish
        noun: singular
        tags: [admin]
        doc:
          title: Polish a thing
          description: Polish a thing.
          path:
            id: {type: integer, description: The thing.}
          body:
            type: array
            description: Spots to polish.
            items: {type: string}
";

fn load(extra: &[(&str, &str)]) -> Result<Definition, LoadError> {
    let mut files = vec![("defs/integration.yaml", HEAD)];
    files.extend_from_slice(extra);
    Definition::from_files(&files)
}

fn error(extra: &[(&str, &str)]) -> LoadError {
    load(extra).expect_err("the definition should not load")
}

#[test]
fn a_small_definition_loads_and_only_documented_methods_become_tools() {
    let definition = load(&[("defs/things.yaml", THINGS)]).unwrap();
    let catalog = Catalog::build(&definition).unwrap();
    let names: Vec<&str> = catalog.tools().iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "list_all_demo_things",
            "get_single_demo_thing_by_id",
            "polish_demo_thing"
        ]
    );
    assert_eq!(definition.undocumented(), ["delete_a_demo_thing_by_id"]);
    assert!(
        catalog
            .summary()
            .to_string()
            .contains("delete_a_demo_thing_by_id")
    );
    let polish = catalog.tool("polish_demo_thing").unwrap();
    assert_eq!(polish.kind, MethodKind::Custom);
    assert_eq!(
        polish.tags,
        ["admin", "things"],
        "resource and method tags, sorted"
    );
    assert_eq!(catalog.tags(), ["admin", "things"]);
    assert_eq!(catalog.methods(), ["get", "list", "polish"]);
}

/// The 1-based line of the first occurrence of `needle`.
fn line_of(yaml: &str, needle: &str) -> u64 {
    let at = yaml
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the fixture"));
    yaml[..at].matches('\n').count() as u64 + 1
}

#[test]
fn unknown_keys_are_errors_with_file_and_line() {
    let yaml = THINGS.replace(
        "        noun: singular\n",
        "        noun: singular\n        colour: red\n",
    );
    let e = error(&[("defs/things.yaml", &yaml)]);
    assert_eq!(e.file(), "defs/things.yaml");
    assert_eq!(e.line(), line_of(&yaml, "colour"));
    assert_eq!(e.column(), 9);
    let expected = format!(
        "defs/things.yaml:{}:9: unknown field `colour`",
        line_of(&yaml, "colour")
    );
    assert!(e.to_string().starts_with(&expected), "{e}");

    // Inside a schema too: a misspelt keyword would otherwise reach the model silently.
    let yaml = THINGS.replace("description: Color.", "descripton: Color.");
    let e = error(&[("defs/things.yaml", &yaml)]);
    assert_eq!(e.line(), line_of(&yaml, "descripton"), "{e}");
    assert!(e.message().contains("unknown field `descripton`"), "{e}");

    // And in the integration file.
    let head = HEAD.replace(
        "  subdomain: dns-label\n",
        "  subdomain: dns-label\n  timeout: 3\n",
    );
    let e = Definition::from_files(&[("defs/integration.yaml", &head)]).unwrap_err();
    assert_eq!(
        e.to_string().split(": ").next().unwrap(),
        format!("defs/integration.yaml:{}:3", line_of(&head, "timeout"))
    );
}

#[test]
fn a_missing_integration_file_is_an_error() {
    let e = Definition::from_files(&[("x/things.yaml", THINGS)]).unwrap_err();
    assert!(e.message().contains("no integration.yaml"), "{e}");
}

#[test]
fn semantic_errors_name_file_and_line() {
    // (what, yaml, text on the line the error must point at, message fragment)
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("undeclared tag", THINGS.replace("tags: [admin]", "tags: [nope]"), "tags: [nope]", "tag `nope` is not declared"),
        (
            "name over 45 characters",
            THINGS.replace("method: polish", &format!("method: {}", "p".repeat(40))),
            "ppppp",
            "is 51 characters long; at most 45",
        ),
        (
            "duplicate standard method",
            THINGS.replace("method: delete\n        http: DELETE", "method: get\n        http: GET"),
            "method: get\n        http: GET /api/things/{id}\n      - method: polish",
            "two `get` methods",
        ),
        ("unknown $ref", THINGS.replace("items: {type: string}", "items: {$ref: spot}"), "spot", "names no shared schema"),
        ("property without description", THINGS.replace(", description: Color.", ""), "color:", "needs a `description`"),
        ("enum value of the wrong type", THINGS.replace("enum: [red, blue]", "enum: [red, 3]"), "color:", "not of type string"),
        (
            "standard method on the wrong verb",
            THINGS.replace("GET /api/things/{id}", "POST /api/things/{id}"),
            "POST /api/things/{id}\n",
            "must use GET",
        ),
        (
            "required names nothing",
            THINGS.replace("          query:\n", "          required: [size]\n          query:\n"),
            "size",
            "neither a query parameter nor a body property",
        ),
        (
            "path parameter without a schema",
            THINGS.replace("          path:\n            id: {type: integer, description: The thing.}\n      - method: delete", "      - method: delete"),
            "description: Get a thing.",
            "path parameter `id` has no schema",
        ),
    ];
    for (what, yaml, at, needle) in &cases {
        let e = error(&[("defs/things.yaml", yaml)]);
        assert_eq!(e.file(), "defs/things.yaml", "{what}: {e}");
        assert_eq!(e.line(), line_of(yaml, at), "{what}: {e}");
        assert!(e.message().contains(needle), "{what}: {e}");
    }
}

#[test]
fn tool_names_must_be_unique() {
    let twin = "\
resources:
  - name: thing_b
    plural: things
    methods:
      - method: list
        http: GET /api/other
        doc:
          description: List other things.
";
    let e = error(&[("defs/things.yaml", THINGS), ("defs/zz.yaml", twin)]);
    assert_eq!(e.file(), "defs/zz.yaml");
    assert_eq!(e.line(), 5);
    assert!(
        e.message()
            .contains("`list_all_demo_things` is also produced at defs/things.yaml:6"),
        "{e}"
    );
}

#[test]
fn shared_schemas_are_checked_for_cycles_and_rules_for_paths() {
    let cyclic = "\
schemas:
  a:
    schema: {type: object, description: A., properties: {b: {$ref: b}}}
  b:
    schema: {type: object, description: B., properties: {a: {$ref: a}}}
";
    let e = error(&[("defs/s.yaml", cyclic)]);
    assert!(e.message().contains("cycle: a -> b -> a"), "{e}");

    let bad_rule = THINGS.replace(
        "          description: List things.\n",
        "          description: List things.\n          rules:\n            - {when: {color: green}, require: {color: red}, message: x}\n",
    );
    let e = error(&[("defs/things.yaml", &bad_rule)]);
    assert_eq!(e.line(), 11, "{e}");
    assert!(
        e.message().contains("\"green\" is not a value of `color`"),
        "{e}"
    );

    let bad_rule = THINGS.replace(
        "          description: List things.\n",
        "          description: List things.\n          rules:\n            - {when: {size: 1}, require: {color: red}, message: x}\n",
    );
    let e = error(&[("defs/things.yaml", &bad_rule)]);
    assert!(e.message().contains("`size` is not an argument"), "{e}");
}

#[test]
fn array_bodies_are_wrapped_and_unwrapped() {
    let catalog = Catalog::build(&load(&[("defs/things.yaml", THINGS)]).unwrap()).unwrap();
    let polish = catalog.tool("polish_demo_thing").unwrap();
    let schema = Value::Object((*polish.input_schema).clone());
    assert_eq!(schema["properties"]["body"]["type"], "array");
    assert_eq!(schema["required"], json!(["id", "body"]));
    let planned = polish
        .plan(
            json!({"id": 3, "body": ["left", "right"]})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(planned.method, "POST");
    assert_eq!(planned.path, "/api/things/3/polish");
    assert_eq!(planned.body, Some(json!(["left", "right"])));
    let e = polish
        .plan(json!({"id": 3, "body": "left"}).as_object().unwrap())
        .unwrap_err();
    assert_eq!(e.field(), "body");
}

#[test]
fn pagination_arguments_come_from_the_connection() {
    let catalog = Catalog::build(&load(&[("defs/things.yaml", THINGS)]).unwrap()).unwrap();
    let list = catalog.tool("list_all_demo_things").unwrap();
    assert!(list.is_list());
    let limit = &list.input_schema["properties"]["limit"];
    assert_eq!(limit["maximum"], 50);
    assert!(
        list.input_schema["properties"]["next_cursor"]["description"]
            .as_str()
            .unwrap()
            .contains("meta.next_cursor, unchanged")
    );
    let planned = list
        .plan(
            json!({"color": "red", "limit": 5, "next_cursor": "b64=="})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        planned.query,
        [
            ("color".to_owned(), "red".to_owned()),
            ("limit".into(), "5".into()),
            ("cursor".into(), "b64==".into())
        ]
    );
    let e = list
        .plan(json!({"limit": 51}).as_object().unwrap())
        .unwrap_err();
    assert_eq!(e.field(), "limit");
    let filter = ToolFilter::parse(&["read".into()], &[], &catalog).unwrap();
    assert!(filter.matches(list));
}

#[test]
fn an_effect_the_annotations_do_not_admit_fails_the_catalog() {
    // Polishing with `sends` reaches outside, so the tool must say open_world.
    let marked = THINGS.replace(
        "            items: {type: string}",
        "            effect: sends\n            items: {type: string}",
    );
    let definition = load(&[("defs/things.yaml", &marked)]).unwrap();
    let e = Catalog::build(&definition).unwrap_err().to_string();
    assert!(
        e.contains("polish_demo_thing") && e.contains("sends") && e.contains("open_world: true"),
        "{e}"
    );
    let admitted = marked.replace(
        "        noun: singular\n",
        "        noun: singular\n        annotations: {open_world: true}\n",
    );
    let catalog = Catalog::build(&load(&[("defs/things.yaml", &admitted)]).unwrap()).unwrap();
    assert_eq!(
        catalog.tool("polish_demo_thing").unwrap().effects,
        ["sends"]
    );
    let e = error(&[(
        "defs/things.yaml",
        &THINGS.replace(
            "            items: {type: string}",
            "            effect: explodes\n            items: {type: string}",
        ),
    )]);
    assert!(e.message().contains("unknown effect `explodes`"), "{e}");
}

#[test]
fn tasks_are_checked_when_they_load() {
    let task = |steps: &str, result: &str| {
        format!(
            "tasks:\n  - name: inspect_demo_thing\n    title: Inspect\n    method: inspect\n    class: read\n    doc:\n      description: Inspect a thing.\n      arguments:\n        thing_id: {{type: integer, description: The thing.}}\n      required: [thing_id]\n    steps:\n{steps}    result: {result}\n"
        )
    };
    let good = task(
        "      - {id: thing, call: get_single_demo_thing_by_id, with: {id: $thing_id}}\n",
        "{$concise: thing}",
    );
    let definition = load(&[("defs/things.yaml", THINGS), ("defs/tasks.yaml", &good)]).unwrap();
    let catalog = Catalog::build(&definition).unwrap();
    let inspect = catalog.tool("inspect_demo_thing").unwrap();
    assert_eq!(inspect.kind, MethodKind::Task);
    assert!(inspect.annotations.read_only);
    for (steps, result, needle) in [
        (
            "      - {id: thing, call: nope, with: {id: $thing_id}}\n",
            "{$concise: thing}",
            "calls `nope`, which is not an API tool",
        ),
        (
            "      - {id: thing, call: get_single_demo_thing_by_id, with: {id: $other}}\n",
            "{$concise: thing}",
            "`$other` is not an argument",
        ),
        (
            "      - {id: thing, call: get_single_demo_thing_by_id, with: {id: $thing_id}}\n",
            "{$concise: later}",
            "`@later` is not an earlier step",
        ),
        (
            "      - {id: thing, call: polish_demo_thing, with: {id: $thing_id}}\n",
            "{$concise: thing}",
            "a `read` task calls a tool that writes",
        ),
        (
            "      - {id: thing, call: get_single_demo_thing_by_id, with: {id: {$fn: nope}}}\n",
            "{$concise: thing}",
            "unknown function `nope`",
        ),
    ] {
        let e = error(&[
            ("defs/things.yaml", THINGS),
            ("defs/tasks.yaml", &task(steps, result)),
        ]);
        assert!(e.message().contains(needle), "{needle}: {e}");
        assert_eq!(e.file(), "defs/tasks.yaml");
    }
}
