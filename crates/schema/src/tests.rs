//! Fold and invert every operation against a small two-table schema.

use std::fmt::Write;

use insta::assert_snapshot;

use crate::{invert, Operation, Schema};

fn parse_ops(text: &str) -> Vec<Operation> {
    ron::Options::default()
        .with_default_extension(
            ron::extensions::Extensions::IMPLICIT_SOME
                | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
        )
        .from_str(text)
        .unwrap()
}

/// users(id, email, name) with an index; posts(id, user_id, title, score)
/// with a foreign key to users, a unique, a check and an index.
fn base() -> Schema {
    let mut schema = Schema::default();
    for op in parse_ops(
        r#"[
        CreateTable(name: "users", columns: [
            Column(name: "id", type: Integer, primary_key: true, identity: true),
            Column(name: "email", type: String(255), nullable: false, unique: true),
            Column(name: "name", type: Text, default: Str("anon")),
        ]),
        CreateIndex(name: "ix_users_name", table: "users", columns: ["name"]),
        CreateTable(name: "posts", columns: [
            Column(name: "id", type: Integer, primary_key: true),
            Column(name: "user_id", type: Integer, nullable: false),
            Column(name: "title", type: String(100)),
            Column(name: "score", type: Integer, default: Int(0)),
        ],
        foreign_keys: [ForeignKey(name: "fk_posts_user", columns: ["user_id"], ref_table: "users", ref_columns: ["id"], on_delete: Cascade)],
        uniques: [Unique(name: "uq_posts_title", columns: ["user_id", "title"])],
        checks: [Check(name: "ck_posts_score", expr: "score >= 0 AND \"score\" < 'score'")]),
        CreateIndex(name: "ix_posts_score", table: "posts", columns: ["score"], unique: true),
    ]"#,
    ) {
        schema.apply(&op).unwrap();
    }
    schema
}

/// Writes a schema as one block per table, for snapshots.
fn dump(schema: &Schema) -> String {
    let mut out = String::new();
    for (key, t) in &schema.tables {
        writeln!(out, "{key}").unwrap();
        for c in &t.columns {
            let mut flags = String::new();
            if c.primary_key {
                flags.push_str(" pk");
            }
            if c.identity {
                flags.push_str(" identity");
            }
            if !c.is_nullable() {
                flags.push_str(" not-null");
            }
            if c.unique {
                flags.push_str(" unique");
            }
            if let Some(d) = &c.default {
                write!(flags, " default={d:?}").unwrap();
            }
            writeln!(out, "  {} {:?}{flags}", c.name, c.ty).unwrap();
        }
        for i in &t.indexes {
            let u = if i.unique { " unique" } else { "" };
            writeln!(out, "  index {} ({}){u}", i.name, i.columns.join(", ")).unwrap();
        }
        for f in &t.foreign_keys {
            writeln!(
                out,
                "  fk {} ({}) -> {} ({}) {:?}",
                f.name,
                f.columns.join(", "),
                f.ref_table,
                f.ref_columns.join(", "),
                f.on_delete
            )
            .unwrap();
        }
        for u in &t.uniques {
            writeln!(out, "  unique {} ({})", u.name, u.columns.join(", ")).unwrap();
        }
        for c in &t.checks {
            writeln!(out, "  check {}: {}", c.name, c.expr).unwrap();
        }
    }
    out
}

/// Folds one operation into the base schema and returns the resulting dump.
fn fold(op: &str) -> String {
    let mut schema = base();
    for op in parse_ops(&format!("[{op}]")) {
        schema.apply(&op).unwrap();
    }
    dump(&schema)
}

/// Folds one operation that must fail and returns the message.
fn fold_err(op: &str) -> String {
    let mut schema = base();
    let ops = parse_ops(&format!("[{op}]"));
    schema.apply(&ops[0]).unwrap_err().to_string()
}

