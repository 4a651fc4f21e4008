//! Every RON example in the documentation is loaded with rev's own reader, so
//! that the docs cannot drift from the file format.
//!
//! The convention: each fenced block opened with ```` ```ron ```` in
//! `docs/*.md` and in `README.md` is checked, with no exceptions (show a
//! wrong example in a ```` ```text ```` block). What a block is follows from
//! its first token after any `//` comment lines:
//!
//! - `Migration(` — a migration file, read as `migrations/versions/*.ron` is;
//! - `Config(` — a `rev.ron`, loaded as a project's configuration;
//! - `[` — a models file (a list of `Table(..)`), loaded as `models/*.ron` is,
//!   which also checks that its foreign keys reference declared tables;
//! - anything else — one or more operations (`CreateTable(..)`, `Sql(..)`, ...),
//!   wrapped into the `upgrade` list of a migration and read as one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::fs;
use std::path::{Path, PathBuf};

use rev_project::{load_models, Migration, Project};

/// A fenced RON block: where it is and what it says.
struct Example {
    file: PathBuf,
    line: usize,
    text: String,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Returns the documentation files: every `docs/*.md`, then `README.md`.
fn documents() -> Vec<PathBuf> {
    let root = repository();
    let mut files: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("docs/ is readable").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    files.push(root.join("README.md"));
    files
}

/// Returns the ```ron blocks of a Markdown text, with the line each starts on.
fn ron_blocks(file: &Path, text: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let fence = line.trim();
        match &mut open {
            None if fence == "```ron" => open = Some((index + 2, String::new())),
            None => {}
            Some(_) if fence.starts_with("```") => {
                if let Some((line, text)) = open.take() {
                    examples.push(Example {
                        file: file.to_owned(),
                        line,
                        text,
                    });
                }
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    assert!(
        open.is_none(),
        "{}: a ```ron block is never closed",
        file.display()
    );
    examples
}

/// Returns the example's text after its leading comment and blank lines.
fn first_token(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with("//"))
        .unwrap_or("")
}

/// Loads one example as what it is; returns the reader's error.
fn check(example: &Example) -> Result<(), String> {
    let first = first_token(&example.text);
    if first.starts_with("Migration(") {
        return Migration::parse(&example.text)
            .map(|_| ())
            .map_err(|f| format!("{}:{}: {}", f.line, f.col, f.message));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    if first.starts_with("Config(") {
        let path = dir.path().join("rev.ron");
        fs::write(&path, &example.text).map_err(|e| e.to_string())?;
        return Project::load(&path).map(|_| ()).map_err(|e| e.to_string());
    }
    if first.starts_with('[') {
        fs::write(dir.path().join("models.ron"), &example.text).map_err(|e| e.to_string())?;
        return load_models(dir.path())
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    let wrapped = format!(
        "Migration(id: \"docs_example\", upgrade: [\n{}\n])\n",
        example.text
    );
    Migration::parse(&wrapped)
        .map(|m| assert!(!m.upgrade.is_empty(), "no operation in the block"))
        .map_err(|f| format!("{}:{} (wrapped): {}", f.line, f.col, f.message))
}

#[test]
fn every_ron_example_in_the_docs_loads() {
    let mut examples = Vec::new();
    for file in documents() {
        let text = fs::read_to_string(&file).expect("the document is readable");
        examples.extend(ron_blocks(&file, &text));
    }
    // A moved docs/ folder or a renamed fence must not turn this into a no-op.
    assert!(
        examples.len() >= 20,
        "only {} RON examples found",
        examples.len()
    );
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|example| {
            check(example).err().map(|error| {
                format!(
                    "{}:{}: the example does not load: {error}",
                    example.file.display(),
                    example.line
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_broken_example_is_caught() {
    let markdown = "text\n```ron\nAddForeignKey(name: \"fk\", table: \"posts\")\n```\n";
    let examples = ron_blocks(Path::new("x.md"), markdown);
    assert_eq!(examples.len(), 1);
    let error = examples.first().map(check).and_then(Result::err);
    let error = error.expect("a flat AddForeignKey does not parse");
    assert!(
        error.contains("expected AddForeignKey(table, foreign_key: ForeignKey("),
        "{error}"
    );
    let kinds = "```ron\n[Table(name: \"t\", columns: [], foreign_keys: [ForeignKey(name: \"f\", columns: [], ref_table: \"nowhere\", ref_columns: [])])]\n```\n```ron\nConfig(url: 5)\n```\n";
    for example in ron_blocks(Path::new("x.md"), kinds) {
        assert!(check(&example).is_err(), "{}", example.text);
    }
}
