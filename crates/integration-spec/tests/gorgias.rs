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
