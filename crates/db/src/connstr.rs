//! The three spellings of a connection string that rev reads, split in one
//! place for every backend and for redaction:
//!
//! - `scheme://user:password@host:port/path?key=value` URLs, whose password
//!   may hold `@`, `:`, `/`, `?` and `#` without %-escapes ([`split_url`]);
//! - ADO.NET strings, `key=value;` pairs whose values may be quoted with
//!   `"…"`, `'…'` or `{…}` ([`split_ado`]);
//! - libpq strings, `key=value` pairs separated by spaces whose values may be
//!   quoted with `'…'` and escaped with `\` ([`split_libpq`]).
//!
//! No error of these parsers quotes the text it was given: a typo next to a
//! password must not print the password.

// Each backend reads only some of its connection-string forms.
#![cfg_attr(
    not(all(
        feature = "sqlite",
        feature = "postgres",
        feature = "mysql",
        feature = "mssql"
    )),
    allow(dead_code)
)]

use crate::DbError;

/// The keys whose value is a password, in every spelling (compared without
/// regard to case or surrounding spaces).
pub(crate) fn is_password_key(key: &str) -> bool {
    matches!(
        key.trim().to_ascii_lowercase().as_str(),
        "password" | "pwd" | "pass" | "passwd" | "sslpassword"
    )
}

fn invalid(message: impl Into<String>) -> DbError {
    DbError::InvalidUrl(message.into())
}

// ---------------------------------------------------------------------------
// URLs

/// A `scheme://` URL cut at its delimiters, each part as written (still
/// %-escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlParts<'a> {
    /// The scheme, as written.
    pub scheme: &'a str,
    /// The user, when the URL has credentials.
    pub user: Option<&'a str>,
    /// The password, when the credentials have a `:`.
    pub password: Option<&'a str>,
    /// The host list (`host`, `host:port`, `[v6]:port`, comma-separated).
    pub hosts: &'a str,
    /// The path after the host's `/`, when there is one.
    pub path: Option<&'a str>,
    /// The query's `key=value` pairs (a pair without `=` has an empty value).
    pub query: Vec<(&'a str, &'a str)>,
}

impl UrlParts<'_> {
    /// Returns the URL as written with the password, and any password-valued
    /// query parameter, replaced by `mask`.
    pub fn redacted(&self, mask: &str) -> String {
        let mut out = format!("{}://", self.scheme);
        if let Some(user) = self.user {
            out.push_str(user);
            if self.password.is_some() {
                out.push(':');
                out.push_str(mask);
            }
            out.push('@');
        }
        out.push_str(self.hosts);
        if let Some(path) = self.path {
            out.push('/');
            out.push_str(path);
        }
        if !self.query.is_empty() {
            let pairs: Vec<String> = self
                .query
                .iter()
                .map(|(key, value)| {
                    if is_password_key(key) {
                        format!("{key}={mask}")
                    } else if value.is_empty() && !key.contains('=') {
                        (*key).to_owned()
                    } else {
                        format!("{key}={value}")
                    }
                })
                .collect();
            out.push('?');
            out.push_str(&pairs.join("&"));
        }
        out
    }

    /// Returns the query's pairs, %-decoded; `what` names the URL in errors.
    pub fn decoded_query(&self) -> Result<Vec<(String, String)>, DbError> {
        self.query
            .iter()
            .map(|(key, value)| {
                let key = percent_decode(key, "a query key")?;
                let what = format!("the value of `{key}`");
                let value = if is_password_key(&key) {
                    percent_decode(value, "a password")?
                } else {
                    percent_decode(value, &what)?
                };
                Ok((key, value))
            })
            .collect()
    }

    /// Returns each host of the host list with its port, as written.
    pub fn host_list(&self) -> Result<Vec<(String, Option<u16>)>, DbError> {
        if self.hosts.is_empty() {
            return Ok(Vec::new());
        }
        self.hosts.split(',').map(split_host_port).collect()
    }
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`; the host is %-decoded,
/// brackets removed.
pub(crate) fn split_host_port(hostport: &str) -> Result<(String, Option<u16>), DbError> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("an IPv6 host needs its closing `]`"))?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(invalid("unexpected text after the IPv6 host")),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        Some("") | None => None,
        Some(port) => Some(parse_port(port)?),
    };
    Ok((percent_decode(host, "the host")?, port))
}

/// Reads a TCP port: 1 to 65535.
pub(crate) fn parse_port(value: &str) -> Result<u16, DbError> {
    value
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| invalid("the port must be a number from 1 to 65535"))
}

/// Splits a `scheme://` URL; None when `url` has no `://`.
///
/// Host names never hold `@`, and passwords often hold `@`, `/`, `?` or `#`
/// unescaped, so the credentials end at an `@`, not at the first `/`: the last
/// `@` before the query. The query starts at the first `?` that is followed by
/// `key=` (a `?` inside a password seldom is); when no `@` comes before it, the
/// password itself may hold such a `?`, and the last `@` of all ends the
/// credentials provided the text before it reads as `user:password`.
pub(crate) fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    if !is_scheme(scheme) {
        return None;
    }
    let query_start = query_start(rest);
    let at = match rest[..query_start].rfind('@') {
        Some(at) => Some(at),
        None => rest
            .rfind('@')
            .filter(|&at| plausible_userinfo(&rest[..at], query_start)),
    };
    let (userinfo, after) = match at {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (user, password) = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((user, password)) => (Some(user), Some(password)),
            None => (Some(userinfo), None),
        },
        None => (None, None),
    };
    let host_end = after.find(['/', '?']).unwrap_or(after.len());
    let hosts = &after[..host_end];
    let after = &after[host_end..];
    let (path, query) = match after.strip_prefix('/') {
        Some(path) => match path.split_once('?') {
            Some((path, query)) => (Some(path), Some(query)),
            None => (Some(path), None),
        },
        None => (None, after.strip_prefix('?')),
    };
    let query = query
        .map(|query| {
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
                .collect()
        })
        .unwrap_or_default();
    Some(UrlParts {
        scheme,
        user,
        password,
        hosts,
        path,
        query,
    })
}

