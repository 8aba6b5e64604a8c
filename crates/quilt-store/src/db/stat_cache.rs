//! The stat cache: for each file under a package root, the (size, mtime, inode) it had when
//! its content was last hashed, and that content's id. A file whose stat still matches is
//! never read again.
//!
//! Rows are keyed by (root, logical key). The key is stored with `/` mapped to the byte `0`,
//! so SQLite's byte order on the column is quilt3's manifest order (`/` ranks below every
//! other byte; keys hold no NUL). A root's rows then come back already in the order a
//! directory walk yields files, and the walk and the cache are joined in one pass.

use std::cmp::Ordering;
use std::path::Path;

use quilt_hash::{logical_key_cmp, HashType, ObjectId};
use rusqlite::{params, OptionalExtension};

use super::{path_bytes, Db};
use crate::Result;

/// What the stat cache remembers about one file: if size, mtime and inode still match, its
/// content still hashes to `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRow {
    /// The file's path below its root, `/`-separated: its logical key.
    pub key: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    pub id: ObjectId,
}

impl StatRow {
    /// True if a file with these stat fields can be trusted to still have `self.id`.
    pub fn matches(&self, size: u64, mtime_ns: i64, inode: u64) -> bool {
        self.size == size && self.mtime_ns == mtime_ns && self.inode == inode
    }
}

/// The stat cache rows of one root, in manifest order.
#[derive(Debug, Clone, Default)]
pub struct StatCache {
    rows: Vec<StatRow>,
}

impl StatCache {
    /// The row of one key (a binary search).
    pub fn get(&self, key: &str) -> Option<&StatRow> {
        self.rows
            .binary_search_by(|r| logical_key_cmp(&r.key, key))
            .ok()
            .map(|i| &self.rows[i])
    }

