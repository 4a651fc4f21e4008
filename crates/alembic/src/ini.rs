//! `alembic.ini`: where the scripts and their versions directories are.
//!
//! The file is read the way Python's `configparser` reads it for Alembic:
//! `[section]` headers, `key = value` or `key: value`, indented continuation
//! lines, `#` and `;` comment lines, and `%(name)s` interpolation with
//! `here` set to the file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What rev needs of an `alembic.ini`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlembicIni {
    /// The directory holding `env.py` and, by default, `versions/`.
    pub script_location: PathBuf,
    /// The directories the revision files are read from.
    pub version_locations: Vec<PathBuf>,
    /// Whether the version directories are searched recursively.
    pub recursive: bool,
    /// The scheme of `sqlalchemy.url` (`postgresql+psycopg2`), never the rest of it.
    pub url_scheme: Option<String>,
}

/// Parses the sections of an ini text: section name to (key, value) pairs,
/// keys lower-cased as configparser does.
pub fn sections(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = String::new();
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            last_key = None;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let indented = line.len() != trimmed.len();
        if indented {
            if let Some(key) = &last_key {
                if let Some(value) = out.get_mut(&section).and_then(|s| s.get_mut(key)) {
                    if !value.is_empty() {
                        value.push('\n');
                    }
                    value.push_str(trimmed);
                }
                continue;
            }
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.trim().to_owned();
            out.entry(section.clone()).or_default();
            last_key = None;
            continue;
        }
        let split = trimmed.find(['=', ':']);
        let Some(at) = split else {
            continue;
        };
        let key = trimmed[..at].trim().to_ascii_lowercase();
        let value = trimmed[at + 1..].trim().to_owned();
        out.entry(section.clone())
            .or_default()
            .insert(key.clone(), value);
        last_key = Some(key);
    }
    out
}

/// Replaces `%(name)s` with the value of `name` (from `vars`) and `%%` with `%`.
fn interpolate(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some((name, after)) = tail.strip_prefix("%(").and_then(|t| t.split_once(")s"))
        {
            match vars.get(&name.to_ascii_lowercase()) {
                Some(v) => out.push_str(v),
                None => {
                    out.push_str("%(");
                    out.push_str(name);
                    out.push_str(")s");
                }
            }
            rest = after;
        } else {
            out.push('%');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Splits `version_locations` as Alembic does: by `path_separator` (or the
/// older `version_path_separator`), else on spaces and commas.
fn split_locations(value: &str, separator: Option<&str>) -> Vec<String> {
    let parts: Vec<String> = match separator {
        Some("newline") => value.lines().map(str::to_owned).collect(),
        Some("space") => value.split(' ').map(str::to_owned).collect(),
        Some("os") | Some(":") => value.split(':').map(str::to_owned).collect(),
        Some(";") => value.split(';').map(str::to_owned).collect(),
        Some(",") => value.split(',').map(str::to_owned).collect(),
        _ => value
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(str::to_owned)
            .collect(),
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Resolves a path from the ini against the ini's directory; `package:dir`
/// (Alembic's package-resource form) becomes `package/dir`.
fn resolve(dir: &Path, value: &str) -> PathBuf {
    let path = Path::new(value);
    if path.is_absolute() {
        return path.to_owned();
    }
    if let Some((package, resource)) = value.split_once(':') {
        if !package.contains('/') && !dir.join(value).exists() {
            return dir.join(package.replace('.', "/")).join(resource);
        }
    }
    dir.join(path)
}

/// Reads `alembic.ini` (its `[alembic]` section).
pub fn read(path: &Path, text: &str) -> Result<AlembicIni, String> {
    let dir = path.parent().unwrap_or(Path::new("")).to_owned();
    let all = sections(text);
    let section = all
        .get("alembic")
        .ok_or_else(|| "it has no [alembic] section".to_owned())?;
    let mut vars: BTreeMap<String, String> = all.get("DEFAULT").cloned().unwrap_or_default();
    vars.extend(section.iter().map(|(k, v)| (k.clone(), v.clone())));
    let here = if dir.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        dir.to_string_lossy().into_owned()
    };
    vars.insert("here".to_owned(), here);
    let get = |key: &str| section.get(key).map(|v| interpolate(v, &vars));
    let script = get("script_location")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "its [alembic] section has no script_location".to_owned())?;
    let script_location = resolve(&dir, &script);
    let separator = get("path_separator").or_else(|| get("version_path_separator"));
    let version_locations = match get("version_locations") {
        Some(value) if !value.trim().is_empty() => split_locations(&value, separator.as_deref())
            .iter()
            .map(|p| resolve(&dir, p))
            .collect(),
        _ => vec![script_location.join("versions")],
    };
    let recursive = get("recursive_version_locations").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on"
        )
    });
    let url_scheme = get("sqlalchemy.url")
        .and_then(|url| url.split_once("://").map(|(scheme, _)| scheme.to_owned()))
        .filter(|scheme| !scheme.is_empty() && !scheme.contains('%'));
    Ok(AlembicIni {
        script_location,
        version_locations,
        recursive,
        url_scheme,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_template_ini() {
        let text = "# A generic, single database configuration.\n\n[alembic]\n# path to migration scripts\nscript_location = %(here)s/migrations\nprepend_sys_path = .\nversion_path_separator = os\nsqlalchemy.url = postgresql://scott:tiger@localhost/test\n\n[loggers]\nkeys = root\n";
        let ini = read(Path::new("/p/alembic.ini"), text).unwrap();
        assert_eq!(ini.script_location, PathBuf::from("/p/migrations"));
        assert_eq!(
            ini.version_locations,
            vec![PathBuf::from("/p/migrations/versions")]
        );
        assert!(!ini.recursive);
        assert_eq!(ini.url_scheme.as_deref(), Some("postgresql"));
    }

    #[test]
    fn version_locations_and_continuations() {
        let text = "[alembic]\nscript_location: db\nversion_locations = %(here)s/a\n    %(here)s/b, c\nrecursive_version_locations = true\n";
        let ini = read(Path::new("/p/alembic.ini"), text).unwrap();
        assert_eq!(ini.script_location, PathBuf::from("/p/db"));
        assert_eq!(
            ini.version_locations,
            vec![
                PathBuf::from("/p/a"),
                PathBuf::from("/p/b"),
                PathBuf::from("/p/c")
            ]
        );
        assert!(ini.recursive);

        let text =
            "[alembic]\nscript_location = db\npath_separator = ;\nversion_locations = x y;z\n";
        let ini = read(Path::new("/p/alembic.ini"), text).unwrap();
        assert_eq!(
            ini.version_locations,
            vec![PathBuf::from("/p/x y"), PathBuf::from("/p/z")]
        );
    }

    #[test]
    fn missing_pieces_are_errors() {
        assert!(read(Path::new("a.ini"), "[other]\nx = 1\n").is_err());
        assert!(read(Path::new("a.ini"), "[alembic]\nx = 1\n").is_err());
    }

    #[test]
    fn package_resources_become_paths() {
        let ini = read(
            Path::new("/p/alembic.ini"),
            "[alembic]\nscript_location = myapp.db:migrations\n",
        )
        .unwrap();
        assert_eq!(ini.script_location, PathBuf::from("/p/myapp/db/migrations"));
    }
}