/// Returns whether `text` is a URL scheme (RFC 3986: a letter, then letters,
/// digits, `+`, `-` or `.`): an ADO.NET or libpq string whose password holds
/// `://` is not a URL, and its text before `://` is no scheme to be quoted.
pub(crate) fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Returns the scheme of `text` when it is a URL.
pub(crate) fn url_scheme(text: &str) -> Option<&str> {
    text.split_once("://")
        .map(|(scheme, _)| scheme)
        .filter(|scheme| is_scheme(scheme))
}

/// Returns where the query of the text after `scheme://` starts: the first
/// `?` followed by `key=`, else the end.
fn query_start(rest: &str) -> usize {
    rest.match_indices('?')
        .map(|(i, _)| i)
        .find(|&i| {
            let after = &rest[i + 1..];
            let key_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .unwrap_or(after.len());
            key_len > 0 && after[key_len..].starts_with('=')
        })
        .unwrap_or(rest.len())
}

/// Returns whether `userinfo`, which runs past the query's start, reads as
/// `user:password`: a user without delimiters, and a password that does not
/// read as `port/path` (a host without credentials and a query holding `@`).
fn plausible_userinfo(userinfo: &str, query_start: usize) -> bool {
    let Some((user, password)) = userinfo.split_once(':') else {
        return false;
    };
    if user.contains(['/', '?', '#']) {
        return false;
    }
    let before_query = &userinfo[..query_start.min(userinfo.len())];
    !before_query.contains('/') || !password.starts_with(|c: char| c.is_ascii_digit())
}

/// Decodes `%XX` escapes; `what` names the part for the error, never its text.
pub(crate) fn percent_decode(text: &str, what: &str) -> Result<String, DbError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| invalid(format!("{what} has a bad %-escape")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid(format!("{what} is not UTF-8 once decoded")))
}

/// %-escapes everything but unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// ADO.NET

/// One `key=value` pair of an ADO.NET string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdoPair<'a> {
    /// The key as written.
    pub raw_key: &'a str,
    /// The key lower-cased, inner whitespace collapsed to one space.
    pub key: String,
    /// The value as written, quotes included.
    pub raw_value: &'a str,
    /// The value: unquoted, or trimmed when it was not quoted.
    pub value: String,
}