    /// The row of each key, for keys in manifest order: one merge pass, no searching.
    pub fn align<K: AsRef<str>>(&self, keys: impl IntoIterator<Item = K>) -> Vec<Option<&StatRow>> {
        let mut rows = self.rows.iter().peekable();
        keys.into_iter()
            .map(|key| {
                let key = key.as_ref();
                while let Some(r) = rows.peek() {
                    match logical_key_cmp(&r.key, key) {
                        Ordering::Less => {
                            rows.next();
                        }
                        Ordering::Equal => return rows.next(),
                        Ordering::Greater => return None,
                    }
                }
                None
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &StatRow> {
        self.rows.iter()
    }
}

/// A key as stored: `/` becomes `0`.
fn encode_key(key: &str) -> Vec<u8> {
    key.bytes().map(|b| if b == b'/' { 0 } else { b }).collect()
}

fn decode_key(mut raw: Vec<u8>) -> Option<String> {
    for b in &mut raw {
        if *b == 0 {
            *b = b'/';
        }
    }
    String::from_utf8(raw).ok()
}

impl Db {
    fn stat_root_id(&self, conn: &rusqlite::Connection, root: &Path) -> Result<Option<i64>> {
        conn.prepare_cached("SELECT id FROM stat_roots WHERE path = ?1")
            .and_then(|mut s| s.query_row([path_bytes(root)], |r| r.get(0)).optional())
            .map_err(self.err("read the stat cache"))
    }

    /// The stat cache rows of the files under `root`, in manifest order.
    pub fn stat_cache_load(&self, root: &Path) -> Result<StatCache> {
        let ctx = "load the stat cache";
        let conn = self.conn();
        let Some(root_id) = self.stat_root_id(&conn, root)? else {
            return Ok(StatCache::default());
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT key, size, mtime_ns, inode, kind, digest FROM stat_entries
                 WHERE root = ?1 ORDER BY key",
            )
            .map_err(self.err(ctx))?;
        let mut rows = Vec::new();
        let mut query = stmt.query([root_id]).map_err(self.err(ctx))?;
        while let Some(r) = query.next().map_err(self.err(ctx))? {
            let parsed = (|| -> rusqlite::Result<Option<StatRow>> {
                let key = decode_key(r.get(0)?);
                let kind = u8::try_from(r.get::<_, i64>(4)?)
                    .ok()
                    .and_then(HashType::from_code);
                let digest: Option<[u8; 32]> = r.get_ref(5)?.as_blob()?.try_into().ok();
                Ok(match (key, kind, digest) {
                    (Some(key), Some(kind), Some(digest)) => Some(StatRow {
                        key,
                        // SQLite integers are i64; sizes and inodes round-trip a bit cast.
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        inode: r.get::<_, i64>(3)? as u64,
                        id: ObjectId { kind, digest },
                    }),
                    _ => None,
                })
            })()
            .map_err(self.err(ctx))?;
            // A malformed row only costs a re-hash, so it is skipped rather than fatal.
            match parsed {
                Some(row) => rows.push(row),
                None => {
                    tracing::warn!(root = %root.display(), "ignoring a malformed stat cache row")
                }
            }
        }
        Ok(StatCache { rows })
    }

    /// Inserts or replaces rows of files under `root`, in one transaction.
    pub fn stat_cache_store(&self, root: &Path, rows: &[StatRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let ctx = "update the stat cache";
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(self.err(ctx))?;
        {
            tx.prepare_cached("INSERT OR IGNORE INTO stat_roots (path) VALUES (?1)")
                .and_then(|mut s| s.execute([path_bytes(root)]))
                .map_err(self.err(ctx))?;
            let root_id: i64 = tx
                .prepare_cached("SELECT id FROM stat_roots WHERE path = ?1")
                .and_then(|mut s| s.query_row([path_bytes(root)], |r| r.get(0)))
                .map_err(self.err(ctx))?;
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO stat_entries
                     (root, key, size, mtime_ns, inode, kind, digest)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(self.err(ctx))?;
            for r in rows {
                stmt.execute(params![
                    root_id,
                    encode_key(&r.key),
                    r.size as i64,
                    r.mtime_ns,
                    r.inode as i64,
                    r.id.kind.code(),
                    r.id.digest.as_slice()
                ])
                .map_err(self.err(ctx))?;
            }
        }
        tx.commit().map_err(self.err(ctx))
    }

    /// Forgets the rows of these logical keys under `root` (files that were deleted).
    pub fn stat_cache_remove(&self, root: &Path, keys: &[String]) -> Result<()> {
        let ctx = "update the stat cache";
        let mut conn = self.conn();
        let Some(root_id) = self.stat_root_id(&conn, root)? else {
            return Ok(());
        };
        let tx = conn.transaction().map_err(self.err(ctx))?;
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM stat_entries WHERE root = ?1 AND key = ?2")
                .map_err(self.err(ctx))?;
            for k in keys {
                stmt.execute(params![root_id, encode_key(k)])
                    .map_err(self.err(ctx))?;
            }
        }
        tx.commit().map_err(self.err(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str) -> StatRow {
        StatRow {
            key: key.to_owned(),
            size: 1,
            mtime_ns: 2,
            inode: 3,
            id: ObjectId {
                kind: HashType::Sha2_256Chunked,
                digest: [7; 32],
            },
        }
    }

    #[test]
    fn a_version_1_database_loses_its_old_cache_and_keeps_the_rest() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| crate::Error::io("tempdir", Path::new("."), e))?;
        let path = dir.path().join("q.db");
        {
            let conn = rusqlite::Connection::open(&path)
                .map_err(|e| crate::Error::db("open", &path, e))?;
            conn.execute_batch(
                "CREATE TABLE stat_cache (path BLOB PRIMARY KEY, size INTEGER NOT NULL,
                     mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, kind INTEGER NOT NULL,
                     digest BLOB NOT NULL) WITHOUT ROWID;
                 INSERT INTO stat_cache VALUES (x'2f61', 1, 2, 3, 1, zeroblob(32));
                 CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                 INSERT INTO settings VALUES ('remote.default', 'origin');
                 PRAGMA user_version = 1;",
            )
            .map_err(|e| crate::Error::db("set up", &path, e))?;
        }
        let db = Db::open(&path)?;
        let tables: Vec<String> = {
            let conn = db.conn();
            let mut stmt = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .map_err(db.err("list"))?;
            let names = stmt
                .query_map([], |r| r.get(0))
                .map_err(db.err("list"))?
                .collect::<rusqlite::Result<Vec<String>>>()
                .map_err(db.err("list"))?;
            names
        };
        assert!(!tables.iter().any(|t| t == "stat_cache"), "{tables:?}");
        assert!(tables.iter().any(|t| t == "stat_entries"), "{tables:?}");
        let version: i64 = db
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db.err("version"))?;
        assert_eq!(version, crate::db::SCHEMA_VERSION);
        db.stat_cache_store(Path::new("/a"), &[row("x")])?;
        assert_eq!(db.stat_cache_load(Path::new("/a"))?.len(), 1);
        let kept: String = db
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE key = 'remote.default'",
                [],
                |r| r.get(0),
            )
            .map_err(db.err("setting"))?;
        assert_eq!(kept, "origin");
        Ok(())
    }

    #[test]
    fn rows_come_back_in_manifest_order_and_align() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| crate::Error::io("tempdir", Path::new("."), e))?;
        let db = Db::open(&dir.path().join("q.db"))?;
        let root = Path::new("/data/set");
        let keys = ["a.txt", "a/b", "a-c", "z", "a/b/c"];
        db.stat_cache_store(root, &keys.map(row))?;
        db.stat_cache_store(Path::new("/data/other"), &[row("a/b")])?;
        let cache = db.stat_cache_load(root)?;
        let got: Vec<&str> = cache.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(got, ["a/b", "a/b/c", "a-c", "a.txt", "z"]);
        assert_eq!(cache.get("a-c").map(|r| r.key.as_str()), Some("a-c"));
        assert!(cache.get("nope").is_none());
        let aligned = cache.align(["a/b", "a/x", "a.txt", "zz"]);
        let aligned: Vec<Option<&str>> =
            aligned.iter().map(|r| r.map(|r| r.key.as_str())).collect();
        assert_eq!(aligned, [Some("a/b"), None, Some("a.txt"), None]);
        db.stat_cache_remove(root, &["a-c".to_owned()])?;
        assert_eq!(db.stat_cache_load(root)?.len(), 4);
        assert_eq!(db.stat_cache_load(Path::new("/data/other"))?.len(), 1);
        assert!(db.stat_cache_load(Path::new("/nowhere"))?.is_empty());
        Ok(())
    }
}
