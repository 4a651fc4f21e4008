//! A temporary rev project and a way to run the built binary in it.

use std::path::{Path, PathBuf};
use std::process::Output;

pub mod servers;

/// What one run of `rev` printed and how it exited.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Run {
    /// Returns stdout and stderr together, as a user reads them, with the exit code.
    pub fn all(&self) -> String {
        format!("{}{}[exit {}]", self.stdout, self.stderr, self.code)
    }
}

/// Which output of a child to watch.
#[derive(Clone, Copy)]
pub enum Watch {
    Stdout,
    Stderr,
}

/// Runs `rev ARGS` in `dir`, reads the watched output line by line until a
/// line satisfies `at`, sends `signal` (`INT`, `TERM`) then, and returns the
/// whole run; panics if no line ever does, so that a test cannot pass
/// without the signal having been sent.
pub fn run_and_signal(
    dir: &Path,
    args: &[&str],
    watch: Watch,
    at: impl Fn(&str) -> bool,
    signal: &str,
) -> Run {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_rev"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let (watched, other): (&mut dyn Read, &mut dyn Read) = match watch {
        Watch::Stdout => (&mut out, &mut err),
        Watch::Stderr => (&mut err, &mut out),
    };
    let mut reader = BufReader::new(watched);
    let (mut seen, mut line, mut sent) = (String::new(), String::new(), false);
    while reader.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        let now = at(&line);
        line.clear();
        if now {
            let status = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            sent = true;
            break;
        }
    }
    assert!(sent, "no line to signal at:\n{seen}");
    reader.read_to_string(&mut seen).unwrap();
    let mut rest = String::new();
    other.read_to_string(&mut rest).unwrap();
    let code = child.wait().unwrap().code().unwrap_or(-1);
    let (stdout, stderr) = match watch {
        Watch::Stdout => (seen, rest),
        Watch::Stderr => (rest, seen),
    };
    Run {
        stdout,
        stderr,
        code,
    }
}

/// A temporary directory holding a rev project.
pub struct TestEnv {
    dir: tempfile::TempDir,
}

impl TestEnv {
    /// Returns a new project made by `rev init`.
    pub fn new() -> TestEnv {
        let env = TestEnv::empty();
        let run = env.rev(&["init", "."]);
        assert_eq!(run.code, 0, "{}", run.all());
        env
    }

    /// Returns an empty directory.
    pub fn empty() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Returns the project's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Returns the versions directory.
    pub fn versions(&self) -> PathBuf {
        self.path().join("migrations").join("versions")
    }

    /// Writes a migration file by hand.
    pub fn write_migration(&self, name: &str, text: &str) {
        std::fs::create_dir_all(self.versions()).unwrap();
        std::fs::write(self.versions().join(name), text).unwrap();
    }

    /// Runs `rev` with these arguments in the project directory.
    pub fn rev(&self, args: &[&str]) -> Run {
        self.rev_env(args, &[])
    }

    /// Runs `rev` with extra environment variables.
    pub fn rev_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rev"));
        cmd.args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let Output {
            stdout,
            stderr,
            status,
        } = cmd.output().unwrap();
        let root = self.path().to_string_lossy().to_string();
        let stdout: String = String::from_utf8_lossy(&stdout)
            .replace(&root, "$ROOT")
            .split_inclusive('\n')
            .map(|line| match line.strip_prefix("Created: 2") {
                Some(_) => "Created: [created]\n",
                None => line,
            })
            .collect();
        Run {
            stdout,
            stderr: String::from_utf8_lossy(&stderr).replace(&root, "$ROOT"),
            code: status.code().unwrap_or(-1),
        }
    }

    /// Runs `rev` and asserts it succeeded; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.rev(args);
        assert_eq!(run.code, 0, "rev {args:?} failed:\n{}", run.all());
        run.stdout
    }

    /// Makes the diamond a → (b, c) → m with fixed ids.
    pub fn diamond(&self) {
        self.ok(&["revision", "-m", "a", "--rev-id", "aaaa"]);
        self.ok(&["revision", "-m", "b", "--rev-id", "bbbb"]);
        self.ok(&["revision", "-m", "c", "--rev-id", "cccc", "--head", "aaaa"]);
        self.ok(&["merge", "-m", "join", "--rev-id", "mmmm"]);
    }
}

/// Returns a migration that creates `table (id, name)`.
pub fn table_migration(id: &str, parents: &[&str], table: &str) -> String {
    let parents: Vec<String> = parents.iter().map(|p| format!("\"{p}\"")).collect();
    format!(
        r#"Migration(
    id: "{id}",
    parents: [{}],
    message: "create {table}",
    upgrade: [
        CreateTable(name: "{table}", columns: [
            Column(name: "id", type: Integer, primary_key: true),
            Column(name: "name", type: String(50)),
        ]),
    ],
)
"#,
        parents.join(", ")
    )
}

/// Copies the repository's demo project (rev.ron, migrations and models) into `env`.
pub fn copy_demo(env: &TestEnv) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("rev.ron"), env.path().join("rev.ron")).unwrap();
    std::fs::create_dir_all(env.versions()).unwrap();
    for entry in std::fs::read_dir(root.join("migrations").join("versions")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, env.versions().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::create_dir_all(env.path().join("models")).unwrap();
    for entry in std::fs::read_dir(root.join("models")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            env.path().join("models").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
}

/// Adds `environments: {..}` (the text between the braces) to the project's rev.ron,
/// with `extra` fields (such as `lock_timeout_secs: 2,`) before it.
pub fn set_environments(env: &TestEnv, environments: &str, extra: &str) {
    let path = env.path().join("rev.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    let end = text.rfind(')').unwrap();
    let text = format!(
        "{}    {extra}\n    environments: {{{environments}}},\n)\n",
        text[..end].replace("lock_timeout_secs: 60,", "")
    );
    std::fs::write(path, text).unwrap();
}
