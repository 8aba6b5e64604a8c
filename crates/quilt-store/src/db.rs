//! The SQLite database `quilt.db`: package revisions, the stat cache, worktree heads,
//! remotes, remote inventories and settings. Objects and manifests are files; only small,
//! mutable facts live here.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use quilt_hash::{PackageName, TopHash};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::{Error, Result};

mod stat_cache;
pub use stat_cache::{StatCache, StatRow};

/// 2: the stat cache is keyed by (root, logical key) in manifest order.
/// 3: revisions record their parent (the version checked out when they were built).
/// 4: remotes carry their own endpoint, region and AWS profile, and the region found for them.
/// 5: remotes carry their layout (`packed`, or NULL for quilt3's plain layout).
const SCHEMA_VERSION: i64 = 5;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS revisions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL,
    top_hash TEXT NOT NULL,
    time     INTEGER NOT NULL,
    message  TEXT,
    parent   TEXT,
    UNIQUE (name, top_hash, time)
);
CREATE INDEX IF NOT EXISTS revisions_by_name ON revisions (name, time);
CREATE INDEX IF NOT EXISTS revisions_by_top ON revisions (top_hash);
CREATE TABLE IF NOT EXISTS stat_roots (
    id   INTEGER PRIMARY KEY,
    path BLOB NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS stat_entries (
    root     INTEGER NOT NULL,
    key      BLOB NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode    INTEGER NOT NULL,
    kind     INTEGER NOT NULL,
    digest   BLOB NOT NULL,
    PRIMARY KEY (root, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS worktrees (
    dir      BLOB PRIMARY KEY,
    name     TEXT NOT NULL,
    top_hash TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS remotes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    url          TEXT NOT NULL,
    endpoint     TEXT,
    region       TEXT,
    profile      TEXT,
    found_region TEXT,
    layout       TEXT
);
CREATE TABLE IF NOT EXISTS inventory (
    remote TEXT NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (remote, digest)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

const DEFAULT_REMOTE_KEY: &str = "remote.default";

/// (name, top hash, time, message, parent) as stored.
type RawRevision = (String, String, i64, Option<String>, Option<String>);

/// Schema 3 adds `revisions.parent`. A database from before it has the table without the
/// column; a new one gets it from [`SCHEMA`].
fn add_parent_column(conn: &Connection) -> rusqlite::Result<()> {
    // Two processes may open an old database at once: the write lock makes the check and the
    // change one step.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let has_table: bool = tx.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'revisions'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !has_table {
        return Ok(());
    }
    let has_column: bool = tx.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('revisions') WHERE name = 'parent'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !has_column {
        tx.execute_batch("ALTER TABLE revisions ADD COLUMN parent TEXT")?;
    }
    tx.commit()
}

/// Schema 4 adds the per-remote settings to `remotes`: [`REMOTE_COLUMNS`], each a nullable
/// `TEXT`, so older rows read as "nothing set".
fn add_remote_columns(conn: &Connection) -> rusqlite::Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let has_table: bool = tx.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'remotes'",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0;
    if !has_table {
        return Ok(());
    }
    for column in REMOTE_COLUMNS {
        let has_column: bool = tx.query_row(
            "SELECT COUNT(*) FROM pragma_table_info('remotes') WHERE name = ?1",
            [column],
            |r| r.get::<_, i64>(0),
        )? > 0;
        if !has_column {
            tx.execute_batch(&format!("ALTER TABLE remotes ADD COLUMN {column} TEXT"))?;
        }
    }
    tx.commit()
}

/// The columns schemas 4 and 5 added to `remotes`.
const REMOTE_COLUMNS: [&str; 5] = ["endpoint", "region", "profile", "found_region", "layout"];

/// How to reach a remote, beyond its URL: each setting overrides the environment and the AWS
/// configuration files for this remote only. `None` leaves it to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteSettings {
    /// S3 endpoint URL (`http(s)://host[:port]`).
    pub endpoint: Option<String>,
    /// S3 signing region.
    pub region: Option<String>,
    /// AWS profile (a section of `~/.aws/config` or `~/.aws/credentials`).
    pub profile: Option<String>,
}

/// A remote as recorded: its name, URL, settings and the region found for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRecord {
    pub name: String,
    pub url: String,
    pub settings: RemoteSettings,
    /// The bucket's region as the bucket itself named it (a cache: see quilt-sync's
    /// `s3::region`); cleared whenever the URL or settings change.
    pub found_region: Option<String>,
    /// How data is laid out on the remote: `packed`, or `None` for quilt3's plain layout.
    pub layout: Option<String>,
}

