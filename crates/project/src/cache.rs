//! The header cache (DESIGN.md §9): what the graph-only commands (`heads`,
//! `branches`, `history`, `graph`) need of each migration file, kept in one
//! file under the project root, so that a 100,000-file history is listed and
//! stat'ed on every run but opened, read and parsed only where it changed.
//!
//! A file's entry is trusted when the file's name, size, mtime (to the
//! nanosecond) and inode are those recorded, as git trusts its index, and
//! with git's "racy" rule: an entry whose mtime is not older than the
//! cache's own mtime less [`RACY_MARGIN_NS`] is re-read, since the file may
//! have changed again within the same timestamp tick after it was read. Every
//! file not trusted is read and parsed as [`crate::Project::load`] reads it,
//! errors included; a file that fails to parse fails the load and is never
//! written to the cache.
//!
//! The file, [`CACHE_DIR`]`/headers-v1`, is binary: a magic line, the body's
//! length and checksum, then the body: rev's version, the migrations
//! directory it describes, and one entry per file sorted by name (strings as
//! a `u32` length and UTF-8 bytes, integers little-endian). Anything that does
//! not decode exactly (another version, another directory, a truncated or
//! corrupt file) is ignored and the cache rebuilt. It is written to a
//! temporary file renamed over the old one, only when something changed,
//! and a failure to write is ignored: the cache only ever saves time.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::{Migration, MigrationFile, ProjectError};

/// The directory under the project root (rev.ron's directory) that holds the
/// header cache. Safe to delete at any time; it is never committed.
pub const CACHE_DIR: &str = ".rev-cache";

/// The cache file's name in [`CACHE_DIR`]; the version changes with the format.
const CACHE_FILE: &str = "headers-v1";

/// The first bytes of a cache file: the format and its version.
const MAGIC: &[u8; 16] = b"rev headers v1\n\0";

/// How close (in nanoseconds) to the cache's own mtime a file's mtime may be
/// before the file is re-read anyway: two seconds covers filesystems with
/// coarse timestamps (FAT's two seconds, one second elsewhere).
const RACY_MARGIN_NS: i128 = 2_000_000_000;

/// A cache file larger than this is not read: far beyond what a million
/// revisions need, it bounds what a foreign file there can cost.
const MAX_CACHE_FILE: u64 = 1024 * 1024 * 1024;

/// Returns the path of the header cache of the project rooted at `root`.
pub(crate) fn path(root: &Path) -> PathBuf {
    root.join(CACHE_DIR).join(CACHE_FILE)
}

/// How [`crate::Project::load_headers`] read the migration files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderLoad {
    /// Files whose header came from the cache, unopened.
    pub cached: usize,
    /// Files read and parsed (new, changed, too recent to trust, or all of
    /// them without a usable cache).
    pub read: usize,
    /// Whether the cache file was (re)written.
    pub written: bool,
}

/// What a file's entry is validated by: size, mtime and inode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stamp {
    size: u64,
    secs: i64,
    nanos: u32,
    ino: u64,
}

impl Stamp {
    /// Returns the stamp of a file's metadata.
    pub(crate) fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Stamp {
                size: meta.size(),
                secs: meta.mtime(),
                nanos: u32::try_from(meta.mtime_nsec()).unwrap_or(0),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            // No inode here: size and mtime alone, as git does on Windows.
            let (secs, nanos) = match meta
                .modified()
                .map(|t| t.duration_since(std::time::UNIX_EPOCH))
            {
                Ok(Ok(d)) => (
                    i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    d.subsec_nanos(),
                ),
                _ => (0, 0),
            };
            Stamp {
                size: meta.len(),
                secs,
                nanos,
                ino: 0,
            }
        }
    }

    /// Returns the mtime in nanoseconds since the epoch.
    fn mtime_ns(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }
}

/// One file's entry as the cache file's index gives it: where its name (the
/// file's in the versions directory) is in the body, its stamp when it was
/// read, and where its header starts. Headers are decoded only for the
/// files that use them, on the reading threads.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name: (usize, usize),
    stamp: Stamp,
    at: usize,
}

