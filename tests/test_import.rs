//! `rev import alembic` against the real Alembic and SQLAlchemy (installed
//! from PyPI into target/alembic-venv by .ci/alembic-venv): Alembic builds a
//! schema, rev builds one from the imported history, and introspection must
//! find them equal; then a database Alembic upgraded halfway continues under
//! rev and goes back to Alembic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rev_schema::Schema;

use crate::common::servers::{Server, TempDb};
use crate::common::TestEnv;

/// Returns the venv's directory, or None (saying why on stderr) when it is
/// missing; with REV_REQUIRE_SERVICES=1 a missing venv fails the test.
fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("REV_ALEMBIC_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/alembic-venv"),
        PathBuf::from,
    );
    if dir.join("bin/alembic").is_file() {
        return Some(dir);
    }
    let why = format!(
        "no Alembic venv at {} (run .ci/alembic-venv)",
        dir.display()
    );
    assert!(
        std::env::var("REV_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "Alembic is required (REV_REQUIRE_SERVICES=1): {why}"
    );
    eprintln!("skipped: {why}");
    None
}

/// Runs Alembic in `project` against `url`; panics with its output on failure.
fn alembic(venv: &Path, project: &Path, url: &str, args: &[&str]) -> String {
    let out = Command::new(venv.join("bin/alembic"))
        .args(args)
        .current_dir(project)
        .env("REV_TEST_ALEMBIC_URL", url)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "alembic {args:?} failed:\n{text}");
    text
}

const ENV_PY: &str = r#"import os
from alembic import context
from sqlalchemy import create_engine

