//! `embed_files!("migrations")`: the `*.ron` files of `migrations/versions/`,
//! relative to the crate's `Cargo.toml`, as a `&'static [(&str, &str)]` of
//! (path under the directory, text). Each text comes in through
//! `include_str!`, so editing a file rebuilds the program; a file added or
//! removed is seen once the crate rebuilds (a `build.rs` with
//! `cargo:rerun-if-changed=migrations` makes that automatic).
//!
//! Applications use it through `rev::embed!`, which wraps the list in a
//! `rev::Embedded`. Written without syn or quote: the input is one string
//! literal, and the output is text the compiler parses.

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;

/// Returns the migration files of a directory as a static list; see the crate docs.
#[proc_macro]
pub fn embed_files(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(code) => code,
        Err(message) => error(&message),
    }
}

fn error(message: &str) -> TokenStream {
    format!("compile_error!({message:?})")
        .parse()
        .unwrap_or_default()
}

fn expand(input: TokenStream) -> Result<TokenStream, String> {
    let dir = literal_path(input)?;
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or("CARGO_MANIFEST_DIR is not set: rev::embed! runs under cargo")?;
    let versions = root.join(&dir).join("versions");
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&versions)
        .map_err(|e| format!("rev::embed!: cannot read {}: {e}", versions.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("rev::embed!: {}: {e}", versions.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // The same files the loader on disk reads: no hidden, lock or backup files.
        if name.starts_with('.') || !name.ends_with(".ron") || !path.is_file() {
            continue;
        }
        files.push((name, path));
    }
    files.sort();
    let mut code = String::from("&[");
    for (name, path) in &files {
        let shown = Path::new(&dir).join("versions").join(name);
        let absolute = path
            .to_str()
            .ok_or_else(|| format!("rev::embed!: {} is not UTF-8", path.display()))?;
        code.push_str(&format!(
            "({:?}, include_str!({:?})),",
            shown.to_string_lossy(),
            absolute
        ));
    }
    code.push(']');
    code.parse()
        .map_err(|e| format!("rev::embed!: cannot expand: {e}"))
}

/// Reads the one string literal the macro takes.
fn literal_path(input: TokenStream) -> Result<String, String> {
    let mut tokens = input.into_iter();
    let (Some(token), None) = (tokens.next(), tokens.next()) else {
        return Err("rev::embed! takes one string literal: the migrations directory".to_owned());
    };
    let text = token.to_string();
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or("rev::embed! takes one string literal, e.g. rev::embed!(\"migrations\")")?;
    if inner.contains('\\') {
        return Err("rev::embed!: write the path without escapes".to_owned());
    }
    Ok(inner.to_owned())
}