impl Entry {
    /// Returns the entry's name, as bytes, from the body it indexes.
    fn name<'b>(&self, body: &'b [u8]) -> &'b [u8] {
        body.get(self.name.0..self.name.1).unwrap_or_default()
    }
}

/// A cache file as read: its bytes, where its body starts (the entries'
/// offsets count from there), its mtime in nanoseconds, and its entries.
struct Cache {
    bytes: Vec<u8>,
    start: usize,
    written_ns: i128,
    entries: Vec<Entry>,
}

/// Returns a migration with its header only: the operations and the
/// acknowledged conflicts dropped (a headers-only load holds none).
fn header(migration: Migration) -> Migration {
    Migration {
        upgrade: Vec::new(),
        downgrade: None,
        acknowledged: Vec::new(),
        ..migration
    }
}

/// Reads the migration files of `dir` with their headers only, through the
/// cache at `cache` (none: every file read, nothing written). `key` names
/// the migrations directory the cache must describe.
pub(crate) fn read_headers(
    dir: &Path,
    cache: Option<&Path>,
    key: &str,
) -> Result<(Vec<MigrationFile>, HeaderLoad), ProjectError> {
    // The cache is read and indexed while the directory is listed.
    let (paths, loaded) = std::thread::scope(|scope| {
        let loading = cache.map(|path| scope.spawn(move || load(path, key)));
        let paths = crate::list_migrations(dir);
        (paths, loading.and_then(|h| h.join().ok().flatten()))
    });
    let paths = paths?;
    // A missing or unusable cache is rebuilt.
    let mut dirty = cache.is_some() && loaded.is_none();
    let Cache {
        bytes,
        start,
        written_ns,
        entries,
    } = loaded.unwrap_or(Cache {
        bytes: Vec::new(),
        start: 0,
        written_ns: i128::MIN,
        entries: Vec::new(),
    });
    let body = bytes.get(start..).unwrap_or_default();
    // Both lists are sorted by name (as bytes): one merge pairs each file
    // with its entry.
    let mut entries = entries.into_iter().peekable();
    let mut jobs: Vec<(PathBuf, Option<Entry>)> = Vec::with_capacity(paths.len());
    for path in paths {
        let name = path.file_name().unwrap_or_default().as_encoded_bytes();
        while entries.next_if(|e| e.name(body) < name).is_some() {
            dirty = true;
        }
        let pair = entries.next_if(|e| e.name(body) == name);
        jobs.push((path, pair));
    }
    // Entries past the last file are of removed files.
    dirty |= entries.next().is_some();
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    let (files, outcomes) = crate::read_parallel(jobs, |(path, entry), buffer| {
        read_one(path, entry, body, written_ns, now_ns, buffer)
    })?;
    let mut load = HeaderLoad::default();
    for outcome in &outcomes {
        if outcome.cached {
            load.cached += 1;
        } else {
            load.read += 1;
        }
        dirty |= outcome.dirty;
    }
    if let (Some(path), true) = (cache, dirty) {
        load.written = write(path, &encode(key, &files, &outcomes)).is_ok();
    }
    Ok((files, load))
}

/// How one file was had: the stamp to record for it, whether its header
/// came from the cache, and whether the cache needs rewriting on its account.
struct Outcome {
    stamp: Stamp,
    cached: bool,
    dirty: bool,
}

