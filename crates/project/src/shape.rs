//! The expected shape of each nested value of rev's files, shown when a file
//! gets one wrong.
//!
//! RON's own message lists the fields of the value it was reading, but not
//! what goes in them: a user who writes `AddForeignKey(name: .., columns: ..)`
//! learns that `foreign_key` is expected, not that it holds a
//! `ForeignKey(..)`. The shape says both, in one line.

/// Returns the one-line shape of the value written as `name(..)`, or None for
/// a name that is not an operation or a constraint, column or index. A field
/// with `?` may be left out.
pub(crate) fn shape(name: &str) -> Option<&'static str> {
    Some(match name {
        "CreateTable" => "CreateTable(name, columns: [Column(..)], foreign_keys?: [ForeignKey(..)], uniques?: [Unique(..)], checks?: [Check(..)], schema?)",
        "DropTable" => "DropTable(name, schema?)",
        "RenameTable" => "RenameTable(name, new_name, schema?)",
        "AddColumn" => "AddColumn(table, column: Column(name, type, nullable?, primary_key?, identity?, unique?, default?), schema?)",
        "DropColumn" => "DropColumn(table, name, schema?)",
        "AlterColumn" => "AlterColumn(table, name, type?, nullable?, default?, drop_default?, schema?)",
        "RenameColumn" => "RenameColumn(table, name, new_name, schema?)",
        "CreateIndex" => "CreateIndex(name, table, columns: [..], unique?, schema?)",
        "DropIndex" => "DropIndex(name, table, schema?)",
        "AddForeignKey" => "AddForeignKey(table, foreign_key: ForeignKey(name, columns, ref_table, ref_columns, on_delete?), schema?)",
        "AddUnique" => "AddUnique(table, unique: Unique(name, columns), schema?)",
        "AddCheck" => "AddCheck(table, check: Check(name, expr), schema?)",
        "DropConstraint" => "DropConstraint(table, name, schema?)",
        "Sql" => "Sql(\"..\")",
        "SqlFor" => "SqlFor(mssql?, postgres?, sqlite?, mysql?)",
        "Untranslated" => "Untranslated(source, origin, reason?)",
        "Column" => "Column(name, type, nullable?, primary_key?, identity?, unique?, default?)",
        "ForeignKey" => "ForeignKey(name, columns, ref_table, ref_columns, on_delete?)",
        "Unique" => "Unique(name, columns)",
        "Check" => "Check(name, expr)",
        "Index" => "Index(name, columns, unique?)",
        _ => return None,
    })
}

/// Returns the line to add to RON's `message` about an error at 1-based
/// `line` and `col` (in characters) of `text`: the shape of the value the
/// error is in, when the innermost open parenthesis there is one of those
/// [`shape`] knows. An unknown variant's message already lists the choices,
/// so it gets none.
pub(crate) fn hint(text: &str, line: usize, col: usize, message: &str) -> Option<String> {
    if message.starts_with("Unexpected variant") {
        return None;
    }
    let offset = byte_offset(text, line, col)?;
    let name = innermost_open(text.get(..offset)?)?;
    shape(name).map(|shape| format!("expected {shape}, where `?` marks an optional field"))
}

/// Returns the byte offset of 1-based `line` and character `col` in `text`.
fn byte_offset(text: &str, line: usize, col: usize) -> Option<usize> {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n').nth(line - 2)?.0 + 1
    };
    let rest = text.get(line_start..)?;
    let within = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(rest.len(), |(at, _)| at);
    Some(line_start + within)
}

