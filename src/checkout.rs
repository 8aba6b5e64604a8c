//! Writing a package version out as files: `checkout` (in the working directory, careful
//! about local changes) and `install` (into any destination).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicBool;

use quilt_hash::{
    is_reserved_component, Entry, EntrySummary, LogicalKey, Manifest, ObjectId, PackageName,
    Progress, TopHash,
};
use quilt_store::{StatRow, Store};

use crate::dest::{temp_owner_is_gone, Dest, Existing};
use crate::diff::compare;
use crate::error::{Error, Result};
use crate::ignore::IgnoreRules;
use crate::repo::Repository;
use crate::scan::{current_ids, legacy_kinds, LegacyKinds};
use crate::walk::{walk_tree, WalkedFile};
use crate::write_tree::write_entries;

/// How to check out.
#[derive(Debug, Clone, Default)]
pub struct CheckoutOptions {
    /// Overwrite or delete files with local modifications.
    pub force: bool,
}

/// What a checkout or install wrote.
#[derive(Debug, Clone)]
pub struct CheckoutOutcome {
    /// The version written.
    pub top_hash: TopHash,
    /// Files written (new or changed).
    pub written: u64,
    /// Files of the previous version removed.
    pub removed: u64,
    /// Files already as the version has them.
    pub unchanged: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The path a logical key maps to under `dest`, refusing anything that would leave it.
pub fn target_path(dest: &Path, key: &str) -> Result<PathBuf> {
    let escape = || Error::PathEscape {
        key: key.to_owned(),
        dest: dest.to_path_buf(),
    };
    if key.is_empty() || key.contains('\0') || key.contains('\\') || key.starts_with('/') {
        return Err(escape());
    }
    if key
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(escape());
    }
    let rel = Path::new(key);
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(escape());
    }
    if key.split('/').any(is_reserved_component) {
        // Refused with the reason quilt gives for such keys everywhere.
        LogicalKey::parse(key)?;
    }
    Ok(dest.join(rel))
}

/// How to install.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Replace files whose content differs from the package's.
    pub force: bool,
}

/// Writes every entry of `manifest` under `dest`, refusing to replace a file whose content
/// differs from the package's; see [`install_with`].
pub fn install(
    store: &Store,
    manifest: &Manifest,
    dest: &Path,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<CheckoutOutcome> {
    install_with(
        store,
        manifest,
        dest,
        &InstallOptions::default(),
        progress,
        interrupt,
    )
}

/// Writes every entry of `manifest` under `dest`. Files that already hold an entry's content
/// are left alone; a file with other content is a local edit (install keeps no record of
/// what it wrote before) and stops the install unless `force` is set. Every key, every
/// object and every path is checked before anything is written, so a refused install writes
/// nothing. Links below `dest` are never followed.
pub fn install_with(
    store: &Store,
    manifest: &Manifest,
    dest: &Path,
    opts: &InstallOptions,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<CheckoutOutcome> {
    let plan = plan_install(store, manifest, dest, opts)?;
    apply_install(store, plan, manifest.top_hash(), progress, interrupt)
}

/// What an install will do, worked out by reading only.
struct InstallPlan<'a> {
    dest: Dest,
    to_write: Vec<&'a Entry>,
    unchanged: u64,
}

/// Checks every key, object and path, and hashes the files already at `dest` (from the stat
/// cache where it vouches for them) to find those that need writing. Writes nothing.
fn plan_install<'a>(
    store: &Store,
    manifest: &'a Manifest,
    dest: &Path,
    opts: &InstallOptions,
) -> Result<InstallPlan<'a>> {
    for e in &manifest.entries {
        target_path(dest, e.logical_key.as_str())?;
        if !store.contains(&e.hash)? {
            return Err(quilt_store::Error::ObjectMissing { id: e.hash }.into());
        }
    }
    let out = Dest::open(dest)?;
    let entries: Vec<&Entry> = manifest.entries.iter().collect();
    let keys: Vec<&str> = entries.iter().map(|e| e.logical_key.as_str()).collect();
    let existing = out.inspect_all(&keys)?;
    let present: Vec<(&Entry, WalkedFile)> = entries
        .iter()
        .zip(&existing)
        .filter_map(|(e, x)| match *x {
            Existing::File {
                size,
                mtime_ns,
                ino,
            } => Some((
                *e,
                WalkedFile {
                    key: e.logical_key.to_string(),
                    size,
                    mtime_ns,
                    ino,
                },
            )),
            Existing::Missing => None,
        })
        .collect();
    let files: Vec<WalkedFile> = present.iter().map(|(_, f)| f.clone()).collect();
    let cache = store.db().stat_cache_load(dest)?;
    let kinds = legacy_kinds(
        present
            .iter()
            .map(|(e, _)| (e.logical_key.as_str(), &e.hash)),
    );
    let (ids, _) = current_ids(dest, &files, &cache, &kinds)?;
    let mut same = HashSet::new();
    let mut conflicts = Vec::new();
    for ((e, _), id) in present.iter().zip(&ids) {
        if *id == e.hash {
            same.insert(e.logical_key.as_str());
        } else if !opts.force {
            conflicts.push(e.logical_key.to_string());
        }
    }
    if let Some(example) = conflicts.first() {
        return Err(Error::WouldOverwrite {
            count: conflicts.len(),
            example: example.clone(),
        });
    }
    let to_write: Vec<&Entry> = entries
        .into_iter()
        .filter(|e| !same.contains(e.logical_key.as_str()))
        .collect();
    Ok(InstallPlan {
        dest: out,
        to_write,
        unchanged: same.len() as u64,
    })
}