/// Returns one file with its header: decoded from its cache entry when the
/// entry holds, else read and parsed as without the cache.
fn read_one(
    path: PathBuf,
    entry: Option<Entry>,
    body: &[u8],
    written_ns: i128,
    now_ns: i128,
    buffer: &mut Vec<u8>,
) -> Result<(MigrationFile, Outcome), ProjectError> {
    if let Some(entry) = entry.filter(|e| holds(&path, e.stamp, written_ns)) {
        // The index checked the entry's shape; a header that still does not
        // decode is read from its file like any other.
        if let Some(migration) = decode_header(body, entry.at) {
            let outcome = Outcome {
                stamp: entry.stamp,
                cached: true,
                dirty: false,
            };
            return Ok((MigrationFile { path, migration }, outcome));
        }
    }
    let (file, stamp) = crate::read_migration_stamped(path, buffer)?;
    let migration = header(file.migration);
    // An entry re-read only because it was too recent to trust, and found
    // unchanged, needs no rewrite while it is still that recent: written
    // again, it would be just as untrusted. Once it is older than the
    // margin, a rewrite lets the next run trust it.
    let dirty = entry.is_none_or(|entry| {
        entry.stamp != stamp
            || decode_header(body, entry.at).as_ref() != Some(&migration)
            || stamp.mtime_ns() < now_ns - RACY_MARGIN_NS
    });
    let outcome = Outcome {
        stamp,
        cached: false,
        dirty,
    };
    Ok((
        MigrationFile {
            path: file.path,
            migration,
        },
        outcome,
    ))
}

/// Returns whether the entry stamped `stamp` still describes the file at
/// `path`: the file has that stamp, and its mtime is older than the cache's
/// (`written_ns`) by the margin. A file that cannot be stat'ed is not
/// trusted: it is read, to fail as it would without the cache.
fn holds(path: &Path, stamp: Stamp, written_ns: i128) -> bool {
    match fs::metadata(path) {
        Ok(meta) => {
            Stamp::of(&meta) == stamp
                && stamp.mtime_ns() < written_ns.saturating_sub(RACY_MARGIN_NS)
        }
        Err(_) => false,
    }
}

/// Returns a migration with every field empty or at its default, for
/// [`decode_header`] to fill the header fields of.
fn empty() -> Migration {
    Migration {
        id: String::new(),
        parents: Vec::new(),
        message: String::new(),
        created: None,
        branch_labels: Vec::new(),
        depends_on: Vec::new(),
        transactional: true,
        replaces: Vec::new(),
        upgrade: Vec::new(),
        downgrade: None,
        acknowledged: Vec::new(),
    }
}

/// Returns rev's version, so that another build's cache is rebuilt rather
/// than trusted.
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Reads and indexes the cache file, or returns `None` when it is missing
/// or is not a whole, undamaged cache of `key` by this version.
fn load(path: &Path, key: &str) -> Option<Cache> {
    let file = fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_CACHE_FILE {
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
    io::Read::read_to_end(&mut io::Read::take(file, MAX_CACHE_FILE), &mut bytes).ok()?;
    let start = body_start(&bytes, key)?;
    let entries = index(bytes.get(start..)?)?;
    Some(Cache {
        bytes,
        start,
        written_ns: Stamp::of(&meta).mtime_ns(),
        entries,
    })
}

/// Writes the cache file: a temporary file in the cache directory, renamed
/// over the old one, so that a reader sees the old cache or the new, whole.
/// No fsync: a cache torn by a crash fails its checksum and is rebuilt.
fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new(""));
    if !dir.is_dir() {
        fs::create_dir_all(dir)?;
        // Ignored by git even in a project whose .gitignore does not list it.
        let _ = fs::write(
            dir.join(".gitignore"),
            "# rev's header cache (safe to delete): never committed.\n*\n",
        );
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = fs::write(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Returns a 64-bit checksum of `bytes`: a multiply-rotate over 8-byte words,
/// to tell a damaged cache, not to resist a forged one.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hash = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        hash = (hash ^ word).wrapping_mul(K).rotate_left(29);
    }
    for &byte in words.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(K).rotate_left(29);
    }
    hash
}