/// Returns the name written before the innermost parenthesis still open at
/// the end of `text`, or None when the innermost open delimiter is a list, a
/// map or a parenthesis without a name. Strings and comments are skipped.
fn innermost_open(text: &str) -> Option<&str> {
    // Each open delimiter, with the name before it for a parenthesis.
    let mut open: Vec<Option<&str>> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek().is_some_and(|&(_, n)| n == '/') => {
                for (_, c) in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek().is_some_and(|&(_, n)| n == '*') => {
                chars.next();
                let mut last = ' ';
                for (_, c) in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '(' => open.push(name_before(text.get(..at)?)),
            '[' | '{' => open.push(None),
            ')' | ']' | '}' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop().flatten()
}

/// Returns the identifier that ends `text`, blanks after it allowed.
fn name_before(text: &str) -> Option<&str> {
    let text = text.trim_end();
    let start = text
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphanumeric() || c == '_')
        .last()
        .map(|(at, _)| at)?;
    text.get(start..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::parse_ron;
    use crate::Migration;

    /// Returns the message of parsing `text` as `T`.
    fn error_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(text: &str) -> String {
        parse_ron::<T>(text).unwrap_err().message
    }

    #[test]
    fn a_flat_foreign_key_gets_the_nested_shape() {
        let text = "Migration(\n    id: \"a\",\n    upgrade: [\n        AddForeignKey(name: \"fk\", table: \"posts\", columns: [\"user_id\"], ref_table: \"users\"),\n    ],\n)\n";
        let message = error_of::<Migration>(text);
        assert_eq!(
            message,
            "Unexpected field named `name` in `AddForeignKey`, expected one of `table`, `foreign_key`, or `schema` instead\n  \
             expected AddForeignKey(table, foreign_key: ForeignKey(name, columns, ref_table, ref_columns, on_delete?), schema?), where `?` marks an optional field"
        );
    }

    #[test]
    fn the_innermost_value_is_the_one_shown() {
        // A missing field is reported at the closing parenthesis of its value.
        let text = r#"Migration(id: "a", upgrade: [AddForeignKey(table: "p", foreign_key: ForeignKey(name: "fk", columns: ["u"], ref_table: "users"))])"#;
        let message = error_of::<Migration>(text);
        assert!(
            message.ends_with(
                "\n  expected ForeignKey(name, columns, ref_table, ref_columns, on_delete?), where `?` marks an optional field"
            ),
            "{message}"
        );
        let text = "Migration(id: \"a\", upgrade: [\n  // a comment with ( and \"\n  CreateIndex(name: \"i(\", table: \"t\", columns: \"c\"),\n])";
        let message = error_of::<Migration>(text);
        assert!(
            message.ends_with("\n  expected CreateIndex(name, table, columns: [..], unique?, schema?), where `?` marks an optional field"),
            "{message}"
        );
        let text = "[Table(name: \"t\", columns: [Column(name: \"id\", typ: Integer)])]";
        let message = error_of::<Vec<rev_schema::Table>>(text);
        assert!(
            message.contains("\n  expected Column(name, type, "),
            "{message}"
        );
    }

    #[test]
    fn errors_outside_a_known_shape_get_no_hint() {
        for text in [
            "Migration(id: \"a\", parent: [])",
            "Migration(id: \"a\", upgrade: [Bogus(name: \"t\")])",
            "Migration(id: \"a\", upgrade: [DropTable(name: \"t\", schema: Some(1))])",
            "Migration(id: \"a\", upgrade: [AddColumn(table: \"t\", column: Column(name: \"c\", type: Strin(5)))])",
        ] {
            let message = error_of::<Migration>(text);
            assert!(!message.contains("\n  expected"), "{text}: {message}");
        }
    }

    /// Returns the backticked names RON lists after "expected" in a message.
    fn listed(message: &str) -> Vec<String> {
        let first = message.lines().next().unwrap_or("");
        let Some((_, after)) = first.split_once(", expected") else {
            return Vec::new();
        };
        after
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    /// Returns the top-level field names of a shape, without `?` and nested values.
    fn fields(shape: &str) -> Vec<String> {
        let inner = shape
            .split_once('(')
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .unwrap_or("");
        let mut fields = Vec::new();
        let (mut depth, mut current) = (0, String::new());
        for c in inner.chars() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    fields.push(std::mem::take(&mut current));
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        fields.push(current);
        fields
            .iter()
            .map(|f| {
                let f = f.trim();
                let name = f.split(':').next().unwrap_or(f);
                name.trim_end_matches('?').to_owned()
            })
            .collect()
    }

    #[test]
    fn every_operation_has_a_shape_with_the_fields_serde_reads() {
        let variants = listed(&error_of::<Migration>(
            "Migration(id: \"a\", upgrade: [Bogus()])",
        ));
        assert!(variants.len() >= 15, "{variants:?}");
        for variant in &variants {
            let shape = shape(variant).unwrap_or_else(|| panic!("no shape for {variant}"));
            if variant == "Sql" {
                continue;
            }
            let text = format!("Migration(id: \"a\", upgrade: [{variant}(zzz: 1)])");
            assert_eq!(
                listed(&error_of::<Migration>(&text)),
                fields(shape),
                "{variant}"
            );
        }
    }

    #[test]
    fn nested_shapes_have_the_fields_serde_reads() {
        let cases = [
            ("Column", "Migration(id: \"a\", upgrade: [AddColumn(table: \"t\", column: Column(zzz: 1))])"),
            ("ForeignKey", "Migration(id: \"a\", upgrade: [AddForeignKey(table: \"t\", foreign_key: ForeignKey(zzz: 1))])"),
            ("Unique", "Migration(id: \"a\", upgrade: [AddUnique(table: \"t\", unique: Unique(zzz: 1))])"),
            ("Check", "Migration(id: \"a\", upgrade: [AddCheck(table: \"t\", check: Check(zzz: 1))])"),
        ];
        for (name, text) in cases {
            let shape = shape(name).unwrap_or_default();
            assert_eq!(
                listed(&error_of::<Migration>(text)),
                fields(shape),
                "{name}"
            );
        }
        let message = error_of::<Vec<rev_schema::Table>>(
            "[Table(name: \"t\", columns: [], indexes: [Index(zzz: 1)])]",
        );
        assert_eq!(listed(&message), fields(shape("Index").unwrap_or_default()));
    }

    #[test]
    fn offsets_count_characters() {
        let text = "ab\ncé(x\n";
        assert_eq!(byte_offset(text, 1, 1), Some(0));
        assert_eq!(byte_offset(text, 2, 3), Some(6));
        assert_eq!(byte_offset(text, 2, 99), Some(text.len()));
        assert_eq!(byte_offset(text, 9, 1), None);
    }
}
