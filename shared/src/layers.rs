//! The folders are layers, and imports run one way between them: what `lib.rs` promises,
//! held by reading every source file's `crate::` paths.

use std::path::Path;

/// The folders each folder may import from (besides itself).
fn allowed(folder: &str) -> &'static [&'static str] {
    match folder {
        "domain" | "telemetry" => &[],
        "auth" => &["domain", "telemetry"],
        "store" => &["domain", "auth", "telemetry"],
        "edge" => &["domain", "auth", "store", "telemetry"],
        other => panic!("a folder `{other}` that lib.rs does not describe"),
    }
}

/// `crate::x` paths outside comments, as their first segment `x`.
fn imported_folders(source: &str) -> Vec<String> {
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .flat_map(|code| {
            code.match_indices("crate::")
                .map(move |(at, _)| &code[at + 7..])
        })
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn layers_import_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for folder in std::fs::read_dir(&root).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        let name = folder.file_name().unwrap().to_str().unwrap().to_owned();
        for file in std::fs::read_dir(&folder).unwrap() {
            let file = file.unwrap().path();
            let source = std::fs::read_to_string(&file).unwrap();
            checked += 1;
            for imported in imported_folders(&source) {
                if imported != name && !allowed(&name).contains(&imported.as_str()) {
                    wrong.push(format!("{} imports crate::{imported}", file.display()));
                }
            }
        }
    }
    assert!(
        checked > 30,
        "read {checked} files: is the tree where this test looks?"
    );
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reader_sees_paths_and_skips_comments() {
    let source =
        "use crate::store::keys;\n// crate::edge in a comment\nlet x = crate::App; // crate::auth";
    assert_eq!(imported_folders(source), ["store", "App"]);
}
