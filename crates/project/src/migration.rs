//! One migration file: its RON shape, parsing with positions, writing, checksum.

use std::fmt::Write as _;

use rev_schema::Operation;
use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

/// A migration file's contents (DESIGN.md §2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename = "Migration", deny_unknown_fields)]
pub struct Migration {
    /// The revision's id.
    pub id: String,
    /// Parent revision ids: none for a base, two or more for a merge.
    #[serde(default)]
    pub parents: Vec<String>,
    /// What the migration does, in a few words.
    #[serde(default)]
    pub message: String,
    /// When the file was written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Labels naming the branch that starts here.
    #[serde(default)]
    pub branch_labels: Vec<String>,
    /// Revisions (ids, prefixes or labels) applied first without being parents.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// False for statements that must run outside a transaction.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub transactional: bool,
    /// The revisions this one squashes (`rev squash`), oldest first: a linear
    /// run whose operations it holds. While their files exist, a database is
    /// upgraded through either the run or this revision, never both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// The operations that apply the revision.
    #[serde(default)]
    pub upgrade: Vec<Operation>,
    /// The operations that un-apply it; derived from `upgrade` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade: Option<Vec<Operation>>,
    /// The conflicts between the branches a merge joins that its author
    /// accepted (`rev merge --allow-conflicts`), so `rev check` stops repeating
    /// them. Not part of the checksum: it says nothing about what runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged: Vec<Acknowledged>,
}

/// One conflict a merge's author accepted: the object, the kind of conflict,
/// and the two revisions whose operations clash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename = "Acknowledged", deny_unknown_fields)]
pub struct Acknowledged {
    /// The object, as the conflict report names it (`column users.name`).
    pub object: String,
    /// The conflict's kind (`both_change`, `renamed_but_used`, ...).
    pub kind: String,
    /// The revision on one side.
    pub left: String,
    /// The revision on the other side.
    pub right: String,
}

/// A RON syntax or shape error at a position in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What RON or serde said, and on a second line the shape of the
    /// operation, column or constraint the error is in, when it is one.
    pub message: String,
}

/// Returns RON options with `implicit_some` on, as every rev file is read,
/// and `unwrap_variant_newtypes`, so that `SqlFor(mssql: "..")` reads as
/// DESIGN.md §2 writes it.
pub(crate) fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
}

/// Parses a RON document of rev (a migration, a config, models), reporting the
/// position of the first error.
pub(crate) fn parse_ron<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ParseFailure> {
    // A UTF-8 byte-order mark is what some Windows editors put first; it is not RON.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Most files are in the plain form rev writes; the fast reader takes those
    // and leaves everything else, errors included, to RON.
    if let Some(value) = crate::fast::from_str(text) {
        return Ok(value);
    }
    ron_options().from_str(text).map_err(|e| {
        let line = e.span.start.line.max(1);
        let col = e.span.start.col.max(1);
        let mut message = e.code.to_string();
        if let Some(hint) = crate::shape::hint(text, line, col, &message) {
            message.push_str("\n  ");
            message.push_str(&hint);
        }
        ParseFailure {
            line,
            col: skip_blanks(text, line, col),
            message,
        }
    })
}

/// Returns the column of the first non-blank character at or after `col` on
/// `line`, or `col` when only blanks follow: RON reports a value of the wrong
/// type at the blank after the field's colon, and an editor should land on the value.
fn skip_blanks(text: &str, line: usize, col: usize) -> usize {
    let Some(row) = text.lines().nth(line - 1) else {
        return col;
    };
    let mut rest = row.chars().skip(col - 1).peekable();
    let mut blanks = 0;
    while rest.next_if(|c| *c == ' ' || *c == '\t').is_some() {
        blanks += 1;
    }
    if rest.peek().is_some() {
        col + blanks
    } else {
        col
    }
}

impl Migration {
    /// Parses a migration file's text.
    pub fn parse(text: &str) -> Result<Migration, ParseFailure> {
        parse_ron(text)
    }

    /// Writes the migration as a file's text that [`Migration::parse`] reads back
    /// to the same value.
    pub fn to_ron(&self) -> Result<String, ron::Error> {
        let pretty = ron::ser::PrettyConfig::new()
            .struct_names(true)
            .depth_limit(4)
            .indentor("    ")
            .separate_tuple_members(false);
        let body = ron_options().to_string_pretty(self, pretty)?;
        let mut text = String::new();
        let _ = writeln!(text, "// {}", self.message.lines().next().unwrap_or(""));
        text.push_str(&body);
        text.push('\n');
        Ok(text)
    }