/// Creates the destination if need be and writes what [`plan_install`] chose.
fn apply_install(
    store: &Store,
    plan: InstallPlan<'_>,
    top_hash: TopHash,
    progress: &dyn Progress,
    interrupt: &AtomicBool,
) -> Result<CheckoutOutcome> {
    let InstallPlan {
        dest: mut out,
        to_write,
        unchanged,
    } = plan;
    out.create()?;
    let bytes = write_entries(store, &out, &to_write, progress, interrupt)?;
    out.sync()?;
    Ok(CheckoutOutcome {
        top_hash,
        written: to_write.len() as u64,
        removed: 0,
        unchanged,
        bytes,
    })
}

/// Removes the temp files a killed checkout left in `dir`, unless their process still runs.
fn remove_leftovers(dest: &Dest, leftovers: &[PathBuf]) -> Result<()> {
    for path in leftovers {
        let Ok(rel) = path.strip_prefix(dest.path()) else {
            continue;
        };
        let (Some(key), Some(name)) = (rel.to_str(), path.file_name().and_then(|n| n.to_str()))
        else {
            continue;
        };
        if temp_owner_is_gone(name) {
            dest.remove_file(key)?;
        }
    }
    Ok(())
}

/// The files a checkout will write and remove, decided from the versions and the walk alone.
struct Changes<'a> {
    to_write: Vec<&'a Entry>,
    to_remove: Vec<String>,
    unchanged: u64,
}

/// The hash types a checkout compares files under: the target's legacy types, except that a
/// key of the current version takes the current entry's type, because local modifications
/// are judged against the current version (a file that only needs rewriting for the target
/// is rewritten either way).
fn compare_kinds<'a>(target: &'a Manifest, current: Option<&'a Manifest>) -> LegacyKinds<'a> {
    let mut kinds = legacy_kinds(
        target
            .entries
            .iter()
            .map(|e| (e.logical_key.as_str(), &e.hash)),
    );
    for e in current.iter().flat_map(|m| &m.entries) {
        let key = e.logical_key.as_str();
        if e.hash.kind == quilt_hash::HashType::Sha2_256Chunked {
            kinds.remove(key);
        } else {
            kinds.insert(key, e.hash.kind);
        }
    }
    kinds
}

