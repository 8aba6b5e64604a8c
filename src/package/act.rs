//! What a [`Package`] does with a store and registries: build, push, browse, install.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use quilt_hash::{Manifest, PackageName, TopHash};
use quilt_store::Store;
use quilt_sync::transfer::fetch::{get_manifest_capped, resolve};
use quilt_sync::transfer::{parse_physical_key, PhysicalKey};
use quilt_sync::{
    fetch_objects, registry, FetchOptions, PushOptions, PushOutcome, Remote, S3Remote,
};
use rayon::prelude::*;

use super::hash::{jobs, pool};
use super::{Package, PackageOptions, Source};
use crate::build::new_version_time;
use crate::checkout::InstallOptions;
use crate::error::{Error, Result};
use crate::registry_build::publish;
use crate::repo::Repository;
use crate::rev::RevSpec;
use crate::transfer::{remote_rev, Installed};
use crate::watch::Watch;

impl Package {
    /// Builds the package into `repo`'s store as version of `name`, with `message`, and
    /// returns its top hash: every entry is hashed, local files are copied into the store
    /// (verified on the way: one that changed since it was hashed is an error), S3 objects
    /// and a browsed package's data are fetched and verified, then the manifest is stored and
    /// the version recorded (objects first, manifest next, ref last). Building what the
    /// package's latest version already is records nothing new.
    pub fn build(
        &mut self,
        repo: &Repository,
        name: &PackageName,
        message: Option<&str>,
        watch: Watch<'_>,
    ) -> Result<TopHash> {
        self.hash(watch)?;
        self.set_message(message);
        let store = repo.store();
        let _hold = store.hold_for_write()?;
        self.store_files(store, watch)?;
        self.fetch_data(store, watch)?;
        if watch.interrupt.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        let manifest = self.manifest()?;
        let top = manifest.top_hash();
        let latest = store.db().latest(name)?;
        if latest.as_ref().is_some_and(|r| r.top_hash == top) {
            return Ok(top);
        }
        let base = latest.as_ref().map(|r| r.top_hash);
        store.put_manifest_with_base(&manifest, base.as_ref())?;
        let time = new_version_time(latest.as_ref());
        store.record_revision_with_parent(name, &top, message, time, base.as_ref())?;
        tracing::info!(package = %name, top = %top, "recorded the version");
        Ok(top)
    }

    /// quilt3's `build(name, registry=…)`: hashes every entry where it lies and writes only
    /// the manifest and the pointers to `registry`, whose `latest` then names this version.
    /// Physical keys stay where the data is: `file://` URLs for local files (readable only on
    /// this machine) and `s3://` URLs pinned to the version hashed.
    pub fn build_to_registry(
        &mut self,
        registry: &dyn Remote,
        name: &PackageName,
        message: Option<&str>,
        watch: Watch<'_>,
    ) -> Result<TopHash> {
        // A registry that cannot be reached fails before any hashing.
        registry::read_latest(registry, name)?;
        self.hash(watch)?;
        self.set_message(message);
        let manifest = self.manifest()?;
        let top = manifest.top_hash();
        if watch.interrupt.load(Ordering::Relaxed) {
            return Err(Error::Interrupted);
        }
        publish(registry, name, &top, &manifest.to_bytes())?;
        Ok(top)
    }

    /// quilt3's `push`: builds the package into `repo` ([`Package::build`], with
    /// `opts.message`) and pushes that version to `remote` ([`Repository::push`]): only the
    /// objects the remote lacks are sent, then the manifest and pointers, in quilt3's
    /// layout (or, with `opts.dest`, files at `dest/<logical key>`).
    pub fn push(
        &mut self,
        repo: &Repository,
        name: &PackageName,
        remote: &dyn Remote,
        opts: &PushOptions<'_>,
        watch: Watch<'_>,
    ) -> Result<PushOutcome> {
        let top = self.build(repo, name, opts.message.as_deref(), watch)?;
        let opts = PushOptions {
            force: opts.force,
            dest: opts.dest,
            message: None,
            jobs: opts.jobs,
            ..PushOptions::default()
        };
        repo.push(remote, name, &top, &opts, watch)
    }