    /// Returns the checksum of what the migration does: its operations and
    /// whether it is transactional, in a canonical form, so comments, layout,
    /// line endings and the message do not count. A squash's `replaces`
    /// counts too (it decides what a database that ran the old files is taken
    /// to hold); a file without it has the checksum it always had.
    pub fn checksum(&self) -> String {
        let canonical = if self.replaces.is_empty() {
            ron::to_string(&(&self.upgrade, &self.downgrade, self.transactional))
        } else {
            ron::to_string(&(
                &self.upgrade,
                &self.downgrade,
                self.transactional,
                &self.replaces,
            ))
        }
        .unwrap_or_default();
        let digest = Sha256::digest(canonical.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }
}

/// Returns a migration file's text with the value of its `parents` field
/// replaced by `parents` (one line, `["a", "b"]`), every other byte (comments,
/// layout, the other fields) as it was. Returns None when the file has no
/// top-level `parents` field. The field is found by a scan that knows RON's
/// strings and comments, never by searching the text for the word.
pub fn replace_parents(text: &str, parents: &[String]) -> Option<String> {
    let span = crate::fast::field_value_span(text, "parents")?;
    let quoted: Vec<String> = parents.iter().map(|p| format!("{p:?}")).collect();
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(text.get(..span.start)?);
    out.push('[');
    out.push_str(&quoted.join(", "));
    out.push(']');
    out.push_str(text.get(span.end..)?);
    Some(out)
}

/// Returns the file-name slug of a message: lower-cased, runs of
/// non-alphanumerics turned into `_`, cut at 40 characters.
pub fn slug(message: &str) -> String {
    let mut slug = String::new();
    let mut gap = false;
    for ch in message.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('_');
            }
            gap = false;
            slug.push(ch);
        } else {
            gap = true;
        }
        if slug.len() >= 40 {
            break;
        }
    }
    slug.truncate(40);
    slug
}

/// Returns a new revision id: 12 lowercase hex digits of a v4 UUID.
pub fn new_revision_id() -> String {
    let mut id = uuid::Uuid::new_v4().simple().to_string();
    id.truncate(12);
    id
}

/// Returns the current UTC time as RFC 3339, to the second.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Converts days since 1970-01-01 to a (year, month, day) in the proleptic
/// Gregorian calendar (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Returns the 1-based line and column where `needle` first occurs in `text`
/// after `after` (a byte offset), or (1, 1) when it does not.
pub(crate) fn locate(text: &str, needle: &str, after: usize) -> (usize, usize) {
    let found = text
        .get(after..)
        .and_then(|rest| rest.find(needle))
        .map(|at| at + after);
    match found {
        Some(at) => {
            let before = text.get(..at).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, col)
        }
        None => (1, 1),
    }
}

/// Returns `text` with comments and the insides of strings (plain and raw)
/// and character literals blanked out byte for byte (a string keeps its
/// opening quote), so that searching it finds only code, at the same byte
/// offsets as in `text`.
fn code_only(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut at = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in out.iter_mut().take(to).skip(from) {
            *b = b' ';
        }
    };
    while let Some(&b) = bytes.get(at) {
        match (b, bytes.get(at + 1)) {
            (b'/', Some(b'/')) => {
                let end = bytes
                    .iter()
                    .skip(at)
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |n| at + n);
                blank(&mut out, at, end);
                at = end;
            }
            (b'/', Some(b'*')) => {
                let end = text
                    .get(at + 2..)
                    .and_then(|rest| rest.find("*/"))
                    .map_or(bytes.len(), |n| at + 2 + n + 2);
                blank(&mut out, at, end);
                at = end;
            }
            (b'r', Some(b'"' | b'#'))
                if !at
                    .checked_sub(1)
                    .and_then(|p| bytes.get(p))
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_') =>
            {
                // A raw string, `r"…"` or `r#"…"#`: it ends at a quote
                // followed by as many `#` as it opened with.
                let hashes = bytes
                    .iter()
                    .skip(at + 1)
                    .take_while(|&&c| c == b'#')
                    .count();
                let open = at + 1 + hashes;
                if bytes.get(open) != Some(&b'"') {
                    // `r#ident`, a raw identifier: code.
                    at += 1;
                    continue;
                }
                let closing = format!("\"{}", "#".repeat(hashes));
                let end = text
                    .get(open + 1..)
                    .and_then(|rest| rest.find(&closing))
                    .map_or(bytes.len(), |n| open + 1 + n + closing.len());
                blank(&mut out, open + 1, end);
                at = end;
            }
            (b'\'', _) => {
                // A character literal such as `'"'` or `'\''`.
                let mut end = at + 1;
                if bytes.get(end) == Some(&b'\\') {
                    end += 1;
                }
                end += 1;
                while bytes.get(end).is_some_and(|&c| c & 0xC0 == 0x80) {
                    end += 1;
                }
                if bytes.get(end) == Some(&b'\'') {
                    blank(&mut out, at + 1, end);
                    at = end + 1;
                } else {
                    at += 1;
                }
            }
            (b'"', _) => {
                let mut end = at + 1;
                while let Some(&c) = bytes.get(end) {
                    end += 1;
                    match c {
                        b'\\' => end += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
                let end = end.min(bytes.len());
                blank(&mut out, at + 1, end);
                at = end;
            }
            _ => at += 1,
        }
    }
    out
}