/// Compares the target version with the working directory (and the version it is at):
/// files to write, files to remove, and local modifications that stop the checkout.
fn changes<'a>(
    target: &'a Manifest,
    current: Option<&Manifest>,
    files: &[WalkedFile],
    ids: &[ObjectId],
    force: bool,
) -> Result<Changes<'a>> {
    let on_disk: HashMap<&str, ObjectId> = files
        .iter()
        .zip(ids.iter().copied())
        .map(|(f, id)| (f.key.as_str(), id))
        .collect();
    // Paths whose local content differs from the current version (or are untracked).
    let modified: HashSet<String> = match current {
        Some(m) => compare(
            &m.entries.iter().map(EntrySummary::from).collect::<Vec<_>>(),
            files,
            ids,
        )
        .0
        .into_iter()
        .map(|c| c.key)
        .collect(),
        None => files.iter().map(|f| f.key.clone()).collect(),
    };
    let mut plan = Changes {
        to_write: Vec::new(),
        to_remove: Vec::new(),
        unchanged: 0,
    };
    let mut conflicts = Vec::new();
    for e in &target.entries {
        let key = e.logical_key.as_str();
        match on_disk.get(key) {
            Some(id) if *id == e.hash => plan.unchanged += 1,
            Some(_) if modified.contains(key) && !force => conflicts.push(key.to_owned()),
            _ => plan.to_write.push(e),
        }
    }
    let target_keys: HashSet<&str> = target
        .entries
        .iter()
        .map(|e| e.logical_key.as_str())
        .collect();
    for e in current.iter().flat_map(|m| &m.entries) {
        let key = e.logical_key.as_str();
        if target_keys.contains(key) || !on_disk.contains_key(key) {
            continue;
        }
        if modified.contains(key) && !force {
            conflicts.push(key.to_owned());
        } else {
            plan.to_remove.push(key.to_owned());
        }
    }
    match conflicts.first() {
        Some(example) => Err(Error::WouldOverwrite {
            count: conflicts.len(),
            example: example.clone(),
        }),
        None => Ok(plan),
    }
}

/// The version a checkout moves to, and the one the working directory is at.
struct Switch {
    name: PackageName,
    top_hash: TopHash,
    target: Manifest,
    current: Option<Manifest>,
}

/// What a checkout will do, worked out by reading only: the destination, opened once, the
/// files to write and remove, and the temp files killed checkouts left behind.
struct CheckoutPlan<'a> {
    dest: Dest,
    changes: Changes<'a>,
    leftovers: Vec<PathBuf>,
}

