//! TLS against real servers: the local PostgreSQL (which has `ssl = on`
//! with Debian's self-signed "snakeoil" certificate), the local MariaDB (TLS
//! off), a MariaDB server of this test's own with a CA and a certificate the
//! test makes, and a fake PostgreSQL that refuses TLS.
//!
//! Under `REV_REQUIRE_SERVICES=1` a server that cannot be had fails the test
//! instead of skipping it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

mod common_server;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common_server::TempDb;
use rev_db::mysql::MysqlBackend;
use rev_db::postgres::PostgresBackend;
use rev_db::{Backend, DbError};

fn required() -> bool {
    std::env::var("REV_REQUIRE_SERVICES").as_deref() == Ok("1")
}

/// Fails under REV_REQUIRE_SERVICES=1, else says the test is skipped.
fn skip(why: &str) {
    if required() {
        panic!("required (REV_REQUIRE_SERVICES=1) but not available: {why}");
    }
    println!("skipped: {why}");
}

fn connect_error(result: Result<impl std::fmt::Debug, DbError>) -> String {
    match result {
        Ok(backend) => panic!("connected, but should not have: {backend:?}"),
        Err(e) => {
            println!("refused as expected: {e}");
            e.to_string()
        }
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL

/// Returns the certificate file of the local PostgreSQL server, when it has
/// TLS on and the file can be read.
fn pg_server_certificate(db: &TempDb) -> Option<PathBuf> {
    let rows = db.rows("SELECT current_setting('ssl'), current_setting('ssl_cert_file')");
    let (ssl, file) = (rows[0][0].clone()?, rows[0][1].clone()?);
    if ssl != "on" {
        skip("the local PostgreSQL has ssl = off");
        return None;
    }
    let path = PathBuf::from(file);
    let path = if path.is_relative() {
        let dir = db.rows("SELECT current_setting('data_directory')")[0][0].clone()?;
        Path::new(&dir).join(path)
    } else {
        path
    };
    match std::fs::read(&path) {
        Ok(_) => Some(path),
        Err(e) => {
            skip(&format!(
                "cannot read the server's certificate {}: {e}",
                path.display()
            ));
            None
        }
    }
}

/// Returns the DNS names of a certificate's subjectAltName, read by the openssl CLI.
fn dns_names(cert: &Path) -> Option<Vec<String>> {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-ext", "subjectAltName", "-in"])
        .arg(cert)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<String> = text
        .split([',', '\n'])
        .filter_map(|part| part.trim().strip_prefix("DNS:").map(str::to_owned))
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Returns how many of the temporary database's sessions use TLS.
fn pg_tls_sessions(db: &TempDb) -> usize {
    let rows = db.rows(&format!(
        "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.datname = '{}' AND s.ssl",
        db.name
    ));
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

fn with_params(url: &str, params: &str) -> String {
    format!("{url}?{params}")
}

#[test]
fn postgres_require_connects_over_tls() {
    let Some(db) = TempDb::postgres() else { return };
    if pg_server_certificate(&db).is_none() {
        return;
    }
    let mut backend = PostgresBackend::connect(&with_params(&db.url, "sslmode=require")).unwrap();
    assert_eq!(pg_tls_sessions(&db), 1);
    backend.ensure_tables(&common_server::tables()).unwrap();
    drop(backend);

    // The default, prefer, takes TLS when the server offers it.
    let backend = PostgresBackend::connect(&db.url).unwrap();
    assert_eq!(pg_tls_sessions(&db), 1);
    drop(backend);

    // disable does not.
    let _backend = PostgresBackend::connect(&with_params(&db.url, "sslmode=disable")).unwrap();
    assert_eq!(pg_tls_sessions(&db), 0);
}

#[test]
fn postgres_verify_modes_check_the_chain_and_the_name() {
    let Some(db) = TempDb::postgres() else { return };
    let Some(cert) = pg_server_certificate(&db) else {
        return;
    };
    let root = cert.display();

    // The URL connects to 127.0.0.1, a name the certificate does not hold.
    let err = connect_error(PostgresBackend::connect(&with_params(
        &db.url,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    )));
    assert!(
        err.contains("the server's certificate does not name the host connected to"),
        "{err}"
    );
    assert!(err.contains("sslmode=verify-full"), "{err}");
    assert!(
        err.contains(&format!("checked against the roots in {root}")),
        "{err}"
    );

    // verify-ca checks the chain only.
    let _ca = PostgresBackend::connect(&with_params(
        &db.url,
        &format!("sslmode=verify-ca&sslrootcert={root}"),
    ))
    .unwrap();
    // So does require when given a root, as in libpq.
    let _require = PostgresBackend::connect(&with_params(
        &db.url,
        &format!("sslmode=require&sslrootcert={root}"),
    ))
    .unwrap();

    // Without a root of its own, the self-signed certificate is trusted by no one.
    for mode in ["verify-full", "verify-ca"] {
        let err = connect_error(PostgresBackend::connect(&with_params(
            &db.url,
            &format!("sslmode={mode}"),
        )));
        assert!(
            err.contains("the server's certificate is not signed by a trusted root"),
            "{err}"
        );
        assert!(err.contains("sslrootcert=<file>"), "{err}");
    }

    // A root file that is not there is named.
    let err = connect_error(PostgresBackend::connect(&with_params(
        &db.url,
        "sslmode=verify-full&sslrootcert=/nonexistent/root.pem",
    )));
    assert!(
        err.contains("cannot read the root certificate file /nonexistent/root.pem"),
        "{err}"
    );

    // By a name the certificate holds, verify-full connects.
    match dns_names(&cert) {
        Some(names) => {
            let url = db.url.replacen("127.0.0.1", &names[0], 1);
            let full = format!("{url}?sslmode=verify-full&sslrootcert={root}&hostaddr=127.0.0.1");
            let _full = PostgresBackend::connect(&full).unwrap();
            assert_eq!(pg_tls_sessions(&db), 3);
        }
        None => println!("no openssl CLI or no DNS name in {root}: verify-full by name not tried"),
    }
}

/// Answers one connection as a PostgreSQL server without TLS would: `N` to
/// the SSLRequest, then closes.
fn fake_postgres_without_tls() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() {
                // Length 8, then the SSLRequest code 80877103.
                assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47]);
                let _ = stream.write_all(b"N");
            }
        }
    });
    (port, handle)
}

