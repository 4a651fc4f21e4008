//! Property tests: however a connection string is spelt (a URL with the
//! password raw or %-escaped, an ADO.NET string with any of its quotings, a
//! libpq string), the password is read back whole by the backend's reader
//! and never appears in a redacted URL, a Debug or Display form, or an error
//! message, including that of a connection that fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a test may panic

use proptest::prelude::*;
use rev_db::mssql::{MssqlBackend, MssqlOptions};
use rev_db::mysql::{MysqlBackend, MysqlSettings};
use rev_db::postgres::{PgSettings, PostgresBackend};
use rev_db::url::redact;
use rev_db::DatabaseUrl;

/// A password: `Zq` (which no message holds by chance) and then anything,
/// URL and connection-string delimiters above all.
fn password(raw_url_safe: bool) -> impl Strategy<Value = String> {
    let any = r#"[A-Za-z0-9@:/?#%&=;'"{}\\ é]{0,16}"#;
    // Raw in a URL: `%` would be read as an escape, and `=`/`&` could make
    // a `?key=` that starts a query.
    let raw = r"[A-Za-z0-9@:/?#;'{}é]{0,16}";
    (if raw_url_safe { raw } else { any }).prop_map(|tail| format!("Zq{tail}"))
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Returns every text that must not hold the password: the redacted form,
/// and what `DatabaseUrl` shows or says.
fn shown_by_database_url(url: &str) -> String {
    let mut shown = redact(url);
    match DatabaseUrl::parse(url) {
        Ok(parsed) => shown.push_str(&format!(" {parsed} {parsed:?}")),
        Err(e) => shown.push_str(&format!(" {e} {e:?}")),
    }
    shown
}

fn assert_hidden(shown: &str, password: &str, spelt: &str) {
    assert!(
        !shown.contains(password),
        "password {password:?} shown: {shown}"
    );
    assert!(
        !shown.contains(spelt),
        "password as spelt {spelt:?} shown: {shown}"
    );
}

/// `cases` cases, and no file of failures written into the source tree.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

#[derive(Debug, Clone, Copy)]
enum Scheme {
    Postgres,
    Mysql,
    Mssql,
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![
        Just(Scheme::Postgres),
        Just(Scheme::Mysql),
        Just(Scheme::Mssql)
    ]
}

/// Reads the URL with the backend's own reader and returns the password it
/// found, with all that the reader shows.
fn backend_read(scheme: Scheme, url: &str) -> (Option<String>, String) {
    match scheme {
        Scheme::Postgres => match PgSettings::parse(url) {
            Ok(settings) => (
                settings
                    .config
                    .get_password()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
                format!("{settings:?} {:?}", settings.config),
            ),
            Err(e) => (None, format!("{e} {e:?}")),
        },
        Scheme::Mysql => match MysqlSettings::parse(url) {
            Ok(settings) => (
                settings.opts.pass().map(str::to_owned),
                format!("{settings:?}"),
            ),
            Err(e) => (None, format!("{e} {e:?}")),
        },
        Scheme::Mssql => match MssqlOptions::parse(url) {
            Ok(options) => (
                Some(options.password.expose().to_owned()),
                format!("{options} {options:?} {:?}", options.to_config()),
            ),
            Err(e) => (None, format!("{e} {e:?}")),
        },
    }
}

fn url_for(scheme: Scheme, user: &str, spelt: &str, host: &str, db: &str) -> String {
    match scheme {
        Scheme::Postgres => format!("postgres://{user}:{spelt}@{host}:5432/{db}?sslmode=disable"),
        Scheme::Mysql => format!("mysql://{user}:{spelt}@{host}:3306/{db}?ssl-mode=DISABLED"),
        Scheme::Mssql => format!("mssql://{user}:{spelt}@{host}:1433/{db}?encrypt=false"),
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn urls_with_raw_passwords(
        scheme in scheme(),
        user in name(),
        password in password(true),
        host in name(),
        db in name(),
    ) {
        let url = url_for(scheme, &user, &password, &host, &db);
        assert_hidden(&shown_by_database_url(&url), &password, &password);
        let (read, shown) = backend_read(scheme, &url);
        assert_hidden(&shown, &password, &password);
        prop_assert_eq!(read.as_deref(), Some(password.as_str()), "{}", shown);
    }

    #[test]
    fn urls_with_escaped_passwords(
        scheme in scheme(),
        user in name(),
        password in password(false),
        host in name(),
        db in name(),
    ) {
        let spelt = percent_encode(&password);
        let url = url_for(scheme, &user, &spelt, &host, &db);
        assert_hidden(&shown_by_database_url(&url), &password, &spelt);
        let (read, shown) = backend_read(scheme, &url);
        assert_hidden(&shown, &password, &spelt);
        prop_assert_eq!(read.as_deref(), Some(password.as_str()), "{}", shown);
    }

    #[test]
    fn passwords_as_query_parameters(password in password(false), db in name()) {
        let spelt = percent_encode(&password);
        let url = format!("postgres://u@h/{db}?password={spelt}&sslmode=disable");
        assert_hidden(&shown_by_database_url(&url), &password, &spelt);
        let (read, shown) = backend_read(Scheme::Postgres, &url);
        assert_hidden(&shown, &password, &spelt);
        prop_assert_eq!(read.as_deref(), Some(password.as_str()), "{}", shown);
    }

    #[test]
    fn ado_net_strings(
        password in password(false),
        quoting in 0..4u8,
        user in name(),
        host in name(),
        db in name(),
    ) {
        let spelt = match quoting {
            0 => format!("{{{}}}", password.replace('}', "}}")),
            1 => format!("\"{}\"", password.replace('"', "\"\"")),
            2 => format!("'{}'", password.replace('\'', "''")),
            _ => password.replace(';', ""),
        };
        let expected = match quoting {
            3 => spelt.trim().to_owned(),
            _ => password.clone(),
        };
        let url = format!(
            "Server=tcp:{host},1433;Database={db};User Id={user};Password={spelt};Encrypt=true"
        );
        assert_hidden(&shown_by_database_url(&url), &expected, &spelt);
        let (read, shown) = backend_read(Scheme::Mssql, &url);
        assert_hidden(&shown, &expected, &spelt);
        // Unquoted, a value cannot start with a quote or a brace.
        if quoting != 3 || !expected.starts_with(['"', '\'', '{']) {
            prop_assert_eq!(read.as_deref(), Some(expected.as_str()), "{}", shown);
        }
    }

    #[test]
    fn libpq_strings(
        password in password(false),
        quoted in any::<bool>(),
        user in name(),
        db in name(),
    ) {
        let spelt = if quoted {
            format!("'{}'", password.replace('\\', "\\\\").replace('\'', "\\'"))
        } else {
            password
                .chars()
                .map(|c| if c == '\\' || c == ' ' || c == '\'' { format!("\\{c}") } else { c.to_string() })
                .collect()
        };
        let url = format!("host=127.0.0.1 port=5432 user={user} password={spelt} dbname={db}");
        assert_hidden(&shown_by_database_url(&url), &password, &spelt);
        let (read, shown) = backend_read(Scheme::Postgres, &url);
        assert_hidden(&shown, &password, &spelt);
        prop_assert_eq!(read.as_deref(), Some(password.as_str()), "{}", shown);
    }

    #[test]
    fn mangled_strings_never_show_the_password(
        password in password(false),
        prefix in r#"[a-z:/@;= '"{}?&]{0,12}"#,
        suffix in r#"[a-z:/@;= '"{}?&]{0,12}"#,
        separator in prop_oneof![Just(";"), Just(" ")],
        key in prop_oneof![Just("password="), Just("pwd ="), Just("Password = "), Just("PWD=")],
    ) {
        // Text that a reader may fail to split, with a password key in it.
        let url = format!("{prefix}{separator}{key}{password}{suffix}");
        let shown = shown_by_database_url(&url);
        prop_assert!(!shown.contains(&password), "{}", shown);
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// A connection that fails (nothing listens on port 1) says where it
    /// tried to connect, never with what password.
    #[test]
    fn failed_connections(
        scheme in scheme(),
        password in password(true),
    ) {
        let url = url_for(scheme, "rev", &password, "127.0.0.1", "db").replace(
            match scheme {
                Scheme::Postgres => ":5432/",
                Scheme::Mysql => ":3306/",
                Scheme::Mssql => ":1433/",
            },
            ":1/",
        );
        let shown = match scheme {
            Scheme::Postgres => PostgresBackend::connect(&url).map(|_| ()).map_err(|e| format!("{e} {e:?}")),
            Scheme::Mysql => MysqlBackend::connect(&url).map(|_| ()).map_err(|e| format!("{e} {e:?}")),
            Scheme::Mssql => MssqlOptions::parse(&url)
                .and_then(|options| MssqlBackend::connect(&options))
                .map(|_| ())
                .map_err(|e| format!("{e} {e:?}")),
        };
        let shown = shown.expect_err("nothing listens on port 1");
        assert_hidden(&shown, &password, &password);
        prop_assert!(shown.contains("127.0.0.1"), "{}", shown);
    }
}

/// Found by `benches/fuzz.sh` (fuzz/regressions/url_redact): a password that
/// is itself a URL.
#[test]
fn a_password_that_looks_like_a_url_stays_hidden() {
    let password = "sqlite://rev.db";
    let encoded = "sqlite%3A%2F%2Frev%2Edb";
    for url in [
        format!("postgres://user:{password}@127.0.0.1:5432/db"),
        format!("mysql://user:{encoded}@host/db?"),
        format!("server=tcp:h,1433;database=d;user id=u;password={{{password}}}"),
    ] {
        let shown = rev_db::url::redact(&url);
        assert!(!shown.contains(password), "{url} -> {shown}");
        let parsed = format!("{:?}", rev_db::DatabaseUrl::parse(&url));
        assert!(!parsed.contains(password), "{url} -> {parsed}");
    }
}