/// Splits an ADO.NET string into pairs.
///
/// A value in `"…"` or `'…'` (a doubled quote inside stands for one) or in
/// `{…}` (a doubled `}` stands for one, as ODBC and JDBC spell it) may hold
/// `;`; a value that is to start with `{` itself is written in quotes.
/// Empty pairs (`;;`) are skipped.
pub(crate) fn split_ado(s: &str) -> Result<Vec<AdoPair<'_>>, DbError> {
    let mut pairs = Vec::new();
    let bytes = s.as_bytes();
    let mut pos = 0;
    'pairs: while pos < s.len() {
        // The key runs to `=`; a `;` before it ends an empty pair or is an error.
        let key_start = pos;
        let eq = loop {
            match bytes.get(pos) {
                Some(b'=') => break pos,
                Some(b';') if s[key_start..pos].trim().is_empty() => {
                    pos += 1;
                    continue 'pairs;
                }
                Some(b';') => {
                    return Err(invalid(format!(
                        "connection string keyword `{}` has no `=value`",
                        normalize_key(&s[key_start..pos])
                    )))
                }
                Some(_) => pos += 1,
                None if s[key_start..].trim().is_empty() => break 'pairs,
                None => {
                    return Err(invalid(format!(
                        "connection string keyword `{}` has no `=value`",
                        normalize_key(&s[key_start..])
                    )))
                }
            }
        };
        let raw_key = &s[key_start..eq];
        let key = normalize_key(raw_key);
        if key.is_empty() {
            return Err(invalid("connection string has a value without a keyword"));
        }
        pos = eq + 1;
        while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        let value_start = pos;
        let closer = match bytes.get(pos) {
            Some(b'"') => b'"',
            Some(b'\'') => b'\'',
            Some(b'{') => b'}',
            _ => {
                let end = s[pos..].find(';').map_or(s.len(), |i| pos + i);
                let value = s[value_start..end].trim_end();
                pairs.push(AdoPair {
                    raw_key,
                    key,
                    raw_value: value,
                    value: value.to_owned(),
                });
                pos = end + 1;
                continue;
            }
        };
        pos += 1;
        let mut value = Vec::new();
        loop {
            match bytes.get(pos) {
                Some(&c) if c == closer && bytes.get(pos + 1) == Some(&closer) => {
                    value.push(closer);
                    pos += 2;
                }
                Some(&c) if c == closer => {
                    pos += 1;
                    break;
                }
                Some(&c) => {
                    value.push(c);
                    pos += 1;
                }
                None => {
                    return Err(invalid(format!(
                        "the value of `{key}` has no closing {}",
                        if closer == b'}' { "`}`" } else { "quote" }
                    )))
                }
            }
        }
        let raw_end = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        match bytes.get(pos) {
            None | Some(b';') => pos += 1,
            Some(_) => {
                return Err(invalid(format!(
                    "unexpected text after the quoted value of `{key}`"
                )))
            }
        }
        pairs.push(AdoPair {
            raw_key,
            key,
            raw_value: &s[value_start..raw_end],
            // Only the ASCII quotes were dropped, so the rest is still UTF-8.
            value: String::from_utf8(value).unwrap_or_default(),
        });
    }
    Ok(pairs)
}

