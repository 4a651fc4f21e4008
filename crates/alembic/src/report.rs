//! The import report: what was written, what is left to do by hand.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::{Import, Written};

/// One revision as imported.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRevision {
    /// The revision id.
    pub id: String,
    /// The Alembic file.
    pub from: String,
    /// The rev file written.
    pub to: String,
    /// How many operations it holds (upgrade and downgrade).
    pub operations: usize,
    /// How many of them are untranslated.
    pub untranslated: usize,
}

/// One untranslated item.
#[derive(Debug, Clone, Serialize)]
pub struct ReportItem {
    /// The revision.
    pub revision: String,
    /// `file:line` in the Alembic project.
    pub origin: String,
    /// The Alembic file.
    pub file: String,
    /// The 1-based line.
    pub line: usize,
    /// `upgrade`, `downgrade` or `metadata`.
    pub direction: String,
    /// Why it was not translated.
    pub reason: String,
    /// Its Python source.
    pub source: String,
    /// The rev file holding its marker.
    pub rev_file: String,
}

/// A detail left out.
#[derive(Debug, Clone, Serialize)]
pub struct ReportNote {
    /// The revision.
    pub revision: String,
    /// `file:line` in the Alembic project.
    pub origin: String,
    /// What was left out.
    pub message: String,
}

/// What `rev import alembic` did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The alembic.ini read, or the script directory.
    pub source: String,
    /// The script directory.
    pub script_location: String,
    /// The directories the revisions came from.
    pub version_locations: Vec<String>,
    /// The rev.ron of the project written to.
    pub config: String,
    /// Whether the import created that rev.ron.
    pub created_config: bool,
    /// The version table it names.
    pub version_table: String,
    /// How many revisions were imported.
    pub revisions: usize,
    /// How many of them hold nothing to review.
    pub complete: usize,
    /// How many hold untranslated items.
    pub to_review: usize,
    /// Every revision.
    pub files: Vec<ReportRevision>,
    /// Every untranslated item.
    pub untranslated: Vec<ReportItem>,
    /// Details left out.
    pub notes: Vec<ReportNote>,
    /// Type mappings whose DDL differs from SQLAlchemy's on some dialect.
    pub type_notes: Vec<String>,
}

fn shown(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_owned()
}

impl Report {
    /// Builds the report of an import and what was written for it.
    pub fn new(import: &Import, written: &Written) -> Report {
        let mut files = Vec::new();
        let mut untranslated = Vec::new();
        let mut notes = Vec::new();
        for (r, path) in import.revisions.iter().zip(&written.files) {
            let m = &r.migration;
            let operations = m.upgrade.len() + m.downgrade.as_ref().map_or(0, Vec::len);
            files.push(ReportRevision {
                id: m.id.clone(),
                from: r.origin.clone(),
                to: shown(path),
                operations,
                untranslated: r.items.len(),
            });
            for item in &r.items {
                untranslated.push(ReportItem {
                    revision: m.id.clone(),
                    origin: format!("{}:{}", r.origin, item.line),
                    file: r.origin.clone(),
                    line: item.line,
                    direction: item.direction.to_owned(),
                    reason: item.reason.clone(),
                    source: item.source.clone(),
                    rev_file: shown(path),
                });
            }
            for note in &r.notes {
                notes.push(ReportNote {
                    revision: m.id.clone(),
                    origin: format!("{}:{}", r.origin, note.line),
                    message: note.message.clone(),
                });
            }
        }
        let to_review = import
            .revisions
            .iter()
            .filter(|r| !r.items.is_empty())
            .count();
        Report {
            source: shown(import.ini.as_deref().unwrap_or(&import.script_location)),
            script_location: shown(&import.script_location),
            version_locations: import.version_locations.iter().map(|p| shown(p)).collect(),
            config: shown(&written.config),
            created_config: written.created_config,
            version_table: written.version_table.clone(),
            revisions: import.revisions.len(),
            complete: import.revisions.len() - to_review,
            to_review,
            files,
            untranslated,
            notes,
            type_notes: import.type_notes.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    /// Returns the report as text; `verbose` lists every revision and note.
    pub fn text(&self, verbose: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Imported {} from {}: {} complete, {} to review",
            counted(self.revisions, "revision"),
            self.source,
            self.complete,
            self.to_review
        );
        if self.created_config {
            let _ = writeln!(
                out,
                "Wrote {} (version_table: \"{}\")",
                self.config, self.version_table
            );
        } else {
            let _ = writeln!(
                out,
                "Added them to the project of {} (version_table: \"{}\")",
                self.config, self.version_table
            );
        }
        if verbose {
            for f in &self.files {
                let _ = writeln!(out, "  {} {} -> {}", f.id, f.from, f.to);
            }
        }
        if !self.untranslated.is_empty() {
            let _ = writeln!(
                out,
                "\nUntranslated: {} (`rev check` fails and no dialect runs them until each is replaced by hand)",
                self.untranslated.len()
            );
            for item in &self.untranslated {
                let _ = writeln!(
                    out,
                    "  {} ({} of {}): {}",
                    item.origin, item.direction, item.revision, item.reason
                );
                for line in item.source.lines() {
                    let _ = writeln!(out, "      {line}");
                }
                let _ = writeln!(out, "    marked in {}", item.rev_file);
            }
        }
        if !self.notes.is_empty() {
            if verbose {
                let _ = writeln!(
                    out,
                    "\nLeft out (comments, Python-side defaults, dialect options):"
                );
                for note in &self.notes {
                    let _ = writeln!(out, "  {}: {}", note.origin, note.message);
                }
            } else {
                let _ = writeln!(
                    out,
                    "\n{} left out (comments, Python-side defaults, dialect options): -v lists them",
                    counted(self.notes.len(), "detail")
                );
            }
        }
        if !self.type_notes.is_empty() {
            let _ = writeln!(out, "\nTypes:");
            for note in &self.type_notes {
                let _ = writeln!(out, "  {note}");
            }
        }
        let _ = writeln!(
            out,
            "\nNext: rev check, then `rev current` against a database Alembic upgraded"
        );
        out
    }
}

fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