/// One recorded version of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub name: PackageName,
    pub top_hash: TopHash,
    /// Unix seconds.
    pub time: i64,
    pub message: Option<String>,
    /// The version this one was built on, when it was built here (fetched versions and
    /// revisions recorded before schema 3 have none).
    pub parent: Option<TopHash>,
}

/// The store's SQLite database (`quilt.db`), reached through [`Store::db`]: package
/// revisions (read here; recorded and deleted through [`Store`], which keeps the manifest
/// and the quilt3 mirror in step), the stat cache, worktree heads, remotes, remote
/// inventories and settings.
///
/// [`Store::db`]: crate::Store::db
/// [`Store`]: crate::Store
pub struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

#[cfg(unix)]
fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(b))
}

#[cfg(not(unix))]
fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&b).into_owned())
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> &[u8] {
    p.to_str().unwrap_or_default().as_bytes()
}

impl Db {
    pub(crate) fn open(path: &Path) -> Result<Db> {
        let conn = match Connection::open(path) {
            Ok(c) if !c.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) => c,
            // On read-only media SQLite can't create the WAL index (`-shm`), so a plain
            // read-only open fails at the first query. `immutable=1` promises SQLite the file
            // can't change, which on such media it can't, and needs no `-shm`.
            Ok(_) | Err(_) => Connection::open_with_flags(
                immutable_uri(path),
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(|e| Error::db("open the database", path, e))?,
        };
        let db = Db {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        };
        db.setup()?;
        Ok(db)
    }