#[test]
fn postgres_require_fails_clearly_without_tls_on_the_server() {
    let (port, server) = fake_postgres_without_tls();
    let err = connect_error(PostgresBackend::connect(&format!(
        "postgres://rev:s3cret-pw@127.0.0.1:{port}/db?sslmode=require"
    )));
    server.join().unwrap();
    assert_eq!(
        err,
        format!(
            "cannot connect to postgres://rev@127.0.0.1:{port}/db: the server does not offer \
             TLS, and sslmode=require requires it: turn ssl on in the server, or use \
             sslmode=prefer or sslmode=disable"
        )
    );
}

#[test]
fn postgres_tls_settings_are_read_from_both_spellings() {
    let err = connect_error(PostgresBackend::connect(
        "postgres://u:pw@h/db?sslmode=verify-everything",
    ));
    assert_eq!(
        err,
        "invalid database URL: postgres URL: sslmode must be disable, allow, prefer, require, \
         verify-ca or verify-full"
    );
    let err = connect_error(PostgresBackend::connect(
        "host=h user=u password=pw sslmode=require sslcert=/c.pem",
    ));
    assert!(err.contains("`sslcert` is not supported"), "{err}");

    let Some(db) = TempDb::postgres() else { return };
    if pg_server_certificate(&db).is_none() {
        return;
    }
    let libpq = format!(
        "host=127.0.0.1 port=5432 user=postgres dbname='{}' sslmode=require",
        db.name
    );
    let _backend = PostgresBackend::connect(&libpq).unwrap();
    assert_eq!(pg_tls_sessions(&db), 1);
}

// ---------------------------------------------------------------------------
// MySQL / MariaDB

#[test]
fn mysql_required_fails_clearly_against_a_server_without_tls() {
    let Some(db) = TempDb::mysql() else { return };
    let have_ssl = db.rows("SHOW VARIABLES LIKE 'have_ssl'");
    if have_ssl
        .first()
        .and_then(|row| row[1].as_deref())
        .is_some_and(|value| value == "YES")
    {
        // The own-server test below covers a server with TLS.
        println!("skipped: the local MariaDB/MySQL has TLS on");
        return;
    }
    for mode in ["REQUIRED", "VERIFY_IDENTITY"] {
        let err = connect_error(MysqlBackend::connect(&with_params(
            &db.url,
            &format!("ssl-mode={mode}"),
        )));
        assert!(
            err.ends_with(&format!(
                ": the server does not offer TLS, and ssl-mode={mode} requires it: turn TLS on \
                 in the server (ssl_cert, ssl_key), or use ssl-mode=PREFERRED or \
                 ssl-mode=DISABLED"
            )),
            "{err}"
        );
    }
    // PREFERRED, the default, goes on in plain text.
    let mut backend = MysqlBackend::connect(&with_params(&db.url, "ssl-mode=PREFERRED")).unwrap();
    backend.ensure_tables(&common_server::tables()).unwrap();
}

