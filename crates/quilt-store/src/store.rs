//! The store handle: opening, object lookup, manifests, refs and the lock.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use quilt_hash::{HashType, Manifest, ManifestSummary, ObjectId, PackageName, TopHash};

use crate::chunk::read::Located;
use crate::chunk::{ChunkList, ChunkParams};

use crate::db::Db;
use crate::layout::{self, Layout};
use crate::lock::{self, LockGuard};
use crate::manifest_file::{self, ManifestKind};
use crate::pack::{IndexEntry, Pack};
use crate::perms::{self, Sharing, SHARING_KEY};
use crate::reader::ObjectReader;
use crate::{Error, Result};

/// Tunables of a store. The defaults suit real datasets; tests shrink them.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Objects smaller than this go into packs; the rest are stored loose.
    pub small_object_limit: u64,
    /// A pack is finished and a new one started once it reaches this size.
    pub pack_size_limit: u64,
    /// Which files are stored as content-defined chunks, and how they are cut.
    pub chunking: ChunkParams,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            small_object_limit: 1 << 20,
            pack_size_limit: 1 << 30,
            chunking: ChunkParams::DEFAULT,
        }
    }
}

/// A pack that could not be opened and is being ignored.
#[derive(Debug, Clone)]
pub struct SkippedPack {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Default)]
pub(crate) struct PackSet {
    pub packs: Vec<Arc<Pack>>,
    pub skipped: Vec<SkippedPack>,
}

