//! SQL Server connection strings: `mssql://` URLs and ADO.NET strings, parsed
//! into [`MssqlOptions`] and mapped onto tiberius' [`Config`].
//!
//! The password lives in a [`Password`] whose Debug and Display print `***`,
//! and no error message quotes the input, so a password can leak neither
//! through logs nor through a typo in the string.

use std::fmt;
use std::time::Duration;

use tiberius::{AuthMethod, Config, EncryptionLevel};

use crate::connstr::{self, parse_port, percent_decode, percent_encode};
use crate::DbError;

/// The port SQL Server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 1433;

/// How long connecting may take unless the string says otherwise (ADO.NET's default).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A password that never shows itself in Debug or Display output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Returns a password holding `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Password(secret.into())
    }

    /// Returns the secret itself, for the login and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How much of the connection TLS protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encrypt {
    /// Everything is encrypted, or the connection fails (`encrypt=true`, the default).
    Required,
    /// Only the login packet is encrypted (`encrypt=false`).
    Off,
    /// Nothing is encrypted, not even the login (`encrypt=danger_plaintext`).
    NotSupported,
}

impl Encrypt {
    /// Returns tiberius' name for this level.
    pub fn level(self) -> EncryptionLevel {
        match self {
            Encrypt::Required => EncryptionLevel::Required,
            Encrypt::Off => EncryptionLevel::Off,
            Encrypt::NotSupported => EncryptionLevel::NotSupported,
        }
    }

    /// Returns the word the URL form uses for this level.
    pub fn as_str(self) -> &'static str {
        match self {
            Encrypt::Required => "true",
            Encrypt::Off => "false",
            Encrypt::NotSupported => "danger_plaintext",
        }
    }

    fn parse(value: &str) -> Result<Self, DbError> {
        match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "mandatory" | "strict" | "required" => Ok(Encrypt::Required),
            "false" | "no" | "optional" | "off" => Ok(Encrypt::Off),
            "danger_plaintext" | "not_supported" | "notsupported" => Ok(Encrypt::NotSupported),
            _ => Err(DbError::InvalidUrl(
                "`encrypt` must be true, false or danger_plaintext".to_owned(),
            )),
        }
    }
}

/// Everything rev needs to reach a SQL Server database.
#[derive(Clone, PartialEq, Eq)]
pub struct MssqlOptions {
    /// The server's host name or address (`localhost` when not given).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The named instance (`host\instance`), kept for messages; rev connects to `port`.
    pub instance: Option<String>,
    /// The database (the login's default database when None).
    pub database: Option<String>,
    /// The SQL Server login.
    pub user: String,
    /// The login's password.
    pub password: Password,
    /// How much TLS protects.
    pub encrypt: Encrypt,
    /// Whether to accept the server's certificate without validating it.
    pub trust_server_certificate: bool,
    /// How long connecting may take (None: as long as the network allows).
    pub connect_timeout: Option<Duration>,
    /// The name the server shows for this connection (APP_NAME()).
    pub application_name: String,
}

impl fmt::Debug for MssqlOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MssqlOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("instance", &self.instance)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("encrypt", &self.encrypt)
            .field("trust_server_certificate", &self.trust_server_certificate)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .finish()
    }
}

impl fmt::Display for MssqlOptions {
    /// Writes the options as an `mssql://` URL with the password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mssql://{}:{}@{}:{}/{}?encrypt={}&trust_server_certificate={}&connect_timeout={}",
            percent_encode(&self.user),
            self.password,
            host_for_url(&self.host),
            self.port,
            self.database
                .as_deref()
                .map(percent_encode)
                .unwrap_or_default(),
            self.encrypt.as_str(),
            self.trust_server_certificate,
            self.connect_timeout.map_or(0, |t| t.as_secs()),
        )
    }
}

/// Returns whether `s` is a SQL Server connection string: an `mssql://` or
/// `sqlserver://` URL, or an ADO.NET string naming a `server` or `data source`.
pub fn is_mssql_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    if lower.starts_with("mssql://") || lower.starts_with("sqlserver://") {
        return true;
    }
    connstr::url_scheme(&lower).is_none()
        && connstr::split_ado(s).is_ok_and(|pairs| connstr::names_ado_server(&pairs))
}