fn normalize_key(key: &str) -> String {
    key.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

/// Returns whether the pairs name a SQL Server: ADO.NET's server keys.
pub(crate) fn names_ado_server(pairs: &[AdoPair<'_>]) -> bool {
    pairs.iter().any(|pair| {
        matches!(
            pair.key.as_str(),
            "server" | "data source" | "addr" | "address" | "network address"
        )
    })
}

/// Returns the pairs joined again with every password replaced by `mask`;
/// a value that holds a `password=` of its own (a libpq string taken for
/// ADO.NET) is cut there.
pub(crate) fn redact_ado(pairs: &[AdoPair<'_>], mask: &str) -> String {
    pairs
        .iter()
        .map(|pair| {
            if is_password_key(&pair.key) {
                format!("{}={mask}", pair.raw_key)
            } else {
                format!("{}={}", pair.raw_key, cut_at_password(pair.raw_value, mask))
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

// ---------------------------------------------------------------------------
// libpq

/// One `key=value` pair of a libpq string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PqPair<'a> {
    /// The key as written.
    pub key: &'a str,
    /// The value as written, quotes and escapes included.
    pub raw_value: &'a str,
    /// The value, unquoted and unescaped.
    pub value: String,
}

/// Splits a libpq `key=value` string (`host=h dbname='my db' password=p\ q`).
pub(crate) fn split_libpq(s: &str) -> Result<Vec<PqPair<'_>>, DbError> {
    let mut pairs = Vec::new();
    let mut chars = s.char_indices().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
    };
    loop {
        skip_ws(&mut chars);
        let Some(&(key_start, _)) = chars.peek() else {
            return Ok(pairs);
        };
        let mut key_end = s.len();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || c == '=' {
                key_end = i;
                break;
            }
            chars.next();
        }
        let key = &s[key_start..key_end];
        skip_ws(&mut chars);
        if chars.next_if(|&(_, c)| c == '=').is_none() {
            return Err(invalid(format!(
                "connection string keyword `{key}` has no `=value`"
            )));
        }
        if key.is_empty() {
            return Err(invalid("connection string has a value without a keyword"));
        }
        skip_ws(&mut chars);
        let value_start = chars.peek().map_or(s.len(), |&(i, _)| i);
        let mut value = String::new();
        let value_end;
        if chars.next_if(|&(_, c)| c == '\'').is_some() {
            loop {
                match chars.next() {
                    Some((i, '\'')) => {
                        value_end = i + 1;
                        break;
                    }
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c)) => value.push(c),
                        None => {
                            return Err(invalid(format!(
                                "the value of `{key}` has no closing quote"
                            )))
                        }
                    },
                    Some((_, c)) => value.push(c),
                    None => {
                        return Err(invalid(format!(
                            "the value of `{key}` has no closing quote"
                        )))
                    }
                }
            }
        } else {
            let mut end = s.len();
            while let Some(&(i, c)) = chars.peek() {
                if c.is_whitespace() {
                    end = i;
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(invalid(format!(
                    "the value of `{key}` is empty: write `{key}=''`"
                )));
            }
            value_end = end;
        }
        pairs.push(PqPair {
            key,
            raw_value: &s[value_start..value_end],
            value,
        });
    }
}

/// Returns whether `s` reads as a libpq string that names a PostgreSQL server.
pub(crate) fn is_libpq(s: &str) -> bool {
    !s.contains(';')
        && split_libpq(s).is_ok_and(|pairs| {
            pairs
                .iter()
                .any(|pair| matches!(pair.key, "host" | "hostaddr" | "dbname"))
        })
}

/// Returns the pairs joined again with every password replaced by `mask`.
pub(crate) fn redact_libpq(pairs: &[PqPair<'_>], mask: &str) -> String {
    pairs
        .iter()
        .map(|pair| {
            if is_password_key(pair.key) {
                format!("{}={mask}", pair.key)
            } else {
                format!("{}={}", pair.key, pair.raw_value)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes a value for a libpq string: quoted, `\` and `'` escaped.
pub(crate) fn libpq_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The spellings of password keys that [`cut_at_password`] looks for.
const PASSWORD_WORDS: [&str; 4] = ["password", "passwd", "pwd", "pass"];

/// Returns whether `text` has a password key followed by `=` and a value
/// other than `mask`.
pub(crate) fn shows_password_value(text: &str, mask: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    PASSWORD_WORDS.iter().any(|key| {
        lower.match_indices(key).any(|(start, _)| {
            let after = lower
                .get(start + key.len()..)
                .unwrap_or_default()
                .trim_start();
            after.strip_prefix('=').is_some_and(|value| {
                let value = value.trim_start();
                !value.is_empty() && !value.starts_with(mask)
            })
        })
    })
}

/// Returns `text` cut at the first password key (`password=`, `pwd =`, …)
/// with `mask` for all that follows: the last resort for text no parser
/// could split.
pub(crate) fn cut_at_password(text: &str, mask: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut best: Option<usize> = None;
    for key in PASSWORD_WORDS {
        for (start, _) in lower.match_indices(key) {
            let after = lower.get(start + key.len()..).unwrap_or_default();
            if after.trim_start().starts_with('=') {
                let cut = start + key.len();
                best = Some(best.map_or(cut, |b: usize| b.min(cut)));
                break;
            }
        }
    }
    match best {
        Some(cut) => format!("{}={mask}", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Replaces each of `secrets` in `message` by `mask`: the last guard, for
/// driver messages, in case one quotes what it was given. Secrets shorter than
/// three characters are left alone, as replacing them would garble the text.
pub(crate) fn scrub(message: String, secrets: &[&str], mask: &str) -> String {
    let mut message = message;
    for secret in secrets {
        if secret.chars().count() >= 3 && message.contains(secret) {
            message = message.replace(secret, mask);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// User, password, hosts, path and query of a split URL.
    type Parts<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Vec<(&'a str, &'a str)>,
    );

    fn parts(url: &str) -> Parts<'_> {
        let p = split_url(url).unwrap();
        (p.user, p.password, p.hosts, p.path, p.query)
    }

    #[test]
    fn urls_split_at_the_right_at() {
        assert_eq!(
            parts("postgres://revpw:Sup3r@Secret@127.0.0.1/db"),
            (
                Some("revpw"),
                Some("Sup3r@Secret"),
                "127.0.0.1",
                Some("db"),
                vec![]
            )
        );
        assert_eq!(
            parts("postgres://u:pa/ss@h:5432/db"),
            (Some("u"), Some("pa/ss"), "h:5432", Some("db"), vec![])
        );
        assert_eq!(
            parts("postgres://u:se/cr?et@db/app"),
            (Some("u"), Some("se/cr?et"), "db", Some("app"), vec![])
        );
        assert_eq!(
            parts("postgres://u:p@h/db?application_name=a@b"),
            (
                Some("u"),
                Some("p"),
                "h",
                Some("db"),
                vec![("application_name", "a@b")]
            )
        );
        assert_eq!(
            parts("postgres://h/db?application_name=a@b"),
            (
                None,
                None,
                "h",
                Some("db"),
                vec![("application_name", "a@b")]
            )
        );
        assert_eq!(
            parts("postgres://h:5432/db?application_name=a@b"),
            (
                None,
                None,
                "h:5432",
                Some("db"),
                vec![("application_name", "a@b")]
            )
        );
        assert_eq!(
            parts("mssql://sa:p@ss/w?rd:x@host:1500/app?encrypt=false"),
            (
                Some("sa"),
                Some("p@ss/w?rd:x"),
                "host:1500",
                Some("app"),
                vec![("encrypt", "false")]
            )
        );
        assert_eq!(
            parts("mysql://root:a#b?c@h/app?x=1"),
            (
                Some("root"),
                Some("a#b?c"),
                "h",
                Some("app"),
                vec![("x", "1")]
            )
        );
        assert_eq!(
            parts("postgres://u:x?a=b@h/db"),
            (Some("u"), Some("x?a=b"), "h", Some("db"), vec![])
        );
        assert_eq!(
            parts("postgres://u:a?b@h/db?x=a@b"),
            (Some("u"), Some("a?b"), "h", Some("db"), vec![("x", "a@b")])
        );
        assert_eq!(
            parts("mysql://h?x=1"),
            (None, None, "h", None, vec![("x", "1")])
        );
        assert_eq!(parts("mysql://"), (None, None, "", None, vec![]));
    }

    #[test]
    fn ado_values_quoted_three_ways() {
        let pairs =
            split_ado("Server=tcp:h,1433; Password={a;b}}c} ;User Id='it''s';x=\"q;\"\"\";;")
                .unwrap();
        let values: Vec<_> = pairs
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            values,
            [
                ("server", "tcp:h,1433"),
                ("password", "a;b}c"),
                ("user id", "it's"),
                ("x", "q;\"")
            ]
        );
        assert_eq!(
            redact_ado(&pairs, "****"),
            "Server=tcp:h,1433; Password=****;User Id='it''s';x=\"q;\"\"\""
        );
        assert!(split_ado("server=h;password={abc").is_err());
        assert!(split_ado("server=h;password={abc}x").is_err());
        assert_eq!(split_ado("").unwrap(), vec![]);
        assert_eq!(split_ado(";;").unwrap(), vec![]);
    }

    #[test]
    fn libpq_values() {
        let pairs = split_libpq(r"host=h  password = 'a b\'c' dbname=d\ x").unwrap();
        let values: Vec<_> = pairs.iter().map(|p| (p.key, p.value.as_str())).collect();
        assert_eq!(
            values,
            [("host", "h"), ("password", "a b'c"), ("dbname", "d x")]
        );
        assert_eq!(
            redact_libpq(&pairs, "****"),
            r"host=h password=**** dbname=d\ x"
        );
        assert!(split_libpq("host=h password='x").is_err());
        assert!(split_libpq("host").is_err());
        assert!(is_libpq("host=h user=u"));
        assert!(!is_libpq("user=u password=p"));
    }

    #[test]
    fn cutting_at_the_password() {
        assert_eq!(cut_at_password("a=1;PWD = x;y=2", "****"), "a=1;PWD=****");
        assert_eq!(cut_at_password("nothing here", "****"), "nothing here");
    }
}
