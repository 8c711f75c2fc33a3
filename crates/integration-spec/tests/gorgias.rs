//! The real Gorgias definition: it loads, and the tools it produces behave.

use std::path::PathBuf;

use integration_spec::{Catalog, Definition};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../integrations/gorgias")
}

fn catalog() -> Catalog {
    let definition = Definition::load_dir(&dir()).unwrap_or_else(|e| panic!("{e}"));
    Catalog::build(&definition).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn loads_and_summarizes() {
    let c = catalog();
    println!("{}", c.summary());
    for t in c.tools() {
        println!("{} {}", t.name, t.name.len());
    }
}

#[test]
fn dump() {
    let c = catalog();
    for name in [
        "create_a_gorgias_message",
        "list_all_gorgias_tickets",
        "bulk_update_gorgias_ticket_custom_field_values",
    ] {
        println!(
            "{}",
            serde_json::to_string_pretty(&c.tool(name).unwrap().to_json()).unwrap()
        );
    }
}