impl MssqlOptions {
    /// Parses an `mssql://` (or `sqlserver://`) URL or an ADO.NET connection string.
    pub fn parse(s: &str) -> Result<Self, DbError> {
        let trimmed = s.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("mssql://") || lower.starts_with("sqlserver://") {
            Self::from_url(trimmed)
        } else if let Some(scheme) = connstr::url_scheme(trimmed) {
            Err(DbError::UnsupportedScheme(scheme.to_owned()))
        } else {
            Self::from_ado(trimmed)
        }
    }

    /// Parses `mssql://user:pass@host:1433/db?encrypt=true&trust_server_certificate=false&connect_timeout=15`.
    ///
    /// User, password and database are percent-decoded. Query keys are matched
    /// without regard to case or underscores (`trustServerCertificate` works too).
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        let parts = connstr::split_url(url)
            .filter(|parts| {
                parts.scheme.eq_ignore_ascii_case("mssql")
                    || parts.scheme.eq_ignore_ascii_case("sqlserver")
            })
            .ok_or_else(|| invalid("a SQL Server URL starts with mssql://"))?;
        let no_user = || invalid("the URL names no user: write mssql://user:password@host/db");
        let user = percent_decode(parts.user.ok_or_else(no_user)?, "the user")?;
        if user.is_empty() {
            return Err(no_user());
        }
        let password = Password(percent_decode(
            parts.password.unwrap_or_default(),
            "the password",
        )?);
        let (host, port) = connstr::split_host_port(parts.hosts)?;
        let host = if host.is_empty() {
            "localhost".to_owned()
        } else {
            host
        };
        let database = percent_decode(
            parts.path.unwrap_or_default().trim_end_matches('/'),
            "the database",
        )?;
        let query = parts.decoded_query()?;