/// Inverts the operations against the base schema, checks that applying them
/// and then their inverse gives back the base schema (up to column order),
/// and returns the inverse, one operation per line.
fn inverse(ops: &str) -> String {
    let ops = parse_ops(&format!("[{ops}]"));
    let before = base();
    let inverse = invert(&ops, &before).unwrap();
    let mut round = before.clone();
    for op in ops.iter().chain(&inverse) {
        round.apply(op).unwrap();
    }
    // Re-added columns and constraints land at the end; order does not matter here.
    for t in round.tables.values_mut() {
        let original = &before.tables[&crate::TableName::new(t.schema.as_deref(), &t.name)];
        t.columns
            .sort_by_key(|c| original.columns.iter().position(|o| o.name == c.name));
    }
    let mut sorted_before = before.clone();
    for t in round
        .tables
        .values_mut()
        .chain(sorted_before.tables.values_mut())
    {
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        t.checks.sort_by(|a, b| a.name.cmp(&b.name));
        t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
    }
    assert_eq!(dump(&round), dump(&sorted_before));
    inverse
        .iter()
        .map(|op| ron::to_string(op).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn base_schema() {
    assert_snapshot!(dump(&base()), @r#"
    posts
      id Integer pk not-null
      user_id Integer not-null
      title String(100)
      score Integer default=Int(0)
      index ix_posts_score (score) unique
      fk fk_posts_user (user_id) -> users (id) Some(Cascade)
      unique uq_posts_title (user_id, title)
      check ck_posts_score: score >= 0 AND "score" < 'score'
    users
      id Integer pk identity not-null
      email String(255) not-null unique
      name Text default=Str("anon")
      index ix_users_name (name)
    "#);
}

#[test]
fn fold_create_table_in_schema() {
    let out = fold(
        r#"CreateTable(name: "tags", schema: "app", columns: [Column(name: "id", type: BigInt, primary_key: true)],
        checks: [Check(name: "ck_tags_id", expr: "id > 0")])"#,
    );
    let tags = &out[out.find("app.tags").unwrap()..];
    assert_snapshot!(tags, @r"
    app.tags
      id BigInt pk not-null
      check ck_tags_id: id > 0
    ");
}

#[test]
fn fold_drop_and_rename_table() {
    assert_snapshot!(fold(r#"DropTable(name: "posts")"#), @r#"
    users
      id Integer pk identity not-null
      email String(255) not-null unique
      name Text default=Str("anon")
      index ix_users_name (name)
    "#);
    // Foreign keys that pointed at the old name follow the table.
    assert_snapshot!(fold(r#"RenameTable(name: "users", new_name: "people")"#), @r#"
    people
      id Integer pk identity not-null
      email String(255) not-null unique
      name Text default=Str("anon")
      index ix_users_name (name)
    posts
      id Integer pk not-null
      user_id Integer not-null
      title String(100)
      score Integer default=Int(0)
      index ix_posts_score (score) unique
      fk fk_posts_user (user_id) -> people (id) Some(Cascade)
      unique uq_posts_title (user_id, title)
      check ck_posts_score: score >= 0 AND "score" < 'score'
    "#);
}

#[test]
fn fold_add_drop_alter_rename_column() {
    let users = |s: String| s.split("users\n").nth(1).unwrap().to_owned();
    assert_snapshot!(users(fold(r#"AddColumn(table: "users", column: Column(name: "age", type: SmallInt, nullable: false, default: Int(18)))"#)), @r#"
      id Integer pk identity not-null
      email String(255) not-null unique
      name Text default=Str("anon")
      age SmallInt not-null default=Int(18)
      index ix_users_name (name)
    "#);
    // Dropping a column drops the index that names it.
    assert_snapshot!(users(fold(r#"DropColumn(table: "users", name: "name")"#)), @r"
      id Integer pk identity not-null
      email String(255) not-null unique
    ");
    assert_snapshot!(users(fold(r#"AlterColumn(table: "users", name: "name", type: String(50), nullable: false, drop_default: true)"#)), @r"
      id Integer pk identity not-null
      email String(255) not-null unique
      name String(50) not-null
      index ix_users_name (name)
    ");
    assert_snapshot!(users(fold(r#"AlterColumn(table: "users", name: "email", default: Str("x@y"))"#)), @r#"
      id Integer pk identity not-null
      email String(255) not-null unique default=Str("x@y")
      name Text default=Str("anon")
      index ix_users_name (name)
    "#);
    // Renaming a referenced column follows into the foreign key that references it.
    assert_snapshot!(fold(r#"RenameColumn(table: "users", name: "id", new_name: "user_id")"#), @r#"
    posts
      id Integer pk not-null
      user_id Integer not-null
      title String(100)
      score Integer default=Int(0)
      index ix_posts_score (score) unique
      fk fk_posts_user (user_id) -> users (user_id) Some(Cascade)
      unique uq_posts_title (user_id, title)
      check ck_posts_score: score >= 0 AND "score" < 'score'
    users
      user_id Integer pk identity not-null
      email String(255) not-null unique
      name Text default=Str("anon")
      index ix_users_name (name)
    "#);
}

#[test]
fn fold_column_changes_reach_constraints() {
    let posts = |s: String| s.split("users\n").next().unwrap().to_owned();
    // The check's identifiers are renamed, its string literal is not.
    assert_snapshot!(posts(fold(r#"RenameColumn(table: "posts", name: "score", new_name: "points")"#)), @r#"
    posts
      id Integer pk not-null
      user_id Integer not-null
      title String(100)
      points Integer default=Int(0)
      index ix_posts_score (points) unique
      fk fk_posts_user (user_id) -> users (id) Some(Cascade)
      unique uq_posts_title (user_id, title)
      check ck_posts_score: points >= 0 AND "points" < 'score'
    "#);
    assert_snapshot!(posts(fold(r#"DropColumn(table: "posts", name: "user_id")"#)), @r#"
    posts
      id Integer pk not-null
      title String(100)
      score Integer default=Int(0)
      index ix_posts_score (score) unique
      check ck_posts_score: score >= 0 AND "score" < 'score'
    "#);
}

#[test]
fn fold_indexes_and_constraints() {
    let posts = |s: String| s.split("users\n").next().unwrap().to_owned();
    assert_snapshot!(posts(fold(r#"CreateIndex(name: "ix_posts_title", table: "posts", columns: ["title", "id"])"#)), @r#"
    posts
      id Integer pk not-null
      user_id Integer not-null
      title String(100)
      score Integer default=Int(0)
      index ix_posts_score (score) unique
      index ix_posts_title (title, id)
      fk fk_posts_user (user_id) -> users (id) Some(Cascade)
      unique uq_posts_title (user_id, title)
      check ck_posts_score: score >= 0 AND "score" < 'score'
    "#);
    assert_snapshot!(posts(fold(r#"DropIndex(name: "ix_posts_score", table: "posts")"#)), @r#"
    posts
      id Integer pk not-null
      user_id Integer not-null
      title String(100)
      score Integer default=Int(0)
      fk fk_posts_user (user_id) -> users (id) Some(Cascade)
      unique uq_posts_title (user_id, title)
      check ck_posts_score: score >= 0 AND "score" < 'score'
    "#);
    assert_snapshot!(posts(fold(r#"
        AddForeignKey(table: "posts", foreign_key: ForeignKey(name: "fk_posts_self", columns: ["score"], ref_table: "posts", ref_columns: ["id"])),
        AddUnique(table: "posts", unique: Unique(name: "uq_posts_score", columns: ["score"])),
        AddCheck(table: "posts", check: Check(name: "ck_posts_title", expr: "length(title) > 0")),
        DropConstraint(table: "posts", name: "uq_posts_title"),
        DropConstraint(table: "posts", name: "fk_posts_user"),
        DropConstraint(table: "posts", name: "ck_posts_score"),
        Sql("UPDATE posts SET score = 1"),
        SqlFor(sqlite: "SELECT 1"),
    "#)), @r"
    posts
      id Integer pk not-null
      user_id Integer not-null
      title String(100)
      score Integer default=Int(0)
      index ix_posts_score (score) unique
      fk fk_posts_self (score) -> posts (id) None
      unique uq_posts_score (score)
      check ck_posts_title: length(title) > 0
    ");
}

#[test]
fn fold_errors_name_what_is_wrong() {
    assert_snapshot!(fold_err(r#"DropTable(name: "nope")"#), @"table `nope` does not exist");
    assert_snapshot!(fold_err(r#"DropTable(name: "users", schema: "app")"#), @"table `app.users` does not exist");
    assert_snapshot!(fold_err(r#"CreateTable(name: "users", columns: [])"#), @"table `users` already exists");
    assert_snapshot!(fold_err(r#"RenameTable(name: "users", new_name: "posts")"#), @"table `posts` already exists");
    assert_snapshot!(fold_err(r#"AddColumn(table: "users", column: Column(name: "email", type: Text))"#), @"column `email` already exists in `users`");
    assert_snapshot!(fold_err(r#"DropColumn(table: "users", name: "age")"#), @"column `age` does not exist in `users`");
    assert_snapshot!(fold_err(r#"AlterColumn(table: "users", name: "age", nullable: true)"#), @"column `age` does not exist in `users`");
    assert_snapshot!(fold_err(r#"RenameColumn(table: "users", name: "name", new_name: "email")"#), @"column `email` already exists in `users`");
    assert_snapshot!(fold_err(r#"CreateIndex(name: "ix_users_name", table: "users", columns: ["email"])"#), @"index `ix_users_name` already exists on `users`");
    assert_snapshot!(fold_err(r#"CreateIndex(name: "ix_new", table: "posts", columns: ["nope"])"#), @"column `nope` does not exist in `posts`");
    assert_snapshot!(fold_err(r#"DropIndex(name: "ix_users_name", table: "posts")"#), @"index `ix_users_name` does not exist on `posts`");
    assert_snapshot!(fold_err(r#"AddUnique(table: "posts", unique: Unique(name: "ck_posts_score", columns: ["id"]))"#), @"constraint `ck_posts_score` already exists on `posts`");
    assert_snapshot!(fold_err(r#"AddForeignKey(table: "posts", foreign_key: ForeignKey(name: "fk", columns: ["nope"], ref_table: "users", ref_columns: ["id"]))"#), @"column `nope` does not exist in `posts`");
    assert_snapshot!(fold_err(r#"AddCheck(table: "ghost", check: Check(name: "ck", expr: "1"))"#), @"table `ghost` does not exist");
    assert_snapshot!(fold_err(r#"DropConstraint(table: "posts", name: "nope")"#), @"constraint `nope` does not exist on `posts`");
}

#[test]
fn invert_tables() {
    assert_snapshot!(inverse(r#"CreateTable(name: "tags", columns: [Column(name: "id", type: Integer)])"#), @r#"DropTable(name:"tags")"#);
    assert_snapshot!(inverse(r#"DropTable(name: "posts")"#), @r#"
    CreateTable(name:"posts",columns:[(name:"id",type:Integer,primary_key:true),(name:"user_id",type:Integer,nullable:Some(false)),(name:"title",type:String(100)),(name:"score",type:Integer,default:Some(Int(0)))],foreign_keys:[(name:"fk_posts_user",columns:["user_id"],ref_table:"users",ref_columns:["id"],on_delete:Some(Cascade))],uniques:[(name:"uq_posts_title",columns:["user_id","title"])],checks:[(name:"ck_posts_score",expr:"score >= 0 AND \"score\" < \'score\'")])
    CreateIndex(name:"ix_posts_score",table:"posts",columns:["score"],unique:true)
    "#);
    assert_snapshot!(inverse(r#"RenameTable(name: "users", new_name: "people")"#), @r#"RenameTable(name:"people",new_name:"users")"#);
}

#[test]
fn invert_columns() {
    assert_snapshot!(inverse(r#"AddColumn(table: "users", column: Column(name: "age", type: Integer))"#), @r#"DropColumn(table:"users",name:"age")"#);
    assert_snapshot!(inverse(r#"DropColumn(table: "posts", name: "user_id")"#), @r#"
    AddColumn(table:"posts",column:(name:"user_id",type:Integer,nullable:Some(false)))
    AddUnique(table:"posts",unique:(name:"uq_posts_title",columns:["user_id","title"]))
    AddForeignKey(table:"posts",foreign_key:(name:"fk_posts_user",columns:["user_id"],ref_table:"users",ref_columns:["id"],on_delete:Some(Cascade)))
    "#);
    assert_snapshot!(inverse(r#"DropColumn(table: "users", name: "name")"#), @r#"
    AddColumn(table:"users",column:(name:"name",type:Text,default:Some(Str("anon"))))
    CreateIndex(name:"ix_users_name",table:"users",columns:["name"])
    "#);
    assert_snapshot!(inverse(r#"AlterColumn(table: "users", name: "name", type: String(10), nullable: false, drop_default: true)"#), @r#"AlterColumn(table:"users",name:"name",type:Some(Text),nullable:Some(true),default:Some(Str("anon")))"#);
    // No default before: the inverse drops the one the upgrade set.
    assert_snapshot!(inverse(r#"AlterColumn(table: "users", name: "email", default: Str("x"))"#), @r#"AlterColumn(table:"users",name:"email",drop_default:true)"#);
    assert_snapshot!(inverse(r#"RenameColumn(table: "users", name: "name", new_name: "full_name")"#), @r#"RenameColumn(table:"users",name:"full_name",new_name:"name")"#);
}

#[test]
fn invert_indexes_and_constraints() {
    assert_snapshot!(inverse(r#"CreateIndex(name: "ix_t", table: "posts", columns: ["title"])"#), @r#"DropIndex(name:"ix_t",table:"posts")"#);
    assert_snapshot!(inverse(r#"DropIndex(name: "ix_posts_score", table: "posts")"#), @r#"CreateIndex(name:"ix_posts_score",table:"posts",columns:["score"],unique:true)"#);
    assert_snapshot!(inverse(r#"
        AddForeignKey(table: "posts", foreign_key: ForeignKey(name: "fk2", columns: ["score"], ref_table: "posts", ref_columns: ["id"])),
        AddUnique(table: "posts", unique: Unique(name: "uq2", columns: ["score"])),
        AddCheck(table: "posts", check: Check(name: "ck2", expr: "score < 10")),
    "#), @r#"
    DropConstraint(table:"posts",name:"ck2")
    DropConstraint(table:"posts",name:"uq2")
    DropConstraint(table:"posts",name:"fk2")
    "#);
    assert_snapshot!(inverse(r#"
        DropConstraint(table: "posts", name: "fk_posts_user"),
        DropConstraint(table: "posts", name: "uq_posts_title"),
        DropConstraint(table: "posts", name: "ck_posts_score"),
    "#), @r#"
    AddCheck(table:"posts",check:(name:"ck_posts_score",expr:"score >= 0 AND \"score\" < \'score\'"))
    AddUnique(table:"posts",unique:(name:"uq_posts_title",columns:["user_id","title"]))
    AddForeignKey(table:"posts",foreign_key:(name:"fk_posts_user",columns:["user_id"],ref_table:"users",ref_columns:["id"],on_delete:Some(Cascade)))
    "#);
}

#[test]
fn invert_folds_progressively() {
    // The second operation's inverse must see the column the first one added.
    assert_snapshot!(inverse(r#"
        AddColumn(table: "users", column: Column(name: "age", type: Integer, default: Int(1))),
        AlterColumn(table: "users", name: "age", type: BigInt, drop_default: true),
        RenameTable(name: "users", new_name: "people"),
    "#), @r#"
    RenameTable(name:"people",new_name:"users")
    AlterColumn(table:"users",name:"age",type:Some(Integer),default:Some(Int(1)))
    DropColumn(table:"users",name:"age")
    "#);
}

#[test]
fn invert_refuses_raw_sql_and_bad_ops() {
    let before = base();
    let ops = parse_ops(
        r#"[AddColumn(table: "users", column: Column(name: "x", type: Text)), Sql("DELETE FROM users")]"#,
    );
    assert_snapshot!(invert(&ops, &before).unwrap_err().to_string(), @"operation 2 (Sql) is raw SQL, which cannot be inverted; write a `downgrade` list");
    let ops = parse_ops(r#"[SqlFor(sqlite: "SELECT 1")]"#);
    assert_snapshot!(invert(&ops, &before).unwrap_err().to_string(), @"operation 1 (SqlFor) is raw SQL, which cannot be inverted; write a `downgrade` list");
    let ops = parse_ops(r#"[DropColumn(table: "users", name: "ghost")]"#);
    assert_snapshot!(invert(&ops, &before).unwrap_err().to_string(), @"operation 1 (DropColumn): column `ghost` does not exist in `users`");
}