    /// quilt3's `Package.browse`: the version `rev` (`NS/PKG` for the latest, `NS/PKG@HASH`,
    /// or a top-hash prefix) as `registry` has it. The manifest is downloaded (with a size
    /// cap) and checked against its top hash; no data is fetched until the package is built
    /// or installed.
    pub fn browse(
        registry: Arc<dyn Remote>,
        rev: &str,
        options: PackageOptions,
    ) -> Result<Package> {
        let spec = RevSpec::parse(rev)?;
        let (name, hash) = remote_rev(&spec)?;
        let top = resolve(registry.as_ref(), name.as_ref(), hash)?;
        let cap = options
            .remote
            .s3
            .max_get_bytes
            .unwrap_or(quilt_sync::s3::DEFAULT_MAX_GET_BYTES);
        let (manifest, _) = get_manifest_capped(registry.as_ref(), &top, cap)?;
        let mut pkg = Package::from_manifest(manifest).with_options(options);
        pkg.origin = Some(registry);
        Ok(pkg)
    }

    /// A version stored in `repo` (`rev` as [`Repository::resolve_rev`] reads it).
    pub fn load(repo: &Repository, rev: &str) -> Result<Package> {
        let rev = repo.resolve_rev(rev)?;
        Ok(Package::from_manifest(
            repo.store().get_manifest(&rev.top_hash)?,
        ))
    }

    /// quilt3's `Package.install`: fetches the version `rev` from `registry` into the user's
    /// cache store ([`Repository::cache`]), verifying every object, and writes its files
    /// under `dest`.
    pub fn install(
        registry: &dyn Remote,
        rev: &str,
        dest: &Path,
        opts: &InstallOptions,
        watch: Watch<'_>,
    ) -> Result<Installed> {
        let spec = RevSpec::parse(rev)?;
        let fetch = FetchOptions {
            jobs: 8,
            ..FetchOptions::default()
        };
        Repository::cache()?.install_from(registry, &spec, dest, opts, &fetch, watch)
    }

    /// Copies every local file into the store, verifying each against its hash.
    fn store_files(&self, store: &Store, watch: Watch<'_>) -> Result<()> {
        let files: Vec<_> = self
            .entries
            .values()
            .filter_map(|e| match (e.source(), e.hash(), e.size()) {
                (Source::File(p), Some(id), Some(size)) => Some((p, *id, size)),
                _ => None,
            })
            .collect();
        let writer = store.writer()?;
        let result = pool(&self.options)?.install(|| {
            files.par_iter().try_for_each(|(path, id, size)| {
                if watch.interrupt.load(Ordering::Relaxed) {
                    return Err(Error::Interrupted);
                }
                match writer.put_file(id, path, *size) {
                    Ok(_) => Ok(()),
                    Err(quilt_store::Error::HashMismatch { .. }) => Err(Error::FileChanged {
                        path: path.to_path_buf(),
                    }),
                    Err(e) => Err(e.into()),
                }
            })
        });
        writer.commit()?;
        result
    }

    /// Fetches the data of S3 entries and of a browsed package's entries that the store
    /// lacks, from their physical keys, verifying every byte.
    fn fetch_data(&self, store: &Store, watch: Watch<'_>) -> Result<()> {
        // Only the entries matter to the fetch; the header is not read.
        let mut wanted = Manifest::new(serde_json::Map::new());
        for e in self.entries.values() {
            if matches!(e.source(), Source::File(_)) {
                continue;
            }
            let Some(hash) = e.hash() else { continue };
            if store.contains(hash)? {
                continue;
            }
            let keys = super::manifest::physical_keys(e.source());
            if let Some(entry) = e.to_manifest(keys) {
                wanted.entries.push(entry);
            }
        }
        let Some(first) = wanted.entries.first() else {
            return Ok(());
        };
        let home: Arc<dyn Remote> = match &self.origin {
            Some(origin) => origin.clone(),
            None => Arc::new(self.home_for(first.logical_key.as_str(), &first.physical_keys)?),
        };
        let opts = FetchOptions {
            jobs: jobs(&self.options),
            remote_options: self.options.remote.clone(),
            allow_local_keys: self.options.allow_local_keys,
            ..FetchOptions::default()
        };
        fetch_objects(
            store,
            home.as_ref(),
            &wanted,
            &opts,
            watch.progress,
            watch.interrupt,
        )?;
        Ok(())
    }

    /// Without a registry of origin, the bucket of an entry's S3 key is where its data (and
    /// that of the others, which may name other buckets) is fetched from.
    fn home_for(&self, key: &str, physical_keys: &[String]) -> Result<S3Remote> {
        for pk in physical_keys {
            if let Some(PhysicalKey::S3 { bucket, .. }) = parse_physical_key(pk) {
                return Ok(S3Remote::new(&bucket, "", &self.options.remote.s3)?);
            }
        }
        Err(Error::BadSource(format!(
            "entry {key:?} is not in the store and names no S3 object to fetch it from; \
             browse the package from its registry, or set the entry from a file"
        )))
    }
}