/// Returns the 1-based line and column of the field `field`'s key in
/// `text`, or of the string `"value"` inside that field when `value` is not
/// empty. Comments, strings (raw ones too) and character literals are
/// skipped, and only the migration's own fields count, not an operation's,
/// so a field name in a comment, in SQL text or deeper in the file never gets
/// the blame. Falls back to (1, 1) when neither is found.
pub(crate) fn locate_field(text: &str, field: &str, value: &str) -> (usize, usize) {
    let code = code_only(text);
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // Nesting depth before each byte: the migration's own fields are at
    // depth 1, inside `Migration(`; a field of an operation is deeper.
    let mut depth = Vec::with_capacity(code.len());
    let mut level = 0usize;
    for &b in &code {
        depth.push(level);
        match b {
            b'(' | b'[' | b'{' => level += 1,
            b')' | b']' | b'}' => level = level.saturating_sub(1),
            _ => {}
        }
    }
    let key = code
        .windows(field.len().max(1))
        .enumerate()
        .find_map(|(at, window)| {
            let before_ok = at == 0 || code.get(at - 1).is_some_and(|&b| !is_ident(b));
            let after = code.get(at + field.len()..).unwrap_or_default();
            let colon = after.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b':');
            let top = depth.get(at) == Some(&1);
            (window == field.as_bytes() && before_ok && colon && top).then_some(at)
        });
    let Some(key) = key else {
        return (1, 1);
    };
    let at = if value.is_empty() {
        key
    } else {
        let needle = format!("\"{value}\"");
        let mut found = None;
        let mut from = key;
        while let Some(n) = text.get(from..).and_then(|rest| rest.find(&needle)) {
            // Only a string that starts in code is the value, not one in a comment.
            if code.get(from + n) == Some(&b'"') {
                found = Some(from + n);
                break;
            }
            from += n + 1;
        }
        found.unwrap_or(key)
    };
    position(text, at)
}

/// Returns the 1-based line and column of a byte offset.
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_folds_punctuation_and_cuts_at_40() {
        assert_eq!(slug("Add users table!"), "add_users_table");
        assert_eq!(slug("  --x--y  "), "x_y");
        assert_eq!(slug(&"ab ".repeat(30)).len(), 40);
        assert_eq!(slug("Ünïcode café"), "n_code_caf");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn new_ids_are_twelve_hex() {
        let id = new_revision_id();
        assert_eq!(id.len(), 12);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn replace_parents_keeps_comments_and_layout() {
        let text = "// keep me\nMigration(\n    id: \"b\", // parents: here\n    parents: [\n        \"a\", // old\n    ],\n    message: \"parents\",\n)\n";
        let new = replace_parents(text, &["z9".to_owned()]).unwrap();
        assert_eq!(
            new,
            "// keep me\nMigration(\n    id: \"b\", // parents: here\n    parents: [\"z9\"],\n    message: \"parents\",\n)\n"
        );
        let m = Migration::parse(&new).unwrap();
        assert_eq!(m.parents, ["z9"]);
        assert_eq!(m.message, "parents");
        assert_eq!(replace_parents("Migration(id: \"a\")", &[]), None);
    }

    #[test]
    fn locate_finds_line_and_column() {
        let text = "a\n  bc \"x\"\n";
        assert_eq!(locate(text, "\"x\"", 0), (2, 6));
        assert_eq!(locate(text, "zz", 0), (1, 1));
    }

    #[test]
    fn locate_field_skips_comments_and_strings() {
        let text = "// parents: [\"x\"] moved\nMigration(\n    message: \"parents: \\\"x\\\"\",\n    /* parents: [\"x\"] */ parents: [\"y\", \"x\"],\n)\n";
        assert_eq!(locate_field(text, "parents", "x"), (4, 41));
        assert_eq!(locate_field(text, "parents", ""), (4, 26));
        assert_eq!(locate_field(text, "depends_on", "x"), (1, 1));
    }

    #[test]
    fn locate_field_skips_raw_strings_chars_and_nested_fields() {
        let text = concat!(
            "Migration(\n",
            "    upgrade: [Sql(r#\"SELECT '\"parents\": [\"x\"]'\"#), Custom(parents: [\"x\"])],\n",
            "    message: 'p',\n",
            "    parents: [\"x\"],\n",
            ")\n",
        );
        assert_eq!(locate_field(text, "parents", "x"), (4, 15));
        assert_eq!(locate_field(text, "parents", ""), (4, 5));
    }
}