/// Returns the bytes of the cache file holding `files`, each with the stamp
/// of its outcome.
fn encode(key: &str, files: &[MigrationFile], outcomes: &[Outcome]) -> Vec<u8> {
    let mut body = Vec::with_capacity(64 + files.len() * 160);
    put_str(&mut body, version());
    put_str(&mut body, key);
    body.extend_from_slice(&(files.len() as u64).to_le_bytes());
    for (file, stamp) in files.iter().zip(outcomes.iter().map(|o| o.stamp)) {
        let name = file.path.file_name().unwrap_or_default().to_string_lossy();
        put_str(&mut body, &name);
        body.extend_from_slice(&stamp.size.to_le_bytes());
        body.extend_from_slice(&stamp.secs.to_le_bytes());
        body.extend_from_slice(&stamp.nanos.to_le_bytes());
        body.extend_from_slice(&stamp.ino.to_le_bytes());
        let m = &file.migration;
        put_str(&mut body, &m.id);
        put_strs(&mut body, &m.parents);
        put_str(&mut body, &m.message);
        match &m.created {
            Some(created) => {
                body.push(1);
                put_str(&mut body, created);
            }
            None => body.push(0),
        }
        put_strs(&mut body, &m.branch_labels);
        put_strs(&mut body, &m.depends_on);
        body.push(u8::from(m.transactional));
        put_strs(&mut body, &m.replaces);
    }
    let mut bytes = Vec::with_capacity(MAGIC.len() + 16 + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&checksum(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    bytes
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    // A string over 4 GiB cannot be in a file under MAX_MIGRATION_FILE.
    out.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn put_strs(out: &mut Vec<u8>, list: &[String]) {
    out.extend_from_slice(&u32::try_from(list.len()).unwrap_or(u32::MAX).to_le_bytes());
    for text in list {
        put_str(out, text);
    }
}

/// Returns where the body of a cache file's bytes starts, or `None` unless
/// they are a whole, undamaged cache (its checksum holds) of `key` written by
/// this version.
fn body_start(bytes: &[u8], key: &str) -> Option<usize> {
    let mut r = Bytes(bytes);
    if r.take(MAGIC.len())? != MAGIC {
        return None;
    }
    let len = usize::try_from(r.u64()?).ok()?;
    let sum = r.u64()?;
    let start = bytes.len() - r.0.len();
    let body = r.take(len)?;
    if !r.0.is_empty() || checksum(body) != sum {
        return None;
    }
    let mut r = Bytes(body);
    (r.str()? == version() && r.str()? == key).then_some(start)
}

/// Returns the entries of a cache body (as [`load`] keeps it), or `None`
/// unless every entry has the shape [`encode`] writes and they are sorted by
/// name without duplicates. Nothing is allocated per entry: names and
/// headers are found by their offsets.
fn index(body: &[u8]) -> Option<Vec<Entry>> {
    let mut r = Bytes(body);
    r.str()?;
    r.str()?;
    let count = usize::try_from(r.u64()?).ok()?;
    // Each entry takes more than 32 bytes: a count beyond that is damage,
    // and must not size an allocation.
    let mut entries: Vec<Entry> = Vec::with_capacity(count.min(body.len() / 32));
    let mut last: &[u8] = &[];
    for _ in 0..count {
        let name = r.bytes()?;
        // Names are UTF-8, sorted, and none twice (the empty name is none).
        if std::str::from_utf8(name).is_err() || name <= last {
            return None;
        }
        last = name;
        let end = body.len() - r.0.len();
        let name = (end - name.len(), end);
        let stamp = Stamp {
            size: r.u64()?,
            secs: i64::from_le_bytes(r.array()?),
            nanos: r.u32()?,
            ino: r.u64()?,
        };
        let at = body.len() - r.0.len();
        // id, parents, message, created, labels, depends_on, transactional, replaces
        r.bytes()?;
        r.skip_strs()?;
        r.bytes()?;
        match r.u8()? {
            0 => {}
            1 => {
                r.bytes()?;
            }
            _ => return None,
        }
        r.skip_strs()?;
        r.skip_strs()?;
        if r.u8()? > 1 {
            return None;
        }
        r.skip_strs()?;
        entries.push(Entry { name, stamp, at });
    }
    r.0.is_empty().then_some(entries)
}

/// Decodes the header that starts at `at` in a cache body.
fn decode_header(body: &[u8], at: usize) -> Option<Migration> {
    let mut r = Bytes(body.get(at..)?);
    let id = r.str()?;
    let parents = r.strs()?;
    let message = r.str()?;
    let created = match r.u8()? {
        0 => None,
        1 => Some(r.str()?),
        _ => return None,
    };
    let branch_labels = r.strs()?;
    let depends_on = r.strs()?;
    let transactional = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let replaces = r.strs()?;
    Some(Migration {
        id,
        parents,
        message,
        created,
        branch_labels,
        depends_on,
        transactional,
        replaces,
        ..empty()
    })
}

/// A cursor over bytes that fails (`None`) instead of reading past the end.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        Some(u8::from_le_bytes(self.array()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }

    /// A string's bytes, unchecked.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        self.take(len)
    }

    fn str(&mut self) -> Option<String> {
        Some(std::str::from_utf8(self.bytes()?).ok()?.to_owned())
    }

    fn skip_strs(&mut self) -> Option<()> {
        let count = self.u32()?;
        for _ in 0..count {
            self.bytes()?;
        }
        Some(())
    }

    fn strs(&mut self) -> Option<Vec<String>> {
        let count = usize::try_from(self.u32()?).ok()?;
        // Each string takes at least its 4-byte length.
        if count > self.0.len() / 4 {
            return None;
        }
        (0..count).map(|_| self.str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> (MigrationFile, Stamp) {
        let file = MigrationFile {
            path: PathBuf::from("m/versions").join(name),
            migration: header(Migration::parse(text).unwrap()),
        };
        let stamp = Stamp {
            size: text.len() as u64,
            secs: 1_700_000_000,
            nanos: 123,
            ino: 42,
        };
        (file, stamp)
    }

    /// Decodes a cache file's bytes as a load does: the body, the index,
    /// every header.
    fn decode(bytes: &[u8], key: &str) -> Option<Vec<(String, Stamp, Migration)>> {
        let body = bytes.get(body_start(bytes, key)?..)?;
        index(body)?
            .into_iter()
            .map(|e| {
                let name = String::from_utf8(e.name(body).to_vec()).ok()?;
                Some((name, e.stamp, decode_header(body, e.at)?))
            })
            .collect()
    }

    fn sample() -> Vec<u8> {
        let (files, stamps): (Vec<_>, Vec<_>) = [
            file("a.ron", r#"Migration(id: "a", message: "first", created: "2026-01-01T00:00:00Z")"#),
            file(
                "b.ron",
                r#"Migration(id: "b", parents: ["a"], message: "ünïcode", branch_labels: ["x"], depends_on: ["a"], transactional: false, replaces: ["q", "r"])"#,
            ),
        ]
        .into_iter()
        .unzip();
        let outcomes: Vec<Outcome> = stamps
            .into_iter()
            .map(|stamp| Outcome {
                stamp,
                cached: false,
                dirty: true,
            })
            .collect();
        encode("m", &files, &outcomes)
    }

    #[test]
    fn entries_round_trip() {
        let entries = decode(&sample(), "m").unwrap();
        assert_eq!(entries.len(), 2);
        let expected = [
            file(
                "a.ron",
                r#"Migration(id: "a", message: "first", created: "2026-01-01T00:00:00Z")"#,
            ),
            file(
                "b.ron",
                r#"Migration(id: "b", parents: ["a"], message: "ünïcode", branch_labels: ["x"], depends_on: ["a"], transactional: false, replaces: ["q", "r"])"#,
            ),
        ];
        for ((name, stamp, migration), (file, expected)) in entries.iter().zip(&expected) {
            assert_eq!(migration, &file.migration);
            assert_eq!(stamp, expected);
            assert!(file.path.ends_with(name));
        }
    }

    #[test]
    fn a_cache_of_another_directory_is_foreign() {
        assert!(decode(&sample(), "other").is_none());
    }

    #[test]
    fn every_truncation_and_every_flipped_byte_is_refused() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len], "m").is_none(), "truncated to {len}");
        }
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            assert!(decode(&damaged, "m").is_none(), "byte {at} flipped");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, "m").is_none());
    }

    #[test]
    fn garbage_never_panics() {
        for seed in 0..2000u64 {
            let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let len = (seed % 300) as usize;
            let mut bytes: Vec<u8> = MAGIC.to_vec();
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(x as u8);
            }
            assert!(decode(&bytes, "m").is_none());
        }
    }
}