        let mut options = MssqlOptions {
            host,
            port: port.unwrap_or(DEFAULT_PORT),
            instance: None,
            database: (!database.is_empty()).then_some(database),
            user,
            password,
            encrypt: Encrypt::Required,
            trust_server_certificate: false,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            application_name: "rev".to_owned(),
        };
        for (key, value) in query {
            let key = key.to_ascii_lowercase().replace(['_', '-'], "");
            match key.as_str() {
                "encrypt" => options.encrypt = Encrypt::parse(&value)?,
                "trustservercertificate" => {
                    options.trust_server_certificate =
                        parse_bool(&value, "trust_server_certificate")?
                }
                "connecttimeout" => options.connect_timeout = parse_timeout(&value)?,
                "applicationname" => options.application_name = value,
                _ => {
                    return Err(invalid(&format!(
                        "unknown URL parameter `{key}`: expected encrypt, \
                         trust_server_certificate, connect_timeout or application_name"
                    )))
                }
            }
        }
        Ok(options)
    }

    /// Parses an ADO.NET string such as
    /// `server=tcp:host,1433;database=app;user id=rev;password=..;encrypt=true;TrustServerCertificate=false`.
    ///
    /// Keys are case-insensitive; values may be quoted with `"` or `'` (a
    /// doubled quote inside stands for one) or `{…}` (a doubled `}` stands for
    /// one) when they hold `;` ([`connstr::split_ado`]). Connection-pool
    /// settings are accepted and ignored; unknown keys are an error, as in ADO.NET.
    pub fn from_ado(s: &str) -> Result<Self, DbError> {
        let mut options = MssqlOptions {
            host: "localhost".to_owned(),
            port: DEFAULT_PORT,
            instance: None,
            database: None,
            user: String::new(),
            password: Password(String::new()),
            encrypt: Encrypt::Required,
            trust_server_certificate: false,
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            application_name: "rev".to_owned(),
        };
        for pair in connstr::split_ado(s)? {
            let (key, value) = (pair.key, pair.value);
            match key.as_str() {
                "server" | "data source" | "address" | "addr" | "network address" => {
                    let (host, instance, port) = parse_ado_server(&value)?;
                    options.host = host;
                    options.instance = instance;
                    options.port = port.unwrap_or(DEFAULT_PORT);
                    if options.instance.is_some() && port.is_none() {
                        return Err(invalid(
                            "a named instance needs its port (`server=tcp:host\\instance,1433`): \
                             rev does not ask SQL Browser for it",
                        ));
                    }
                }
                "database" | "initial catalog" => {
                    options.database = (!value.is_empty()).then_some(value)
                }
                "user id" | "uid" | "user" | "username" => options.user = value,
                "password" | "pwd" => options.password = Password(value),
                "encrypt" => options.encrypt = Encrypt::parse(&value)?,
                "trustservercertificate" | "trust server certificate" => {
                    options.trust_server_certificate = parse_bool(&value, "TrustServerCertificate")?
                }
                "connect timeout" | "connection timeout" | "timeout" | "connecttimeout" => {
                    options.connect_timeout = parse_timeout(&value)?
                }
                "application name" | "applicationname" | "app" => options.application_name = value,
                "integrated security" | "trusted_connection" | "integratedsecurity" => {
                    if parse_bool(&value, "Integrated Security")? {
                        return Err(invalid(
                            "integrated (Windows) authentication is not supported: \
                             give `user id` and `password`",
                        ));
                    }
                }
                "persist security info"
                | "multipleactiveresultsets"
                | "pooling"
                | "min pool size"
                | "max pool size"
                | "packet size"
                | "workstation id"
                | "connection lifetime"
                | "load balance timeout" => {}
                other => {
                    return Err(invalid(&format!(
                        "unknown connection string keyword `{other}`"
                    )))
                }
            }
        }
        if options.user.is_empty() {
            return Err(invalid(
                "the connection string names no user: add `user id=..;password=..`",
            ));
        }
        Ok(options)
    }

    /// Returns where the options point, without credentials: `host:port/database`.
    pub fn target(&self) -> String {
        let mut target = format!("{}:{}", host_for_url(&self.host), self.port);
        if let Some(instance) = &self.instance {
            target = format!("{}\\{instance},{}", self.host, self.port);
        }
        if let Some(database) = &self.database {
            target.push('/');
            target.push_str(database);
        }
        target
    }

    /// Returns tiberius' configuration for these options.
    pub fn to_config(&self) -> Config {
        let mut config = Config::new();
        config.host(&self.host);
        config.port(self.port);
        if let Some(database) = &self.database {
            config.database(database);
        }
        config.application_name(&self.application_name);
        config.encryption(self.encrypt.level());
        if self.trust_server_certificate {
            config.trust_cert();
        }
        config.authentication(AuthMethod::sql_server(&self.user, self.password.expose()));
        config
    }
}

fn invalid(message: &str) -> DbError {
    DbError::InvalidUrl(message.to_owned())
}

fn parse_bool(value: &str, key: &str) -> Result<bool, DbError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(invalid(&format!("`{key}` must be true or false"))),
    }
}

/// Reads a timeout in whole seconds; 0 means no limit, as in ADO.NET.
fn parse_timeout(value: &str) -> Result<Option<Duration>, DbError> {
    let secs: u64 = value
        .trim()
        .parse()
        .map_err(|_| invalid("`connect_timeout` must be a whole number of seconds"))?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// Reads ADO.NET's `server` value: `[tcp:]host[\instance][,port]`, with
/// `.`, `(local)` and `localhost` naming this machine.
fn parse_ado_server(value: &str) -> Result<(String, Option<String>, Option<u16>), DbError> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    if ["np:", "lpc:", "admin:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Err(invalid(
            "only TCP servers are supported (`server=tcp:host,1433`)",
        ));
    }
    let value = if lower.starts_with("tcp:") {
        value.get(4..).unwrap_or_default()
    } else {
        value
    };
    let (address, port) = match value.rsplit_once(',') {
        Some((address, port)) => (address.trim(), Some(parse_port(port)?)),
        None => (value, None),
    };
    let (host, instance) = match address.split_once('\\') {
        Some((host, instance)) => (host.trim(), Some(instance.trim().to_owned())),
        None => (address, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = match host {
        "" | "." | "(local)" => "localhost".to_owned(),
        other => other.to_owned(),
    };
    Ok((host, instance.filter(|i| !i.is_empty()), port))
}

fn host_for_url(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