/// A local object store. Cheap to share between threads (`Send + Sync`); open it once.
pub struct Store {
    pub(crate) layout: Layout,
    pub(crate) db: Db,
    pub(crate) packs: RwLock<PackSet>,
    pub(crate) options: StoreOptions,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.layout.root)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Creates the store layout under `root` (idempotent) and opens it.
    pub fn init(root: &Path) -> Result<Store> {
        Store::init_with(root, None)
    }

    /// [`Store::init`], recording how the store is shared (`None` keeps what an existing
    /// store has, or the umask for a new one). A group-shared store's directories are made
    /// group-writable and setgid, and its database and lock file group-writable.
    pub fn init_with(root: &Path, sharing: Option<Sharing>) -> Result<Store> {
        let layout = Layout::new(root);
        for dir in layout.dirs() {
            layout::create_dirs(&dir)?;
        }
        let lock = layout.lock();
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&lock)
            .map_err(|e| Error::io_write("create", &lock, e))?;
        let db = Db::open(&layout.db())?;
        if let Some(sharing) = sharing {
            db.set_setting(SHARING_KEY, sharing.as_str())?;
        }
        if db.get_setting(SHARING_KEY)?.as_deref() == Some(Sharing::Group.as_str()) {
            let share = |p: &Path, dir: bool| -> Result<()> {
                perms::adopt_group(p, &layout.root)
                    .and_then(|()| match dir {
                        true => perms::share_dir_with_group(p),
                        false => perms::share_with_group(p),
                    })
                    .map_err(|e| Error::io_write("share with the group", p, e))
            };
            share(&layout.root, true)?;
            for dir in layout.dirs() {
                if let Some(parent) = dir.parent().filter(|p| p.starts_with(&layout.root)) {
                    share(parent, true)?;
                }
                share(&dir, true)?;
            }
            let wal = layout.root.join(format!("{}-wal", layout::DB_FILE));
            let shm = layout.root.join(format!("{}-shm", layout::DB_FILE));
            for file in [layout.db(), wal, shm, lock] {
                share(&file, false)?;
            }
        }
        drop(db);
        Store::open(root)
    }

    /// Opens an existing store with default options.
    pub fn open(root: &Path) -> Result<Store> {
        Store::open_with(root, StoreOptions::default())
    }

    /// Opens an existing store.
    pub fn open_with(root: &Path, options: StoreOptions) -> Result<Store> {
        let layout = Layout::new(root);
        if !layout.db().is_file() {
            return Err(Error::NotAStore {
                path: root.to_owned(),
            });
        }
        // Directories added by a later layout (or removed by hand) come back quietly; on
        // read-only media this fails and reads still work.
        for dir in layout.dirs() {
            let _ = fs::create_dir_all(&dir);
        }
        let db = Db::open(&layout.db())?;
        let mut layout = layout;
        layout.sharing = match db.get_setting(SHARING_KEY)? {
            Some(v) => Sharing::parse(&v).ok_or_else(|| Error::BadDbValue {
                path: layout.db(),
                reason: format!("setting {SHARING_KEY} is {v:?}; set it to \"umask\" or \"group\""),
            })?,
            None => Sharing::Umask,
        };
        let store = Store {
            layout,
            db,
            packs: RwLock::new(PackSet::default()),
            options,
        };
        store.refresh_packs()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// How the store is shared (`quilt init --shared`).
    pub fn sharing(&self) -> Sharing {
        self.layout.sharing
    }

    pub fn options(&self) -> StoreOptions {
        self.options
    }

    /// Packs whose index or data could not be opened; their objects are invisible until the
    /// problem is fixed. `verify` reports them too.
    pub fn skipped_packs(&self) -> Vec<SkippedPack> {
        self.read_packs().skipped.clone()
    }

    pub(crate) fn read_packs(&self) -> std::sync::RwLockReadGuard<'_, PackSet> {
        self.packs.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the pack directory: loads new packs (from this or another process), drops
    /// removed ones, keeps the maps of the rest.
    pub(crate) fn refresh_packs(&self) -> Result<()> {
        let dir = self.layout.pack_dir();
        let mut idx_paths: Vec<PathBuf> = layout::read_dir(&dir)?
            .into_iter()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        idx_paths.sort();
        let current: Vec<Arc<Pack>> = self.read_packs().packs.clone();
        let mut next = PackSet::default();
        for idx in idx_paths {
            if let Some(p) = current.iter().find(|p| p.idx_path == idx) {
                next.packs.push(Arc::clone(p));
                continue;
            }
            match Pack::open(&idx) {
                Ok(p) => next.packs.push(Arc::new(p)),
                // A pack removed by gc between listing and opening is simply gone.
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    tracing::warn!(error = %e, "skipping unreadable pack");
                    next.skipped.push(SkippedPack {
                        path: idx,
                        reason: e.to_string(),
                    });
                }
            }
        }
        *self.packs.write().unwrap_or_else(|p| p.into_inner()) = next;
        Ok(())
    }

    pub(crate) fn find_packed_cached(&self, id: &ObjectId) -> Option<(Arc<Pack>, IndexEntry)> {
        let set = self.read_packs();
        set.packs
            .iter()
            .find_map(|p| p.find(id).map(|e| (Arc::clone(p), e)))
    }

    /// Looks an object up in the packs, re-reading the pack directory once on a miss so that
    /// packs committed by other processes are seen.
    pub(crate) fn find_packed(&self, id: &ObjectId) -> Result<Option<(Arc<Pack>, IndexEntry)>> {
        if let Some(hit) = self.find_packed_cached(id) {
            return Ok(Some(hit));
        }
        self.refresh_packs()?;
        Ok(self.find_packed_cached(id))
    }

    /// Whether the store has the object, as far as this handle already knows: no directory
    /// re-read. Writers use it for dedup, where a rare duplicate is harmless. A chunked file
    /// counts only with all its chunks.
    pub(crate) fn contains_cached(&self, id: &ObjectId) -> bool {
        if self.find_packed_cached(id).is_some() {
            return true;
        }
        if id.kind != HashType::ChunkList && self.layout.loose_path(&id.digest).is_file() {
            return true;
        }
        self.chunk_list_cached_present(id)
    }

    fn chunk_list_cached_present(&self, id: &ObjectId) -> bool {
        id.kind == HashType::Sha2_256Chunked
            && self
                .find_packed_cached(&ChunkList::id_for(id))
                .and_then(|(pack, e)| ChunkList::decode(pack.data_of(&e).ok()?).ok())
                .is_some_and(|list| self.chunks_present_cached(&list))
    }

    /// Whether the store has the object. A file stored as chunks counts only when its list
    /// and every chunk are there (a crash can publish a list before a chunk it shares with
    /// another writer's pack).
    pub fn contains(&self, id: &ObjectId) -> Result<bool> {
        // Most objects are small and packed: answer those from the mapped indexes without a
        // system call, before stat'ing a loose path or re-reading the pack directory.
        Ok(match self.locate(id)? {
            Located::Packed(..) | Located::Loose(_) => true,
            Located::Chunked(list) => {
                self.chunks_present_cached(&list) || {
                    self.refresh_packs()?;
                    self.chunks_present_cached(&list)
                }
            }
            Located::Missing => false,
        })
    }

    /// The object's bytes, read whole into memory (a chunked file reassembled).
    pub fn get(&self, id: &ObjectId) -> Result<Vec<u8>> {
        match self.locate(id)? {
            Located::Packed(pack, e) => Ok(pack.data_of(&e)?.to_vec()),
            Located::Loose(path) => match fs::read(&path) {
                Ok(bytes) => Ok(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(Error::ObjectMissing { id: *id })
                }
                Err(e) => Err(Error::io("read", &path, e)),
            },
            Located::Chunked(list) => {
                let parts = self.chunk_parts(id, &list)?;
                let mut out = Vec::with_capacity(list.size as usize);
                for (map, range) in parts {
                    out.extend_from_slice(&map[range]);
                }
                Ok(out)
            }
            Located::Missing => Err(Error::ObjectMissing { id: *id }),
        }
    }

    /// A streaming reader over the object, without copying packed data. A chunked file is
    /// read chunk after chunk from the mapped packs.
    pub fn open_object(&self, id: &ObjectId) -> Result<ObjectReader> {
        let path = match self.locate(id)? {
            Located::Packed(pack, e) => {
                let range = pack.data_range(&e)?;
                return Ok(ObjectReader::mapped(Arc::clone(&pack.data), range));
            }
            Located::Chunked(list) => {
                return Ok(ObjectReader::chunks(self.chunk_parts(id, &list)?));
            }
            Located::Missing => return Err(Error::ObjectMissing { id: *id }),
            Located::Loose(path) => path,
        };
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ObjectMissing { id: *id })
            }
            Err(e) => return Err(Error::io("open", &path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", &path, e))?
            .len();
        Ok(ObjectReader::file(file, len))
    }

    /// Where the object's file is, if it is stored loose: callers can then reflink, hardlink
    /// or copy it with the fastest means the platform has.
    pub fn loose_path(&self, id: &ObjectId) -> Option<PathBuf> {
        if id.kind == HashType::ChunkList {
            return None;
        }
        let p = self.layout.loose_path(&id.digest);
        p.is_file().then_some(p)
    }

    /// The file holding the object, its pack or its loose file (for a chunked file, the
    /// pack of its chunk list), for messages that must say where damaged data lives. `None`
    /// if the object is not stored.
    pub fn object_file(&self, id: &ObjectId) -> Result<Option<PathBuf>> {
        if let Some((pack, _)) = self.find_packed(id)? {
            return Ok(Some(pack.pack_path.clone()));
        }
        if let Some(p) = self.loose_path(id) {
            return Ok(Some(p));
        }
        if id.kind == HashType::Sha2_256Chunked {
            if let Some((pack, _)) = self.find_packed_cached(&ChunkList::id_for(id)) {
                return Ok(Some(pack.pack_path.clone()));
            }
        }
        Ok(None)
    }

    /// Keeps gc out until the guard is dropped. A multi-step write (objects, then manifest,
    /// then the ref) holds this across all its steps, so gc never sees its committed objects
    /// before the ref that reaches them.
    pub fn hold_for_write(&self) -> Result<LockGuard> {
        self.lock_shared()
    }

    /// Blocks until no gc runs, then holds the store open for writing.
    pub(crate) fn lock_shared(&self) -> Result<LockGuard> {
        lock::shared(&self.layout.lock())
    }

    /// The store to itself, or `None` if anyone else holds the lock.
    pub(crate) fn try_lock_exclusive(&self) -> Result<Option<LockGuard>> {
        lock::try_exclusive(&self.layout.lock())
    }

    /// Removes what a crashed writer can leave behind: temp files and packs whose index was
    /// never written. Only safe while holding the exclusive lock.
    pub(crate) fn remove_crash_debris(&self, dry_run: bool) -> Result<(u64, u64)> {
        let mut files = 0;
        let mut bytes = 0;
        for e in layout::read_dir(&self.layout.tmp_dir())? {
            let path = e.path();
            if path.is_file() {
                bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                files += 1;
                if !dry_run {
                    layout::remove_file(&path)?;
                }
            }
        }
        for e in layout::read_dir(&self.layout.pack_dir())? {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "pack") && !path.with_extension("idx").exists()
            {
                bytes += e.metadata().map(|m| m.len()).unwrap_or(0);
                files += 1;
                if !dry_run {
                    layout::remove_file(&path)?;
                }
            }
        }
        Ok((files, bytes))
    }

    // ---- manifests ----

    /// Stores a manifest as quilt3 would serialize it, unless already present, as a keyframe.
    pub fn put_manifest(&self, m: &Manifest) -> Result<TopHash> {
        self.put_manifest_with_base(m, None)
    }

    /// Stores a manifest unless already present. With a `base` (usually the package's latest
    /// revision) the manifest is kept as a delta against that version's keyframe when the
    /// delta is much smaller than a keyframe; otherwise, or without a base, as a keyframe.
    /// A missing or unreadable base is not an error: the manifest is then a keyframe.
    pub fn put_manifest_with_base(&self, m: &Manifest, base: Option<&TopHash>) -> Result<TopHash> {
        let top = m.top_hash();
        if !self.has_manifest(&top) {
            // Streamed through the compressor: a million-entry manifest is ~250 MB as JSONL.
            self.store_manifest(&top, base, |w| m.write(w))?;
        }
        Ok(top)
    }

    /// Stores these exact manifest bytes (for byte-for-byte round trips with quilt3) under
    /// the top hash they parse to, as a keyframe.
    pub fn put_manifest_bytes(&self, bytes: &[u8]) -> Result<TopHash> {
        self.put_manifest_bytes_with_base(bytes, None)
    }

    /// [`Store::put_manifest_bytes`] with a delta base, as in [`Store::put_manifest_with_base`].
    pub fn put_manifest_bytes_with_base(
        &self,
        bytes: &[u8],
        base: Option<&TopHash>,
    ) -> Result<TopHash> {
        let m = Manifest::from_slice(bytes).map_err(|e| Error::BadManifest {
            path: PathBuf::from("<input>"),
            source: Box::new(e),
        })?;
        let top = m.top_hash();
        if !self.has_manifest(&top) {
            self.store_manifest(&top, base, |w| w.write_all(bytes))?;
        }
        Ok(top)
    }

    /// Writes a keyframe to a temp file; if a base is given and a delta against it is small
    /// enough, writes the delta instead. Either way: temp file, fsync, rename. The shared lock
    /// keeps gc from removing the base before the delta is in place.
    fn store_manifest(
        &self,
        top: &TopHash,
        base: Option<&TopHash>,
        write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let _lock = self.lock_shared()?;
        let base = base.filter(|b| *b != top);
        let mut tmp = self.layout.temp_file()?;
        let jsonl = manifest_file::write_keyframe(tmp.as_file_mut(), base.is_some(), write)
            .map_err(|e| Error::io_write("write", tmp.path(), e))?;
        self.place_manifest(top, base, tmp, jsonl)
    }

    /// Puts a written keyframe in place under `top`, or, if a base is given and a delta of
    /// `jsonl` against it is small enough, the delta instead. Either way: fsync, rename. The
    /// caller holds the shared lock, which keeps gc from removing the base before the delta
    /// is in place.
    pub(crate) fn place_manifest(
        &self,
        top: &TopHash,
        base: Option<&TopHash>,
        tmp: tempfile::NamedTempFile,
        jsonl: Option<Vec<u8>>,
    ) -> Result<()> {
        let dest = self.layout.manifest_path(&top.to_hex());
        if let (Some(jsonl), Some(hint)) = (jsonl, base.filter(|b| *b != top)) {
            if let Some((base, base_bytes)) = manifest_file::delta_base(&self.layout, hint) {
                let keyframe_len = tmp
                    .as_file()
                    .metadata()
                    .map_err(|e| Error::io("stat", tmp.path(), e))?
                    .len();
                let delta = manifest_file::encode_delta(&base, &base_bytes, &jsonl)
                    .map_err(|e| Error::io_write("compress", &dest, e))?;
                if manifest_file::delta_pays(delta.len() as u64, keyframe_len) {
                    drop(tmp);
                    return self.layout.atomic_write(&dest, &delta);
                }
            }
        }
        layout::persist(tmp, &dest)
    }

    /// Opens a stored manifest for reading line by line (`quilt_hash::ManifestLines`), so a
    /// huge manifest need not be held in memory. Reads plain, keyframe and delta files alike;
    /// a read error names the damaged file.
    pub fn open_manifest(&self, top: &TopHash) -> Result<Box<dyn BufRead + Send>> {
        manifest_file::open(&self.layout, top)
    }

    pub fn has_manifest(&self, top: &TopHash) -> bool {
        self.layout.manifest_path(&top.to_hex()).is_file()
    }

    /// How the stored manifest is encoded.
    pub fn manifest_kind(&self, top: &TopHash) -> Result<ManifestKind> {
        manifest_file::kind(&self.layout, top)
    }

    /// The manifest's quilt3 JSONL, decompressed: exactly the bytes that were stored.
    pub fn manifest_bytes(&self, top: &TopHash) -> Result<Vec<u8>> {
        manifest_file::read(&self.layout, top)
    }

    pub fn get_manifest(&self, top: &TopHash) -> Result<Manifest> {
        let bytes = self.manifest_bytes(top)?;
        Manifest::from_slice(&bytes).map_err(|e| Error::BadManifest {
            path: self.layout.manifest_path(&top.to_hex()),
            source: Box::new(e),
        })
    }

    /// The header and each entry's key, size and hash: what a comparison needs, in a fraction
    /// of the memory of [`Store::get_manifest`].
    pub fn manifest_summary(&self, top: &TopHash) -> Result<ManifestSummary> {
        let reader = self.open_manifest(top)?;
        ManifestSummary::read(reader).map_err(|e| Error::BadManifest {
            path: self.layout.manifest_path(&top.to_hex()),
            source: Box::new(e),
        })
    }

    /// Top hashes of all manifests in `packages/`.
    pub fn manifests(&self) -> Result<Vec<TopHash>> {
        let mut out: Vec<TopHash> = layout::read_dir(&self.layout.packages_dir())?
            .into_iter()
            .filter_map(|e| e.file_name().to_str().and_then(layout::parse_hex32))
            .map(TopHash)
            .collect();
        out.sort();
        Ok(out)
    }

    // ---- refs ----

    /// The store's database: reads of package revisions, and the stat cache, worktree heads,
    /// remotes, remote inventories and settings. Revisions are recorded and deleted through
    /// the `Store` itself, which checks the manifest and keeps the quilt3 mirror in step.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Records that `name` had version `top` at `time`. The manifest must already be stored
    /// (objects first, manifest next, ref last: a ref never points at nothing). The quilt3
    /// `named_packages/` mirror is written after the database commit.
    pub fn record_revision(
        &self,
        name: &PackageName,
        top: &TopHash,
        message: Option<&str>,
        time: i64,
    ) -> Result<()> {
        self.record_revision_with_parent(name, top, message, time, None)
    }

    /// [`Store::record_revision`] for a version built on `parent` (the version checked out
    /// when it was built). `push` moves a remote's `latest` only along these links.
    pub fn record_revision_with_parent(
        &self,
        name: &PackageName,
        top: &TopHash,
        message: Option<&str>,
        time: i64,
        parent: Option<&TopHash>,
    ) -> Result<()> {
        if !self.has_manifest(top) {
            return Err(Error::ManifestMissing { top: *top });
        }
        let _lock = self.lock_shared()?;
        let parent = parent.filter(|p| *p != top);
        self.db.record_revision(name, top, message, time, parent)?;
        let dir = self.package_mirror_dir(name);
        self.layout
            .atomic_write(&dir.join(time.to_string()), top.to_hex().as_bytes())?;
        self.write_latest_mirror(name)
    }

    fn package_mirror_dir(&self, name: &PackageName) -> PathBuf {
        self.layout
            .named_packages_dir()
            .join(name.namespace())
            .join(name.name())
    }

    fn write_latest_mirror(&self, name: &PackageName) -> Result<()> {
        let dir = self.package_mirror_dir(name);
        match self.db.latest(name)? {
            Some(rev) => self
                .layout
                .atomic_write(&dir.join("latest"), rev.top_hash.to_hex().as_bytes()),
            None => {
                layout::remove_file(&dir.join("latest"))?;
                // Leave the directories if anything else (e.g. quilt3 itself) put files there.
                let _ = fs::remove_dir(&dir);
                if let Some(ns) = dir.parent() {
                    let _ = fs::remove_dir(ns);
                }
                Ok(())
            }
        }
    }

    /// Whether `ancestor` is `top` or reachable from it through recorded parents. A
    /// rebuild of old content can make the links loop; each version is visited once.
    pub fn is_ancestor(
        &self,
        name: &PackageName,
        ancestor: &TopHash,
        top: &TopHash,
    ) -> Result<bool> {
        let mut seen = HashSet::new();
        let mut cur = Some(*top);
        while let Some(t) = cur {
            if t == *ancestor {
                return Ok(true);
            }
            if !seen.insert(t) {
                return Ok(false);
            }
            cur = self.db.parent(name, &t)?;
        }
        Ok(false)
    }

    /// Forgets every revision of a package; returns how many there were. Objects stay until gc.
    pub fn delete_package(&self, name: &PackageName) -> Result<usize> {
        let _lock = self.lock_shared()?;
        let n = self.db.delete_package(name)?;
        let dir = self.package_mirror_dir(name);
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io_write("remove", &dir, e)),
        }
        if let Some(ns) = dir.parent() {
            let _ = fs::remove_dir(ns);
        }
        Ok(n)
    }

    /// Forgets one version of a package; returns whether it was recorded.
    pub fn delete_revision(&self, name: &PackageName, top: &TopHash) -> Result<bool> {
        let _lock = self.lock_shared()?;
        let removed = self.db.delete_revision(name, top)?;
        let dir = self.package_mirror_dir(name);
        let hex = top.to_hex();
        for e in layout::read_dir(&dir)? {
            let path = e.path();
            let is_ts = e
                .file_name()
                .to_str()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if is_ts && fs::read(&path).is_ok_and(|c| c == hex.as_bytes()) {
                layout::remove_file(&path)?;
            }
        }
        self.write_latest_mirror(name)?;
        Ok(removed)
    }

    /// Full top hashes starting with `hex_prefix`, over recorded revisions and stored
    /// manifests. Several results mean the prefix is ambiguous.
    pub fn resolve_prefix(&self, hex_prefix: &str) -> Result<Vec<TopHash>> {
        let prefix = hex_prefix.to_ascii_lowercase();
        if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(Error::BadPrefix {
                prefix: hex_prefix.to_owned(),
            });
        }
        let mut found: HashSet<TopHash> = self.db.tops_with_prefix(&prefix)?.into_iter().collect();
        found.extend(
            self.manifests()?
                .into_iter()
                .filter(|t| t.to_hex().starts_with(&prefix)),
        );
        let mut out: Vec<TopHash> = found.into_iter().collect();
        out.sort();
        Ok(out)
    }
}