impl Repository {
    /// Switches the working directory to another version, as `git checkout` does: files of the
    /// target are written, files only the current version had are removed, untracked files are
    /// left alone, and local modifications stop the checkout unless `force` is set. Every
    /// check (keys, links in the way, local edits, objects present) is made before anything
    /// is written; links in the way are refused, never followed.
    pub fn checkout(
        &self,
        rev: &str,
        opts: &CheckoutOptions,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<CheckoutOutcome> {
        let switch = self.switch_to(rev)?;
        let plan = self.plan_checkout(&switch, opts.force)?;
        self.apply_checkout(&switch, plan, progress, interrupt)
    }

    /// Resolves `rev` and reads the target and current manifests.
    fn switch_to(&self, rev: &str) -> Result<Switch> {
        let store = self.store();
        let target_rev = self.resolve_rev(rev)?;
        let target = store.get_manifest(&target_rev.top_hash)?;
        let head = self.head()?;
        let name = match target_rev
            .name
            .clone()
            .or_else(|| head.as_ref().map(|h| h.0.clone()))
        {
            Some(n) => n,
            None => {
                return Err(Error::BadRev {
                    rev: rev.to_owned(),
                    reason: "name the package as NS/PKG@HASH".to_owned(),
                })
            }
        };
        let current = match &head {
            Some((_, top)) => Some(store.get_manifest(top)?),
            None => None,
        };
        Ok(Switch {
            name,
            top_hash: target_rev.top_hash,
            target,
            current,
        })
    }

    /// Walks and scans the working directory and decides what the checkout writes and
    /// removes, making every check first. Writes nothing.
    fn plan_checkout<'a>(&self, switch: &'a Switch, force: bool) -> Result<CheckoutPlan<'a>> {
        let store = self.store();
        let dir = self.worktree();
        let (target, current) = (&switch.target, switch.current.as_ref());
        for e in &target.entries {
            target_path(dir, e.logical_key.as_str())?;
        }
        let ignore = IgnoreRules::load(dir)?;
        let walk = walk_tree(dir, &ignore, &[store.root().to_path_buf()])?;
        let cache = store.db().stat_cache_load(dir)?;
        let kinds = compare_kinds(target, current);
        let (ids, _) = current_ids(dir, &walk.files, &cache, &kinds)?;
        drop(cache);
        let changes = changes(target, current, &walk.files, &ids, force)?;
        for e in &changes.to_write {
            if !store.contains(&e.hash)? {
                return Err(quilt_store::Error::ObjectMissing { id: e.hash }.into());
            }
        }
        let dest = Dest::open(dir)?;
        let keys: Vec<&str> = changes
            .to_write
            .iter()
            .map(|e| e.logical_key.as_str())
            .collect();
        dest.inspect_all(&keys)?;
        Ok(CheckoutPlan {
            dest,
            changes,
            leftovers: walk.leftovers,
        })
    }

    /// Carries out a [`CheckoutPlan`]: removes leftovers, writes and removes files, then
    /// records the new stats and the working directory's new head.
    fn apply_checkout(
        &self,
        switch: &Switch,
        plan: CheckoutPlan<'_>,
        progress: &dyn Progress,
        interrupt: &AtomicBool,
    ) -> Result<CheckoutOutcome> {
        let store = self.store();
        let dir = self.worktree();
        let CheckoutPlan {
            dest,
            changes,
            leftovers,
        } = plan;
        remove_leftovers(&dest, &leftovers)?;
        let bytes = write_entries(store, &dest, &changes.to_write, progress, interrupt)?;
        for key in &changes.to_remove {
            dest.remove_file(key)?;
            dest.remove_empty_parents(key);
        }
        dest.sync()?;
        store
            .db()
            .stat_cache_store(dir, &written_rows(dir, &changes.to_write))?;
        store
            .db()
            .set_worktree_head(dir, &switch.name, &switch.top_hash)?;
        Ok(CheckoutOutcome {
            top_hash: switch.top_hash,
            written: changes.to_write.len() as u64,
            removed: changes.to_remove.len() as u64,
            unchanged: changes.unchanged,
            bytes,
        })
    }
}

/// Stat cache rows for the files just written, so `status` need not hash them again.
fn written_rows(dir: &Path, written: &[&Entry]) -> Vec<StatRow> {
    written
        .iter()
        .filter_map(|e| {
            let md = fs::symlink_metadata(dir.join(e.logical_key.as_str())).ok()?;
            let w = WalkedFile::from_metadata(String::new(), &md);
            Some(StatRow {
                key: e.logical_key.to_string(),
                size: w.size,
                mtime_ns: w.mtime_ns,
                inode: w.ino,
                id: e.hash,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keys_are_refused() {
        let dest = Path::new("/tmp/dest");
        for key in [
            "../x",
            "/etc/passwd",
            "a/../../b",
            "a/./b",
            "",
            "a\0b",
            "..\\x",
            ".quilt/quilt.db",
            "sub/.quilt/lock",
        ] {
            assert!(target_path(dest, key).is_err(), "{key:?} should be refused");
        }
        assert_eq!(
            target_path(dest, "a/b.txt").expect("plain key"),
            dest.join("a/b.txt")
        );
    }
}