    fn setup(&self) -> Result<()> {
        let conn = self.conn();
        let ctx = |e| Error::db("configure the database", &self.path, e);
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(ctx)?;
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Ok(());
        }
        // WAL lets readers proceed while a writer commits; FULL makes a commit durable before
        // the named_packages mirror (written after it) can claim it.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(ctx)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(ctx)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(ctx)?;
        if version > SCHEMA_VERSION {
            return Err(Error::BadDbValue {
                path: self.path.clone(),
                reason: format!(
                    "schema version {version} is newer than this quilt understands ({SCHEMA_VERSION}); upgrade quilt"
                ),
            });
        }
        if version < 2 {
            // Version 1 keyed the stat cache by absolute path. It is only a cache: drop it.
            conn.execute_batch("DROP TABLE IF EXISTS stat_cache")
                .map_err(|e| Error::db("upgrade the schema", &self.path, e))?;
        }
        if version < 3 {
            add_parent_column(&conn).map_err(|e| Error::db("upgrade the schema", &self.path, e))?;
        }
        if version < 5 {
            add_remote_columns(&conn)
                .map_err(|e| Error::db("upgrade the schema", &self.path, e))?;
        }
        conn.execute_batch(SCHEMA)
            .map_err(|e| Error::db("create the schema", &self.path, e))?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(ctx)?;
        Ok(())
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection leaves no half-done transaction behind
        // (rusqlite rolls back on drop), so the connection is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, context: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
        let context = context.to_owned();
        move |e| Error::db(context.clone(), &self.path, e)
    }

    fn bad(&self, reason: String) -> Error {
        Error::BadDbValue {
            path: self.path.clone(),
            reason,
        }
    }

    fn revision_from_row(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRevision> {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    }

    fn to_revision(&self, raw: RawRevision) -> Result<Revision> {
        let (name, top, time, message, parent) = raw;
        let parent = parent
            .map(|p| TopHash::parse(&p).map_err(|_| self.bad(format!("parent top hash {p:?}"))))
            .transpose()?;
        Ok(Revision {
            name: PackageName::parse(name.clone())
                .map_err(|_| self.bad(format!("package name {name:?}")))?,
            top_hash: TopHash::parse(&top).map_err(|_| self.bad(format!("top hash {top:?}")))?,
            time,
            message,
            parent,
        })
    }

    fn query_revisions(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        what: &str,
    ) -> Result<Vec<Revision>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(self.err(what))?;
        let rows = stmt
            .query_map(p, |r| self.revision_from_row(r))
            .map_err(self.err(what))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err(what))?;
        rows.into_iter().map(|r| self.to_revision(r)).collect()
    }

    // ---- revisions ----

    pub(crate) fn record_revision(
        &self,
        name: &PackageName,
        top: &TopHash,
        message: Option<&str>,
        time: i64,
        parent: Option<&TopHash>,
    ) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO revisions (name, top_hash, time, message, parent) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name.as_str(), top.to_hex(), time, message, parent.map(TopHash::to_hex)],
            )
            .map_err(self.err("record a package revision"))?;
        Ok(())
    }

    /// All revisions of a package, newest first.
    pub fn revisions(&self, name: &PackageName) -> Result<Vec<Revision>> {
        self.query_revisions(
            "SELECT name, top_hash, time, message, parent FROM revisions WHERE name = ?1 ORDER BY time DESC, id DESC",
            [name.as_str()],
            "list revisions",
        )
    }

    /// The newest revision of a package, if it has any.
    pub fn latest(&self, name: &PackageName) -> Result<Option<Revision>> {
        Ok(self.revisions(name)?.into_iter().next())
    }

    /// Every revision of every package, by name then newest first.
    pub fn all_revisions(&self) -> Result<Vec<Revision>> {
        self.query_revisions(
            "SELECT name, top_hash, time, message, parent FROM revisions ORDER BY name, time DESC, id DESC",
            [],
            "list revisions",
        )
    }

    /// The latest revision of each package, ordered by name.
    pub fn packages(&self) -> Result<Vec<Revision>> {
        self.query_revisions(
            "SELECT name, top_hash, time, message, parent FROM revisions r
             WHERE id = (SELECT id FROM revisions WHERE name = r.name ORDER BY time DESC, id DESC LIMIT 1)
             ORDER BY name",
            [],
            "list packages",
        )
    }

    pub(crate) fn delete_package(&self, name: &PackageName) -> Result<usize> {
        self.conn()
            .execute("DELETE FROM revisions WHERE name = ?1", [name.as_str()])
            .map_err(self.err("delete a package"))
    }

    pub(crate) fn delete_revision(&self, name: &PackageName, top: &TopHash) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM revisions WHERE name = ?1 AND top_hash = ?2",
                params![name.as_str(), top.to_hex()],
            )
            .map_err(self.err("delete a revision"))?;
        Ok(n > 0)
    }

    /// Distinct top hashes of revisions starting with `prefix` (lowercase hex, validated).
    pub(crate) fn tops_with_prefix(&self, prefix: &str) -> Result<Vec<TopHash>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT top_hash FROM revisions WHERE substr(top_hash, 1, length(?1)) = ?1",
            )
            .map_err(self.err("resolve a top hash prefix"))?;
        let rows = stmt
            .query_map([prefix], |r| r.get::<_, String>(0))
            .map_err(self.err("resolve a top hash prefix"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err("resolve a top hash prefix"))?;
        rows.iter()
            .map(|t| TopHash::parse(t).map_err(|_| self.bad(format!("top hash {t:?}"))))
            .collect()
    }

    // ---- worktrees ----

    /// Records that the working directory `dir` is at version `top` of `name`.
    pub fn set_worktree_head(&self, dir: &Path, name: &PackageName, top: &TopHash) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO worktrees (dir, name, top_hash) VALUES (?1, ?2, ?3)",
                params![path_bytes(dir), name.as_str(), top.to_hex()],
            )
            .map_err(self.err("record the worktree head"))?;
        Ok(())
    }

    /// The package version the working directory `dir` is at, if any.
    pub fn worktree_head(&self, dir: &Path) -> Result<Option<(PackageName, TopHash)>> {
        let raw: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT name, top_hash FROM worktrees WHERE dir = ?1",
                [path_bytes(dir)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err("read the worktree head"))?;
        raw.map(|(n, t)| self.parse_head(n, t)).transpose()
    }

    fn parse_head(&self, n: String, t: String) -> Result<(PackageName, TopHash)> {
        Ok((
            PackageName::parse(n.clone()).map_err(|_| self.bad(format!("package name {n:?}")))?,
            TopHash::parse(&t).map_err(|_| self.bad(format!("top hash {t:?}")))?,
        ))
    }

    /// Every worktree head with its directory, for gc: a checked-out version stays
    /// collectable only once no worktree points at it.
    pub(crate) fn worktree_heads(&self) -> Result<Vec<(PathBuf, PackageName, TopHash)>> {
        let ctx = "list worktree heads";
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT dir, name, top_hash FROM worktrees")
            .map_err(self.err(ctx))?;
        let raw = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(self.err(ctx))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err(ctx))?;
        drop(stmt);
        drop(conn);
        raw.into_iter()
            .map(|(d, n, t)| {
                let (n, t) = self.parse_head(n, t)?;
                Ok((path_from_bytes(d), n, t))
            })
            .collect()
    }

    /// The version `top` was built on, if it was built here: the parent recorded with the
    /// newest revision of `name` at `top`.
    pub fn parent(&self, name: &PackageName, top: &TopHash) -> Result<Option<TopHash>> {
        let raw: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT parent FROM revisions WHERE name = ?1 AND top_hash = ?2 AND parent IS NOT NULL
                 ORDER BY time DESC, id DESC LIMIT 1",
                params![name.as_str(), top.to_hex()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("read a revision's parent"))?;
        raw.flatten()
            .map(|p| TopHash::parse(&p).map_err(|_| self.bad(format!("parent top hash {p:?}"))))
            .transpose()
    }

    // ---- remotes ----

    /// Adds a remote; the first one added becomes the default.
    pub fn add_remote(&self, name: &str, url: &str) -> Result<()> {
        let ctx = "add a remote";
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(self.err(ctx))?;
        let exists: bool = tx
            .query_row(
                "SELECT COUNT(*) FROM remotes WHERE name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map_err(self.err(ctx))?
            > 0;
        if exists {
            return Err(Error::RemoteExists { name: name.into() });
        }
        tx.execute(
            "INSERT INTO remotes (name, url) VALUES (?1, ?2)",
            [name, url],
        )
        .map_err(self.err(ctx))?;
        tx.execute(
            "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
            [DEFAULT_REMOTE_KEY, name],
        )
        .map_err(self.err(ctx))?;
        tx.commit().map_err(self.err(ctx))
    }

    /// Removes a remote; if it was the default, the oldest remaining one takes over.
    pub fn remove_remote(&self, name: &str) -> Result<()> {
        let ctx = "remove a remote";
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(self.err(ctx))?;
        let url: Option<String> = tx
            .query_row("SELECT url FROM remotes WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err(ctx))?;
        if url.is_none() {
            return Err(Error::NoSuchRemote { name: name.into() });
        }
        tx.execute("DELETE FROM remotes WHERE name = ?1", [name])
            .map_err(self.err(ctx))?;
        let default: Option<String> = tx
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [DEFAULT_REMOTE_KEY],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err(ctx))?;
        if default.as_deref() == Some(name) {
            // The oldest remaining remote takes over, as if it had been added first.
            let next: Option<String> = tx
                .query_row("SELECT name FROM remotes ORDER BY seq LIMIT 1", [], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(self.err(ctx))?;
            match next {
                Some(n) => tx.execute(
                    "UPDATE settings SET value = ?2 WHERE key = ?1",
                    [DEFAULT_REMOTE_KEY, &n],
                ),
                None => tx.execute("DELETE FROM settings WHERE key = ?1", [DEFAULT_REMOTE_KEY]),
            }
            .map_err(self.err(ctx))?;
        }
        tx.commit().map_err(self.err(ctx))
    }

    /// Points an existing remote at another URL; its place and default status stay.
    pub fn set_remote_url(&self, name: &str, url: &str) -> Result<()> {
        let changed = self
            .conn()
            .execute(
                "UPDATE remotes SET url = ?2, found_region = NULL WHERE name = ?1",
                [name, url],
            )
            .map_err(self.err("change a remote's URL"))?;
        match changed {
            0 => Err(Error::NoSuchRemote { name: name.into() }),
            _ => Ok(()),
        }
    }

    /// `(name, url)` pairs in the order they were added.
    pub fn remotes(&self) -> Result<Vec<(String, String)>> {
        let ctx = "list remotes";
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT name, url FROM remotes ORDER BY seq")
            .map_err(self.err(ctx))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.err(ctx))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err(ctx));
        rows
    }

    /// Every remote with its settings (endpoint, region, profile) and found region, in the
    /// order they were added.
    pub fn remote_records(&self) -> Result<Vec<RemoteRecord>> {
        let ctx = "list remotes";
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT name, url, endpoint, region, profile, found_region, layout FROM remotes ORDER BY seq",
            )
            .map_err(self.err(ctx))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RemoteRecord {
                    name: r.get(0)?,
                    url: r.get(1)?,
                    settings: RemoteSettings {
                        endpoint: r.get(2)?,
                        region: r.get(3)?,
                        profile: r.get(4)?,
                    },
                    found_region: r.get(5)?,
                    layout: r.get(6)?,
                })
            })
            .map_err(self.err(ctx))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(self.err(ctx));
        rows
    }

    /// The remote called `name`, with its settings.
    pub fn remote_record(&self, name: &str) -> Result<Option<RemoteRecord>> {
        Ok(self.remote_records()?.into_iter().find(|r| r.name == name))
    }

    /// Replaces a remote's settings; the region found for it is forgotten.
    pub fn set_remote_settings(&self, name: &str, settings: &RemoteSettings) -> Result<()> {
        let changed = self
            .conn()
            .execute(
                "UPDATE remotes SET endpoint = ?2, region = ?3, profile = ?4, found_region = NULL
                 WHERE name = ?1",
                params![name, settings.endpoint, settings.region, settings.profile],
            )
            .map_err(self.err("change a remote's settings"))?;
        match changed {
            0 => Err(Error::NoSuchRemote { name: name.into() }),
            _ => Ok(()),
        }
    }

    /// Sets a remote's layout (`packed`), or `None` for the plain one.
    pub fn set_remote_layout(&self, name: &str, layout: Option<&str>) -> Result<()> {
        let changed = self
            .conn()
            .execute(
                "UPDATE remotes SET layout = ?2 WHERE name = ?1",
                params![name, layout],
            )
            .map_err(self.err("change a remote's layout"))?;
        match changed {
            0 => Err(Error::NoSuchRemote { name: name.into() }),
            _ => Ok(()),
        }
    }

    /// Keeps the region a remote's bucket named, so later runs need not ask it again. Ignored
    /// if the remote's URL has changed meanwhile.
    pub fn set_remote_found_region(&self, name: &str, url: &str, region: &str) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE remotes SET found_region = ?3 WHERE name = ?1 AND url = ?2",
                [name, url, region],
            )
            .map_err(self.err("record a remote's region"))?;
        Ok(())
    }

    /// Makes `name` the remote used when none is named.
    pub fn set_default_remote(&self, name: &str) -> Result<()> {
        if !self.remotes()?.iter().any(|(n, _)| n == name) {
            return Err(Error::NoSuchRemote { name: name.into() });
        }
        self.set_setting(DEFAULT_REMOTE_KEY, name)
    }

    /// The remote used when none is named, if any.
    pub fn default_remote(&self) -> Result<Option<String>> {
        self.get_setting(DEFAULT_REMOTE_KEY)
    }

    // ---- inventory ----

    /// Digests a remote is known to have (a cache: the remote stays the authority).
    pub fn inventory_load(&self, remote: &str) -> Result<HashSet<[u8; 32]>> {
        let ctx = "load a remote inventory";
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT digest FROM inventory WHERE remote = ?1")
            .map_err(self.err(ctx))?;
        let rows = stmt
            .query_map([remote], |r| r.get::<_, Vec<u8>>(0))
            .map_err(self.err(ctx))?;
        let mut out = HashSet::new();
        for row in rows {
            let bytes = row.map_err(self.err(ctx))?;
            if let Ok(d) = <[u8; 32]>::try_from(bytes) {
                out.insert(d);
            }
        }
        Ok(out)
    }

    /// Notes that the remote at `remote` has these digests.
    pub fn inventory_add(&self, remote: &str, digests: &[[u8; 32]]) -> Result<()> {
        let ctx = "update a remote inventory";
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(self.err(ctx))?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT OR IGNORE INTO inventory (remote, digest) VALUES (?1, ?2)")
                .map_err(self.err(ctx))?;
            for d in digests {
                stmt.execute(params![remote, d.as_slice()])
                    .map_err(self.err(ctx))?;
            }
        }
        tx.commit().map_err(self.err(ctx))
    }

    /// Forgets what the remote at `remote` is known to have.
    pub fn inventory_clear(&self, remote: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM inventory WHERE remote = ?1", [remote])
            .map_err(self.err("clear a remote inventory"))?;
        Ok(())
    }

    // ---- settings ----

    /// The store setting `key`, if set.
    pub fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.err("read a setting"))
    }

    /// Sets the store setting `key` to `value`.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
                [key, value],
            )
            .map_err(self.err("write a setting"))?;
        Ok(())
    }
}

/// `file:<path>?immutable=1`, with the path percent-encoded as an SQLite URI requires.
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}
