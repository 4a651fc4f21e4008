//! Live benchmarks of the `rev` binary against real databases: round trips
//! counted through the harness's proxy, 1,000 migrations over a slow
//! network, and fleets of many databases (DESIGN.md §9). Each figure is
//! taken for every binary given, in one run, so that they compare.
//!
//! The servers are the local PostgreSQL and MariaDB (`psql` and `mysql`
//! create and drop the databases); SQLite databases are files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::proxy::Proxy;
use crate::{generate, write_project, Shape};

/// A backend the live benchmarks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Files.
    Sqlite,
    /// The local PostgreSQL server, 127.0.0.1:5432, user postgres.
    Postgres,
    /// The local MariaDB server, 127.0.0.1:3306, user root.
    Mariadb,
}

impl Backend {
    /// Returns the backend a name (`sqlite`, `postgres`, `mariadb`) stands for.
    pub fn parse(name: &str) -> Option<Backend> {
        match name {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" => Some(Backend::Postgres),
            "mariadb" | "mysql" => Some(Backend::Mariadb),
            _ => None,
        }
    }

    /// Returns the backend's name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mariadb => "mariadb",
        }
    }

    fn server(self) -> &'static str {
        match self {
            Backend::Postgres => "127.0.0.1:5432",
            _ => "127.0.0.1:3306",
        }
    }

    /// Returns the URL of database `name` at `addr`, in plain text (so that
    /// the proxy counts the protocol, not TLS) and, for MariaDB, over TCP
    /// (the driver otherwise moves to the server's Unix socket).
    fn url(self, addr: &str, name: &str) -> String {
        match self {
            Backend::Sqlite => format!("sqlite://{name}.db"),
            Backend::Postgres => format!("postgres://postgres@{addr}/{name}?sslmode=disable"),
            Backend::Mariadb => {
                format!("mysql://root@{addr}/{name}?ssl-mode=disabled&prefer_socket=false")
            }
        }
    }

    /// Runs statements on the server's admin database through its
    /// command-line client, each on its own (PostgreSQL refuses CREATE and
    /// DROP DATABASE inside a transaction, which psql makes of one `-c`).
    fn admin(self, statements: &[String]) -> Result<(), String> {
        let mut command = match self {
            Backend::Sqlite => return Ok(()),
            Backend::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-q"])
                    .args(["-v", "ON_ERROR_STOP=1"]);
                for sql in statements {
                    c.args(["-c", sql]);
                }
                c
            }
            Backend::Mariadb => {
                let mut c = Command::new("mysql");
                c.args(["-h", "127.0.0.1", "-u", "root", "-e", &statements.join(";")]);
                c
            }
        };
        let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{command:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    fn create(self, names: &[String]) -> Result<(), String> {
        for chunk in names.chunks(100) {
            let statements: Vec<String> = chunk
                .iter()
                .map(|name| format!("CREATE DATABASE {name}"))
                .collect();
            self.admin(&statements)?;
        }
        Ok(())
    }

    fn drop_all(self, names: &[String]) -> Result<(), String> {
        for chunk in names.chunks(100) {
            let statements: Vec<String> = chunk
                .iter()
                .map(|name| match self {
                    Backend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    _ => format!("DROP DATABASE IF EXISTS {name}"),
                })
                .collect();
            self.admin(&statements)?;
        }
        Ok(())
    }
}

/// Numbers the scratch directories and databases of one process.
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Returns a fresh directory under the system's temporary one.
fn scratch(label: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "rev-bench-{label}-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Writes a linear project of `migrations` one-table migrations into a fresh directory.
fn project(label: &str, migrations: usize) -> Result<PathBuf, String> {
    let dir = scratch(label)?;
    write_project(&dir, &generate(Shape::Linear, migrations, 42))?;
    Ok(dir)
}

/// Runs `rev` in `dir` with `args`; returns how long it took.
fn rev(binary: &Path, dir: &Path, args: &[&str]) -> Result<Duration, String> {
    let started = Instant::now();
    let out = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let took = started.elapsed();
    if out.status.success() {
        Ok(took)
    } else {
        Err(format!(
            "{} {}: exit {:?}\n{}{}",
            binary.display(),
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A unique database name for one run.
fn db_name(label: &str, run: usize, i: usize) -> String {
    format!("revbench_{label}_{}_{run}_{i}", std::process::id())
}

/// Applies `migrations` to one fresh database through a proxy that adds
/// `delay` each way; returns the time `rev upgrade heads` took and the
/// round trips it made.
pub fn through_proxy(
    binary: &Path,
    backend: Backend,
    migrations: usize,
    delay: Duration,
) -> Result<(Duration, u64), String> {
    let dir = project("net", migrations)?;
    let name = db_name("net", RUNS.fetch_add(1, Ordering::SeqCst), 0);
    backend.create(std::slice::from_ref(&name))?;
    let measured = (|| {
        let proxy = Proxy::start(backend.server(), delay).map_err(|e| e.to_string())?;
        let url = backend.url(&proxy.addr().to_string(), &name);
        let took = rev(binary, &dir, &["upgrade", "heads", "-q", "--url", &url])?;
        Ok((took, proxy.round_trips()))
    })();
    backend.drop_all(&[name])?;
    let _ = std::fs::remove_dir_all(&dir);
    measured
}

/// Returns the round trips one migration costs: the difference between
/// runs of 20 and of 10 migrations, over 10, so that connecting, locking
/// and reading the version rows drop out.
pub fn round_trips_per_migration(binary: &Path, backend: Backend) -> Result<f64, String> {
    let (_, ten) = through_proxy(binary, backend, 10, Duration::ZERO)?;
    let (_, twenty) = through_proxy(binary, backend, 20, Duration::ZERO)?;
    Ok((twenty as f64 - ten as f64) / 10.0)
}

/// Applies `migrations` to each of `databases` fresh databases as one fleet,
/// `jobs` at a time; returns how long `rev upgrade heads --env fleet` took.
pub fn fleet(
    binary: &Path,
    backend: Backend,
    databases: usize,
    migrations: usize,
    jobs: usize,
) -> Result<Duration, String> {
    let dir = project("fleet", migrations)?;
    let run = RUNS.fetch_add(1, Ordering::SeqCst);
    let names: Vec<String> = (0..databases).map(|i| db_name("fleet", run, i)).collect();
    backend.create(&names)?;
    let measured = (|| {
        let urls: String = names
            .iter()
            .map(|name| backend.url(backend.server(), name) + "\n")
            .collect();
        std::fs::write(dir.join("tenants.txt"), urls).map_err(|e| e.to_string())?;
        std::fs::write(
            dir.join("rev.ron"),
            format!(
                "Config(url: Some(\"sqlite://bench.db\"), environments: {{\"fleet\": \
                 Env(urls_file: \"tenants.txt\", jobs: {jobs})}})\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        rev(binary, &dir, &["upgrade", "heads", "-q", "--env", "fleet"])
    })();
    backend.drop_all(&names)?;
    let _ = std::fs::remove_dir_all(&dir);
    measured
}
