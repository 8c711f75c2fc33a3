//! No argument can change the shape of a planned path: every parameter stays one segment of
//! its template, whatever characters it holds, as an HTTP client will parse it.

use std::path::PathBuf;
use std::sync::OnceLock;

use integration_spec::{Catalog, Definition};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../integrations/gorgias");
        Catalog::build(&Definition::load_dir(&dir).unwrap()).unwrap()
    })
}

/// The path segments an HTTP client sends for `path`, after URL normalization.
fn segments(path: &str) -> Vec<String> {
    let url = url::Url::parse(&format!("https://acme.gorgias.com{path}")).unwrap();
    assert!(url.query().is_none() && url.fragment().is_none(), "{path}");
    url.path_segments().unwrap().map(str::to_owned).collect()
}

fn download(file_type: &str, hash: &str, name: &str) -> Result<String, String> {
    let args: Map<String, Value> =
        json!({"file_type": file_type, "domain_hash": hash, "resource_name": name})
            .as_object()
            .unwrap()
            .clone();
    catalog()
        .tool("download_gorgias_file")
        .unwrap()
        .plan(&args)
        .map(|p| p.path)
        .map_err(|e| e.to_string())
}

fn check_download(a: &str, b: &str, c: &str) {
    match download(a, b, c) {
        Ok(path) => {
            let s = segments(&path);
            assert_eq!(s.len(), 5, "{path}");
            assert_eq!(
                (s[0].as_str(), s[2].as_str()),
                ("api", "download"),
                "{path}"
            );
            for (segment, original) in [(&s[1], a), (&s[3], b), (&s[4], c)] {
                assert_eq!(
                    percent_decode_str(segment).decode_utf8().unwrap(),
                    original,
                    "{path}"
                );
            }
        }
        // Only values that cannot be a segment are refused.
        Err(e) => assert!(
            [a, b, c]
                .iter()
                .any(|v| v.is_empty() || *v == "." || *v == ".."),
            "{e}"
        ),
    }
}

#[test]
fn hostile_values_stay_inside_their_segment() {
    for value in [
        "../",
        "..",
        ".",
        "/",
        "a/b",
        "?x=1",
        "#top",
        "%2F",
        "%2e%2e",
        "..%2F..",
        "ünï©ødé 🎉",
        " ",
        "\\",
        "a;b",
        "&x",
    ] {
        check_download(value, "hash", "name.pdf");
        check_download("attachments", value, "name.pdf");
        check_download("attachments", "hash", value);
    }
    assert_eq!(
        download("attachments", "ab12", "report 1.pdf").unwrap(),
        "/api/attachments/download/ab12/report%201.pdf"
    );
    assert!(
        download("..", "x", "y")
            .unwrap_err()
            .contains("argument `file_type`")
    );
}

#[test]
fn integer_ids_refuse_strings() {
    let get = catalog().tool("get_single_gorgias_ticket_by_id").unwrap();
    for value in ["../1", "1/2", "1?x", "%2F"] {
        let args: Map<String, Value> = json!({"id": value}).as_object().unwrap().clone();
        assert_eq!(get.plan(&args).unwrap_err().field(), "id");
    }
}

proptest! {
    #[test]
    fn any_string_stays_one_segment(a in ".*", b in "[./%?#a-z]*", c in "\\PC*") {
        check_download(&a, &b, &c);
    }

    #[test]
    fn any_integer_id_is_one_segment(ticket in any::<i64>(), message in any::<i64>()) {
        let tool = catalog().tool("get_single_gorgias_message_by_id").unwrap();
        let args: Map<String, Value> = json!({"ticket_id": ticket, "id": message}).as_object().unwrap().clone();
        let path = tool.plan(&args).unwrap().path;
        prop_assert_eq!(segments(&path), vec!["api".to_owned(), "tickets".into(), ticket.to_string(), "messages".into(), message.to_string()]);
    }
}
