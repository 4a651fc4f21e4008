//! Parsing SQL Server URLs and ADO.NET strings, mapping them onto tiberius'
//! configuration, and keeping the password out of every output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use std::time::Duration;

use rev_db::mssql::{is_mssql_url, Encrypt, MssqlBackend, MssqlOptions};
use rev_db::DbError;

const SECRET: &str = "S3cr3t-Pa55";

fn parse(s: &str) -> MssqlOptions {
    MssqlOptions::parse(s).unwrap()
}

fn parse_err(s: &str) -> String {
    let message = MssqlOptions::parse(s).unwrap_err().to_string();
    assert!(
        !message.contains(SECRET),
        "error leaks the password: {message}"
    );
    message
}

#[test]
fn url_with_every_parameter() {
    let options = parse(&format!(
        "mssql://rev:{SECRET}@db.example.com:1444/app?encrypt=true&trust_server_certificate=false&connect_timeout=20"
    ));
    insta::assert_debug_snapshot!(options, @r#"
    MssqlOptions {
        host: "db.example.com",
        port: 1444,
        instance: None,
        database: Some(
            "app",
        ),
        user: "rev",
        password: ***,
        encrypt: Required,
        trust_server_certificate: false,
        connect_timeout: Some(
            20s,
        ),
        application_name: "rev",
    }
    "#);
    assert_eq!(options.password.expose(), SECRET);
    assert_eq!(options.target(), "db.example.com:1444/app");
}

#[test]
fn url_defaults() {
    let options = parse("mssql://sa:pw@db");
    assert_eq!(options.host, "db");
    assert_eq!(options.port, 1433);
    assert_eq!(options.database, None);
    assert_eq!(options.encrypt, Encrypt::Required);
    assert!(!options.trust_server_certificate);
    assert_eq!(options.connect_timeout, Some(Duration::from_secs(15)));
    assert_eq!(options.target(), "db:1433");
    let trailing = parse("SQLSERVER://sa:pw@db:1433/");
    assert_eq!(trailing.database, None);
}

#[test]
fn url_decodes_and_tolerates_raw_specials_in_password() {
    let options = parse("mssql://app%40corp:p%40ss%3Bw0rd@host/my%20db");
    assert_eq!(options.user, "app@corp");
    assert_eq!(options.password.expose(), "p@ss;w0rd");
    assert_eq!(options.database.as_deref(), Some("my db"));

    let raw = parse("mssql://sa:p@ss/w?rd:x@host:1500/app?encrypt=false");
    assert_eq!(raw.user, "sa");
    assert_eq!(raw.password.expose(), "p@ss/w?rd:x");
    assert_eq!(raw.host, "host");
    assert_eq!(raw.port, 1500);
    assert_eq!(raw.database.as_deref(), Some("app"));
    assert_eq!(raw.encrypt, Encrypt::Off);
}

#[test]
fn url_ipv6_and_parameter_spellings() {
    let options = parse(
        "mssql://sa:pw@[::1]:1435/db?Encrypt=DANGER_PLAINTEXT&trustServerCertificate=yes&connectTimeout=0&application_name=ci%20run",
    );
    assert_eq!(options.host, "::1");
    assert_eq!(options.port, 1435);
    assert_eq!(options.encrypt, Encrypt::NotSupported);
    assert!(options.trust_server_certificate);
    assert_eq!(options.connect_timeout, None);
    assert_eq!(options.application_name, "ci run");
    assert_eq!(options.target(), "[::1]:1435/db");
}

#[test]
fn url_errors_name_the_problem_not_the_password() {
    let cases = [
        format!("mssql://sa:{SECRET}@host:70000/db"),
        format!("mssql://sa:{SECRET}@host:port/db"),
        format!("mssql://sa:{SECRET}@host/db?encrypt=maybe"),
        format!("mssql://sa:{SECRET}@host/db?trust_server_certificate=perhaps"),
        format!("mssql://sa:{SECRET}@host/db?connect_timeout=soon"),
        format!("mssql://sa:{SECRET}@host/db?sslmode=require"),
        format!("mssql://sa:{SECRET}%zz@host/db"),
        format!("mssql://:{SECRET}@host/db"),
        "mssql://host/db".to_owned(),
        format!("mssql://sa:{SECRET}@[::1/db"),
    ];
    let messages = cases
        .iter()
        .map(|case| parse_err(case))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(messages, @r"
    invalid database URL: the port must be a number from 1 to 65535
    invalid database URL: the port must be a number from 1 to 65535
    invalid database URL: `encrypt` must be true, false or danger_plaintext
    invalid database URL: `trust_server_certificate` must be true or false
    invalid database URL: `connect_timeout` must be a whole number of seconds
    invalid database URL: unknown URL parameter `sslmode`: expected encrypt, trust_server_certificate, connect_timeout or application_name
    invalid database URL: the password has a bad %-escape
    invalid database URL: the URL names no user: write mssql://user:password@host/db
    invalid database URL: the URL names no user: write mssql://user:password@host/db
    invalid database URL: an IPv6 host needs its closing `]`
    ");
    assert!(matches!(
        MssqlOptions::parse("postgres://u:p@h/db"),
        Err(DbError::UnsupportedScheme(scheme)) if scheme == "postgres"
    ));
}

#[test]
fn ado_string() {
    let options = parse(&format!(
        "Server=tcp:db.example.com,1444; Database=app; User ID=rev; Password=\"{SECRET};x\"\"y\"; \
         Encrypt=false; TrustServerCertificate=True; Connect Timeout=30; Application Name=rev-ci;"
    ));
    insta::assert_debug_snapshot!(options, @r#"
    MssqlOptions {
        host: "db.example.com",
        port: 1444,
        instance: None,
        database: Some(
            "app",
        ),
        user: "rev",
        password: ***,
        encrypt: Off,
        trust_server_certificate: true,
        connect_timeout: Some(
            30s,
        ),
        application_name: "rev-ci",
    }
    "#);
    assert_eq!(options.password.expose(), format!("{SECRET};x\"y"));
}

#[test]
fn ado_synonyms_local_server_and_instance() {
    let options = parse(
        "Data Source=.\\SQLEXPRESS,1433;Initial Catalog=shop;UID=u;PWD='it''s';encrypt=yes;Pooling=false",
    );
    assert_eq!(options.host, "localhost");
    assert_eq!(options.instance.as_deref(), Some("SQLEXPRESS"));
    assert_eq!(options.port, 1433);
    assert_eq!(options.database.as_deref(), Some("shop"));
    assert_eq!(options.user, "u");
    assert_eq!(options.password.expose(), "it's");
    assert_eq!(options.encrypt, Encrypt::Required);
    assert_eq!(options.target(), "localhost\\SQLEXPRESS,1433/shop");

    let defaults = parse("server=(local);user id=sa;password=x");
    assert_eq!(defaults.host, "localhost");
    assert_eq!(defaults.port, 1433);
    assert_eq!(defaults.encrypt, Encrypt::Required);
    assert_eq!(defaults.database, None);
}

#[test]
fn ado_errors_name_the_problem_not_the_password() {
    let cases = [
        format!("server=tcp:h\\INST;user id=sa;password={SECRET}"),
        format!("server=h;Integrated Security=true;password={SECRET}"),
        format!("server=h;user id=sa;password={SECRET};Frobnicate=1"),
        format!("server=h;password={SECRET}"),
        format!("server=h;user id=sa;password=\"{SECRET}"),
        format!("server=h;user id=sa;password=\"{SECRET}\"junk"),
        format!("server=np:\\\\h\\pipe;user id=sa;password={SECRET}"),
        format!("server=h,99999;user id=sa;password={SECRET}"),
        format!("server=h;user id=sa;password={SECRET};encrypt=sometimes"),
        format!("server=h;user id;password={SECRET}"),
    ];
    let messages = cases
        .iter()
        .map(|case| parse_err(case))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(messages, @r"
    invalid database URL: a named instance needs its port (`server=tcp:host\instance,1433`): rev does not ask SQL Browser for it
    invalid database URL: integrated (Windows) authentication is not supported: give `user id` and `password`
    invalid database URL: unknown connection string keyword `frobnicate`
    invalid database URL: the connection string names no user: add `user id=..;password=..`
    invalid database URL: the value of `password` has no closing quote
    invalid database URL: unexpected text after the quoted value of `password`
    invalid database URL: only TCP servers are supported (`server=tcp:host,1433`)
    invalid database URL: the port must be a number from 1 to 65535
    invalid database URL: `encrypt` must be true, false or danger_plaintext
    invalid database URL: connection string keyword `user id` has no `=value`
    ");
}

#[test]
fn display_and_debug_redact_the_password() {
    let options = parse(&format!(
        "mssql://r%40v:{SECRET}@db:1433/app%20x?encrypt=false&trust_server_certificate=true"
    ));
    let shown = options.to_string();
    insta::assert_snapshot!(shown, @"mssql://r%40v:***@db:1433/app%20x?encrypt=false&trust_server_certificate=true&connect_timeout=15");
    assert!(!format!("{options:?}").contains(SECRET));
    assert!(!format!("{options:#?}").contains(SECRET));
    assert!(!format!("{:?}", options.password).contains(SECRET));
    assert!(!options.password.to_string().contains(SECRET));
    assert!(!format!("{:?}", options.to_config()).contains(SECRET));
    // The displayed form reads back to the same options, less the password.
    let again = parse(&shown);
    assert_eq!(again.password.expose(), "***");
    assert_eq!(again.user, options.user);
    assert_eq!(again.database, options.database);
    assert_eq!(again.encrypt, options.encrypt);
    assert_eq!(
        again.trust_server_certificate,
        options.trust_server_certificate
    );
}

#[test]
fn config_mapping() {
    let strict = parse(&format!("mssql://rev:{SECRET}@db.example.com:1444/app"));
    let config = strict.to_config();
    assert_eq!(config.get_addr(), "db.example.com:1444");
    insta::assert_snapshot!(format!("{config:?}"), @r#"Config { host: Some("db.example.com"), port: Some(1444), database: Some("app"), instance_name: None, application_name: Some("rev"), encryption: Required, trust: Default, auth: SqlServer(SqlServerAuth { user: "rev", password: "<HIDDEN>" }), readonly: false }"#);

    let trusting = parse(
        "server=tcp:10.1.2.3,1433;user id=sa;password=x;encrypt=false;TrustServerCertificate=true",
    );
    insta::assert_snapshot!(format!("{:?}", trusting.to_config()), @r#"Config { host: Some("10.1.2.3"), port: Some(1433), database: None, instance_name: None, application_name: Some("rev"), encryption: Off, trust: TrustAll, auth: SqlServer(SqlServerAuth { user: "sa", password: "<HIDDEN>" }), readonly: false }"#);

    let plain = parse("mssql://sa:x@h?encrypt=danger_plaintext");
    assert!(format!("{:?}", plain.to_config()).contains("encryption: NotSupported"));
}

#[test]
fn recognises_mssql_strings() {
    assert!(is_mssql_url("mssql://sa:x@h/db"));
    assert!(is_mssql_url("sqlserver://sa:x@h/db"));
    assert!(is_mssql_url("Server=tcp:h,1433;User ID=sa;Password=x"));
    assert!(is_mssql_url("data source=h;uid=sa;pwd=x"));
    assert!(!is_mssql_url("sqlite://rev.db"));
    assert!(!is_mssql_url("sqlite::memory:"));
    assert!(!is_mssql_url("postgres://u:p@h/db"));
    assert!(!is_mssql_url("host=h;user=u"));
}

#[test]
fn connect_refused_reports_target_without_password() {
    // Port 1 on the loopback address has no listener, so the connection is refused at once.
    let options = parse(&format!(
        "mssql://sa:{SECRET}@127.0.0.1:1/app?connect_timeout=5"
    ));
    let err = MssqlBackend::connect(&options).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, DbError::Connect { .. }), "{message}");
    assert!(
        message.starts_with("cannot connect to 127.0.0.1:1/app: "),
        "{message}"
    );
    assert!(!message.contains(SECRET));
}

#[test]
fn connect_timeout_is_honoured() {
    // A listener that never answers: the TCP handshake completes in the
    // kernel's backlog, then the TDS pre-login waits for a reply that never comes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = parse(&format!(
        "mssql://sa:{SECRET}@127.0.0.1:{port}/app?connect_timeout=1&encrypt=false"
    ));
    let err = MssqlBackend::connect(&options).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot connect to 127.0.0.1:{port}/app: timed out after 1s")
    );
    drop(listener);
}

#[test]
fn connect_to_ipv6_literal_reports_bracketed_target() {
    // Whether [::1] refuses or has no IPv6 at all, the attempt stays on this
    // machine and fails as a connection error naming the target.
    let options = parse(&format!("mssql://sa:{SECRET}@[::1]:1/app"));
    let err = MssqlBackend::connect(&options).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("cannot connect to [::1]:1/app: "),
        "{message}"
    );
    assert!(!message.contains(SECRET));
}
