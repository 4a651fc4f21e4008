//! Names for constraints that an Alembic file leaves unnamed.
//!
//! rev needs a name for every foreign key, unique and check constraint. An
//! unnamed one gets the name PostgreSQL gives it (`<table>_<columns>_fkey`,
//! `_key`, `_check`), so that a later `op.drop_constraint("users_email_key")`
//! written against PostgreSQL names the constraint rev created.

/// PostgreSQL's NAMEDATALEN: names hold at most 63 bytes.
const NAMEDATALEN: usize = 64;

/// Returns the longest prefix of `text` of at most `len` bytes that ends on a
/// character boundary.
fn clip(text: &str, len: usize) -> &str {
    let mut end = len.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, shortening the longer of
/// `name1` and `name2` a byte at a time until the whole fits in 63 bytes.
pub fn make_object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    let mut overhead = label.len() + 1;
    let mut name2_len = 0;
    if let Some(name2) = name2 {
        name2_len = name2.len();
        overhead += 1;
    }
    let avail = (NAMEDATALEN - 1).saturating_sub(overhead);
    let mut name1_len = name1.len();
    while name1_len + name2_len > avail {
        if name1_len > name2_len {
            name1_len -= 1;
        } else {
            name2_len -= 1;
        }
    }
    let mut out = clip(name1, name1_len).to_owned();
    if let Some(name2) = name2 {
        out.push('_');
        out.push_str(clip(name2, name2_len));
    }
    out.push('_');
    out.push_str(label);
    out
}

/// PostgreSQL's `ChooseConstraintName`: the first of `label`, `label1`,
/// `label2`, ... that `taken` does not already hold.
pub fn choose(name1: &str, columns: &[String], label: &str, taken: &[String]) -> String {
    let joined = columns.join("_");
    let name2 = (!columns.is_empty()).then_some(clip(&joined, NAMEDATALEN - 1));
    let mut pass = 0;
    loop {
        let label = if pass == 0 {
            label.to_owned()
        } else {
            format!("{label}{pass}")
        };
        let name = make_object_name(name1, name2, &label);
        if !taken.contains(&name) {
            return name;
        }
        pass += 1;
    }
}

/// SQLAlchemy's default index name for `Column(..., index=True)`: `ix_<table>_<column>`.
pub fn column_index(table: &str, column: &str) -> String {
    format!("ix_{table}_{column}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_style_names() {
        let cols = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            choose("orders", &cols(&["user_id"]), "fkey", &[]),
            "orders_user_id_fkey"
        );
        assert_eq!(choose("t", &cols(&["a", "b"]), "key", &[]), "t_a_b_key");
        assert_eq!(choose("t", &[], "check", &[]), "t_check");
        assert_eq!(
            choose("t", &[], "check", &["t_check".to_owned()]),
            "t_check1"
        );
        let long = "a".repeat(40);
        let name = choose(&long, &cols(&[&"b".repeat(40)]), "fkey", &[]);
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("{}_{}_fkey", "a".repeat(29), "b".repeat(28)));
    }
}