#[test]
fn mysql_tls_settings() {
    let err = connect_error(MysqlBackend::connect(
        "mysql://u:pw@127.0.0.1:1/db?ssl-mode=VERIFY_CA",
    ));
    assert!(err.contains("ssl-mode=VERIFY_CA is not available"), "{err}");
    let err = connect_error(MysqlBackend::connect(
        "mysql://u:pw@127.0.0.1:1/db?ssl-mode=SOMETIMES",
    ));
    assert_eq!(
        err,
        "invalid database URL: mysql URL: ssl-mode must be DISABLED, PREFERRED, REQUIRED, \
         VERIFY_CA or VERIFY_IDENTITY"
    );
    let err = connect_error(MysqlBackend::connect(
        "mysql://u:pw@127.0.0.1:1/db?require_ssl=true",
    ));
    assert!(err.contains("instead of `require_ssl`"), "{err}");
    for params in ["ssl-ca=/ca.pem", "ssl-mode=REQUIRED&ssl-ca=/ca.pem"] {
        let err = connect_error(MysqlBackend::connect(&format!(
            "mysql://u:pw@127.0.0.1:1/db?{params}"
        )));
        assert!(
            err.contains("ssl-ca is used by ssl-mode=VERIFY_IDENTITY only"),
            "{err}"
        );
    }
    let err = connect_error(MysqlBackend::connect(
        "mysql://u:pw@127.0.0.1:1/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/nonexistent/ca.pem",
    ));
    assert!(
        err.contains("cannot read the root certificate file /nonexistent/ca.pem"),
        "{err}"
    );
}

/// A MariaDB server of this test's own, on a free port, with TLS from a CA
/// the test makes and `require_secure_transport` on (so that a connection
/// that succeeds is one over TLS); stopped and removed when dropped.
struct OwnMariadb {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for OwnMariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Writes a CA and a server certificate for `localhost` (only) signed by it.
fn make_certificates(dir: &Path) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rev test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut server_params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server-key.pem"), server_key.serialize_pem()).unwrap();
}

impl OwnMariadb {
    fn start() -> Option<OwnMariadb> {
        let dir = tempfile::tempdir().unwrap();
        make_certificates(dir.path());
        let data = dir.path().join("data");
        let mut install = Command::new("mariadb-install-db");
        install
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if is_root() {
            install.arg("--user=root");
        }
        match install.stdout(Stdio::null()).stderr(Stdio::null()).status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                skip(&format!("mariadb-install-db failed ({status})"));
                return None;
            }
            Err(e) => {
                skip(&format!("cannot run mariadb-install-db: {e}"));
                return None;
            }
        }
        let port = free_port();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let mut server = Command::new("mariadbd");
        server
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", path("mariadb.sock")))
            .arg(format!("--pid-file={}", path("mariadb.pid")))
            .arg(format!("--log-error={}", path("error.log")))
            .arg(format!("--ssl-ca={}", path("ca.pem")))
            .arg(format!("--ssl-cert={}", path("server.pem")))
            .arg(format!("--ssl-key={}", path("server-key.pem")))
            .args([
                "--require-secure-transport=ON",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
            ]);
        if is_root() {
            server.arg("--user=root");
        }
        let child = match server.stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
            Ok(child) => child,
            Err(e) => {
                skip(&format!("cannot start mariadbd: {e}"));
                return None;
            }
        };
        let mut own = OwnMariadb { child, port, dir };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = own.child.try_wait() {
                let log =
                    std::fs::read_to_string(own.dir.path().join("error.log")).unwrap_or_default();
                panic!("mariadbd stopped ({status}):\n{log}");
            }
            if started.elapsed() > Duration::from_secs(30) {
                panic!("mariadbd did not listen on port {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(own)
    }

    fn url(&self, host: &str, params: &str) -> String {
        format!("mysql://root@{host}:{}/mysql?{params}", self.port)
    }

    fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
}

#[test]
fn mariadb_with_tls_of_its_own() {
    let Some(server) = OwnMariadb::start() else {
        return;
    };
    let ca = server.ca();

    // The server takes nothing but TLS: plain text is turned away (MariaDB
    // says so as a refused login) ...
    let err = connect_error(MysqlBackend::connect(
        &server.url("127.0.0.1", "ssl-mode=DISABLED"),
    ));
    assert!(err.contains("ERROR 1045 (28000): Access denied"), "{err}");

    // ... while REQUIRED and PREFERRED (the default) connect, with any certificate.
    for params in ["ssl-mode=REQUIRED", "ssl-mode=PREFERRED", ""] {
        let mut backend = MysqlBackend::connect(&server.url("127.0.0.1", params))
            .unwrap_or_else(|e| panic!("{params}: {e}"));
        assert_eq!(
            backend.current_heads(&common_server::tables()).unwrap(),
            Vec::<String>::new()
        );
    }

    // VERIFY_IDENTITY with the CA connects by the certificate's name ...
    let _backend = MysqlBackend::connect(&server.url(
        "localhost",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    ))
    .unwrap();

    // ... and fails clearly by another name,
    let err = connect_error(MysqlBackend::connect(&server.url(
        "127.0.0.1",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
    )));
    assert!(
        err.contains("the server's certificate does not name the host connected to"),
        "{err}"
    );
    assert!(
        err.contains(&format!("checked against the roots in {ca}")),
        "{err}"
    );

    // ... or without the CA.
    let err = connect_error(MysqlBackend::connect(
        &server.url("localhost", "ssl-mode=VERIFY_IDENTITY"),
    ));
    assert!(
        err.contains("the server's certificate is not signed by a trusted root"),
        "{err}"
    );
    assert!(err.contains("ssl-ca=<file>"), "{err}");
}