def run_migrations_online():
    engine = create_engine(os.environ["REV_TEST_ALEMBIC_URL"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()

run_migrations_online()
"#;

/// The hand-written history: a base, a branch with a label, a merge of
/// batch blocks, and plain op calls after it.
const REVISIONS: [(&str, &str); 5] = [
    (
        "1000000000a1_users_and_roles.py",
        r#""""create users and roles

Revision ID: 1000000000a1
Revises:
Create Date: 2024-01-02 03:04:05.000000

"""
from alembic import op
import sqlalchemy as sa

revision = "1000000000a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Unicode(100), server_default="anon"),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(), server_default=sa.func.now()),
        sa.Column("score", sa.Numeric(10, 2)),
        sa.Column("bio", sa.Text(), comment="about me"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_index(op.f("ix_users_name"), "users", ["name"], unique=False)
    roles = sa.table("roles", sa.column("id", sa.Integer), sa.column("name", sa.String))
    op.create_table(
        "roles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.CheckConstraint("length(name) > 0", name="ck_roles_name"),
    )
    op.bulk_insert(roles, [{"id": 1, "name": "admin"}, {"id": 2, "name": "member"}])


def downgrade():
    op.drop_table("roles")
    op.drop_index(op.f("ix_users_name"), table_name="users")
    op.drop_table("users")
"#,
    ),
    (
        "2000000000b2_posts.py",
        r#""""posts

Revision ID: 2000000000b2
Revises: 1000000000a1
Create Date: 2024-01-03 03:04:05.000000

"""
from alembic import op
import sqlalchemy as sa

revision = "2000000000b2"
down_revision = "1000000000a1"


def upgrade():
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("slot", sa.Time()),
        sa.Column("views", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("rank", sa.SmallInteger()),
        sa.Column("data", sa.LargeBinary()),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_posts_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_posts_user_title", "posts", ["user_id", "title"], unique=True)
    op.execute("UPDATE users SET score = 0 WHERE score IS NULL")


def downgrade():
    op.drop_index("ix_posts_user_title", table_name="posts")
    op.drop_table("posts")
"#,
    ),
    (
        "3000000000c3_tags.py",
        r#""""tags, on a branch of their own

Revision ID: 3000000000c3
Revises: 1000000000a1
Create Date: 2024-01-03 04:04:05.000000

"""
from alembic import op
import sqlalchemy as sa

revision = "3000000000c3"
down_revision = "1000000000a1"
branch_labels = ("tags",)


def upgrade():
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(30), nullable=False, unique=True),
    )


def downgrade():
    op.drop_table("tags")
"#,
    ),
    (
        "4000000000d4_merge.py",
        r#""""merge posts and tags

Revision ID: 4000000000d4
Revises: 3000000000c3, 2000000000b2
Create Date: 2024-01-04 03:04:05.000000

"""
from alembic import op
import sqlalchemy as sa

revision = "4000000000d4"
down_revision = ("3000000000c3", "2000000000b2")


def upgrade():
    with op.batch_alter_table("posts") as batch_op:
        batch_op.add_column(sa.Column("tag_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_posts_tag_id_tags", "tags", ["tag_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index(batch_op.f("ix_posts_tag_id"), ["tag_id"], unique=False)
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column("name", existing_type=sa.Unicode(100), type_=sa.String(150), nullable=False, server_default=None)
        batch_op.create_check_constraint("ck_users_score", "score >= 0")
        batch_op.create_unique_constraint("uq_users_name", ["name"])


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("uq_users_name", type_="unique")
        batch_op.drop_constraint("ck_users_score", type_="check")
        batch_op.alter_column("name", existing_type=sa.String(150), type_=sa.Unicode(100), nullable=True, server_default="anon")
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_tag_id"))
        batch_op.drop_constraint("fk_posts_tag_id_tags", type_="foreignkey")
        batch_op.drop_column("tag_id")
"#,
    ),
    (
        "5000000000e5_nicknames.py",
        r#""""nicknames; tags become labels

Revision ID: 5000000000e5
Revises: 4000000000d4
Create Date: 2024-01-05 03:04:05.000000

"""
import textwrap

from alembic import op
import sqlalchemy as sa

revision = "5000000000e5"
down_revision = "4000000000d4"


def upgrade():
    op.add_column("users", sa.Column("nickname", sa.String(40), nullable=True))
    op.create_index(op.f("ix_users_nickname"), "users", ["nickname"], unique=True)
    op.rename_table("tags", "labels")
    op.execute(sa.text("UPDATE users SET nickname = NULL WHERE 1 = 0"))
    print("nicknames added")
    op.add_column("users", sa.Column("release", sa.String(16), server_default=sa.literal("1.0")))
    fill = textwrap.dedent("""\
        UPDATE users SET release = '0.9'
        WHERE 1 = 0
    """)
    clear = sa.text("UPDATE users SET nickname = NULL WHERE nickname = ''")
    conn = op.get_bind()
    conn.execute(sa.text(fill))
    conn.execute(clear)


def downgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("release")
    op.rename_table("labels", "tags")
    op.drop_index(op.f("ix_users_nickname"), table_name="users")
    op.drop_column("users", "nickname")
"#,
    ),
];

/// Writes an Alembic project (alembic.ini, env.py, the revisions) into `dir`.
fn write_alembic_project(dir: &Path, revisions: &[(&str, &str)]) {
    let versions = dir.join("migrations/versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(
        dir.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/migrations\n",
    )
    .unwrap();
    std::fs::write(dir.join("migrations/env.py"), ENV_PY).unwrap();
    for (name, text) in revisions {
        std::fs::write(versions.join(name), text).unwrap();
    }
}

/// Returns the schema of a database, as rev's introspection reads it.
fn introspect(url: &str) -> Schema {
    let mut backend = rev_db::connect(url).unwrap();
    let tables = rev_db::Tables {
        schema: None,
        version: "alembic_version".to_owned(),
        history: "rev_history".to_owned(),
    };
    backend.introspect(&tables).unwrap()
}

/// Returns each table of a schema as text, for comparing two databases. On
/// SQLite, where SQLAlchemy leaves integer keys as rowid aliases (rev writes
/// AUTOINCREMENT; both generate the values) and unnamed constraints have no
/// names to read back, identity flags and foreign-key names are left out.
fn shape(schema: &Schema, sqlite: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, table) in &schema.tables {
        let mut table = table.clone();
        if sqlite {
            for c in &mut table.columns {
                c.identity = false;
            }
            for fk in &mut table.foreign_keys {
                fk.name = format!("{}->{}", fk.columns.join(","), fk.ref_table);
            }
            table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        }
        out.insert(name.to_string(), format!("{table:#?}"));
    }
    out
}

/// A database for one side of the comparison.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(TempDb),
}

impl Db {
    fn new(server: Option<Server>) -> Option<Db> {
        match server {
            None => Some(Db::Sqlite(tempfile::tempdir().unwrap())),
            Some(server) => TempDb::create(server).map(Db::Postgres),
        }
    }

    /// The URL rev takes.
    fn rev_url(&self) -> String {
        match self {
            Db::Sqlite(dir) => format!("sqlite://{}", dir.path().join("db.sqlite").display()),
            Db::Postgres(db) => db.url.clone(),
        }
    }

    /// The URL SQLAlchemy takes.
    fn sa_url(&self) -> String {
        match self {
            Db::Sqlite(dir) => format!("sqlite:///{}", dir.path().join("db.sqlite").display()),
            Db::Postgres(db) => db.url.replacen("postgres://", "postgresql+psycopg2://", 1),
        }
    }
}

/// Imports the fixture project into a new rev project and returns it.
fn imported(alembic_dir: &Path) -> TestEnv {
    let env = TestEnv::empty();
    let src = alembic_dir.to_str().unwrap();
    let run = env.rev(&["import", "alembic", src, "--into", "."]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("Imported 5 revisions")
            && run.stdout.contains("5 complete, 0 to review"),
        "{}",
        run.stdout
    );
    env
}

fn same_schema_then_continuity(server: Option<Server>) {
    let Some(venv) = venv() else {
        return;
    };
    let project = tempfile::tempdir().unwrap();
    write_alembic_project(project.path(), &REVISIONS);
    let env = imported(project.path());
    let sqlite = server.is_none();

    // Schema A: Alembic's. Schema B: rev's, from the imported history.
    let Some(a) = Db::new(server) else { return };
    let Some(b) = Db::new(server) else { return };
    alembic(&venv, project.path(), &a.sa_url(), &["upgrade", "heads"]);
    let run = env.rev(&["upgrade", "heads", "--url", &b.rev_url()]);
    assert_eq!(run.code, 0, "{}", run.all());
    let schema_a = introspect(&a.rev_url());
    let schema_b = introspect(&b.rev_url());
    assert_eq!(
        schema_a.tables.len(),
        4,
        "users, roles, posts, labels: {:?}",
        schema_a.tables.keys()
    );
    let (shape_a, shape_b) = (shape(&schema_a, sqlite), shape(&schema_b, sqlite));
    // What the merge's batch blocks and the last revision left is there.
    for (table, part) in [
        ("users", "ck_users_score"),
        ("users", "uq_users_name"),
        ("users", "ix_users_nickname"),
        ("posts", "ix_posts_tag_id"),
        ("posts", "ref_table: \"labels\""),
        ("roles", "ck_roles_name"),
    ] {
        let text = shape_a.get(table).map_or("", String::as_str);
        assert!(text.contains(part), "{table} lacks {part}: {text}");
    }
    for (table, text) in &shape_a {
        assert_eq!(Some(text), shape_b.get(table), "table {table} differs");
    }
    assert_eq!(shape_a.len(), shape_b.len());

    // Continuity: Alembic goes halfway, rev sees where it stands, goes on,
    // goes back to base, and Alembic takes over again.
    let Some(c) = Db::new(server) else { return };
    alembic(
        &venv,
        project.path(),
        &c.sa_url(),
        &["upgrade", "2000000000b2"],
    );
    let url = c.rev_url();
    let current = env.ok(&["current", "--url", &url]);
    assert!(current.contains("2000000000b2"), "{current}");
    let run = env.rev(&["upgrade", "heads", "--url", &url]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("3000000000c3") && !run.stdout.contains("1000000000a1"),
        "only the rest runs: {}",
        run.stdout
    );
    let current = env.ok(&["current", "--url", &url]);
    assert!(current.contains("5000000000e5"), "{current}");
    assert_eq!(
        shape(&introspect(&url), sqlite),
        shape_a,
        "the continued database equals Alembic's"
    );
    let heads = alembic(&venv, project.path(), &c.sa_url(), &["current"]);
    assert!(
        heads.contains("5000000000e5"),
        "Alembic reads rev's rows: {heads}"
    );
    let run = env.rev(&["downgrade", "base", "--url", &url]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(introspect(&url).tables.is_empty(), "base has no tables");
    alembic(&venv, project.path(), &c.sa_url(), &["upgrade", "heads"]);
    assert_eq!(shape(&introspect(&url), sqlite), shape_a);
}

#[test]
fn alembic_and_rev_build_the_same_schema_on_sqlite() {
    same_schema_then_continuity(None);
}

#[test]
fn alembic_and_rev_build_the_same_schema_on_postgres() {
    same_schema_then_continuity(Some(Server::Postgres));
}

const MAKO: &str = r#""""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
"#;

const MODELS_PY: &str = r#"import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    budget = mapped_column(sa.Numeric(8, 2), server_default="0")


class Member(Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(200))
    bio = mapped_column(sa.Text, nullable=True)
    active: Mapped[bool] = mapped_column(server_default=sa.true())
    joined = mapped_column(sa.Date, nullable=True)
    seen = mapped_column(sa.DateTime, server_default=sa.func.now())
    __table_args__ = (
        sa.UniqueConstraint("team_id", "email", name="uq_members_team_email"),
        sa.CheckConstraint("length(email) > 3", name="ck_members_email"),
    )
"#;

/// `alembic revision --autogenerate` from SQLAlchemy models: what Alembic
/// writes imports whole, and rev builds the schema Alembic builds.
fn autogenerated(server: Option<Server>) {
    let Some(venv) = venv() else {
        return;
    };
    let project = tempfile::tempdir().unwrap();
    write_alembic_project(project.path(), &[]);
    let dir = project.path();
    std::fs::write(dir.join("migrations/script.py.mako"), MAKO).unwrap();
    std::fs::write(dir.join("models.py"), MODELS_PY).unwrap();
    let env_py = ENV_PY
        .replace("target_metadata=None", "target_metadata=Base.metadata")
        .replace(
            "import os\n",
            "import os\nimport sys\nsys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))\nfrom models import Base\n",
        );
    std::fs::write(dir.join("migrations/env.py"), env_py).unwrap();
    let sqlite = server.is_none();
    let Some(a) = Db::new(server) else { return };
    alembic(
        &venv,
        dir,
        &a.sa_url(),
        &[
            "revision",
            "--autogenerate",
            "-m",
            "teams and members",
            "--rev-id",
            "aa00000000a1",
        ],
    );
    alembic(&venv, dir, &a.sa_url(), &["upgrade", "heads"]);
    let env = TestEnv::empty();
    let run = env.rev(&["import", "alembic", dir.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("1 complete, 0 to review"),
        "{}",
        run.stdout
    );
    let Some(b) = Db::new(server) else { return };
    env.ok(&["upgrade", "heads", "--url", &b.rev_url()]);
    let schema_a = introspect(&a.rev_url());
    assert_eq!(schema_a.tables.len(), 2);
    assert_eq!(
        shape(&schema_a, sqlite),
        shape(&introspect(&b.rev_url()), sqlite)
    );
    env.ok(&["downgrade", "base", "--url", &b.rev_url()]);
    assert!(introspect(&b.rev_url()).tables.is_empty());
}

#[test]
fn autogenerated_revisions_import_on_sqlite() {
    autogenerated(None);
}

#[test]
fn autogenerated_revisions_import_on_postgres() {
    autogenerated(Some(Server::Postgres));
}

#[test]
fn untranslatable_revisions_are_reported_and_refused() {
    let project = tempfile::tempdir().unwrap();
    let mut revisions = REVISIONS[..1].to_vec();
    revisions.push((
        "6000000000f6_data.py",
        r#""""a data migration in Python"""
from alembic import op
import sqlalchemy as sa

revision = "6000000000f6"
down_revision = "1000000000a1"


def upgrade():
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.text("SELECT id FROM users")):
        conn.execute(sa.text("UPDATE users SET score = 1 WHERE id = :id"), {"id": user_id})


def downgrade():
    pass
"#,
    ));
    write_alembic_project(project.path(), &revisions);
    let env = TestEnv::empty();
    let src = project.path().to_str().unwrap();
    let run = env.rev(&["import", "alembic", src, "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["to_review"], 1);
    let items = report["untranslated"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{report:#}");
    assert_eq!(items[0]["origin"], "versions/6000000000f6_data.py:11");
    assert_eq!(items[0]["reason"], "a loop");
    assert!(items[0]["source"]
        .as_str()
        .unwrap()
        .starts_with("for (user_id,) in conn.execute("));

    // The marker is in the file, listed for `rev check`, and refused by every dialect.
    let project = rev_project::Project::load(&env.path().join("rev.ron")).unwrap();
    let pending = rev_alembic::untranslated_items(&project);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].revision, "6000000000f6");
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("x.db").display());
    let run = env.rev(&["upgrade", "heads", "--url", &url]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr
            .contains("untranslated item (from versions/6000000000f6_data.py:11: a loop)"),
        "{}",
        run.stderr
    );
    let run = env.rev(&["upgrade", "heads", "--sql", "--dialect", "postgres"]);
    assert_eq!(run.code, 1, "{}", run.all());
    // `rev check` fails until the item is replaced by hand.
    let run = env.rev(&["check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let check: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let kinds: Vec<&str> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"untranslated"), "{check:#}");
}
