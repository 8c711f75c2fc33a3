//! Discovery ranking measured on a query set of plain-language support tasks.

use std::path::PathBuf;

use integration_spec::{Catalog, Definition, discovery::ToolIndex};

#[derive(serde::Deserialize)]
struct Query {
    query: String,
    expect: String,
}

#[test]
fn the_expected_tool_comes_first_for_nine_queries_in_ten() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let definition = Definition::load_dir(&root.join("integrations/gorgias")).unwrap();
    let catalog = Catalog::build(&definition).unwrap();
    let text =
        std::fs::read_to_string(root.join("crates/integration-spec/tests/discovery_queries.yaml"))
            .unwrap();
    let queries: Vec<Query> = serde_saphyr::from_str(&text).unwrap();
    assert!(queries.len() >= 40, "the query set is too small");
    // What a server with every tool offers (ChatGPT's search/fetch are a group of their own).
    let index = ToolIndex::new(
        &definition,
        catalog.tools().iter().filter(|t| t.offered_with.is_none()),
    );
    let mut misses = Vec::new();
    for q in &queries {
        assert!(
            catalog.tools().iter().any(|t| t.name == q.expect),
            "{} names no tool",
            q.expect
        );
        let found: Vec<&str> = index
            .search(&q.query, 3)
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        if found.first() != Some(&q.expect.as_str()) {
            misses.push(format!(
                "{:?}: expected {}, got {:?}",
                q.query, q.expect, found
            ));
        }
    }
    let hits = queries.len() - misses.len();
    println!("discovery: {hits}/{} first", queries.len());
    assert!(
        hits * 10 >= queries.len() * 9,
        "{hits}/{} first; misses:\n{}",
        queries.len(),
        misses.join("\n")
    );
}
