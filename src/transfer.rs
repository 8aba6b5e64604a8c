//! Versions between a repository's store and a remote: [`Repository::push`],
//! [`Repository::fetch`], [`Repository::pull`], [`Repository::install`] and
//! [`Repository::install_from`], and the user's cache store that installs fill outside any
//! working directory ([`Repository::cache`]).
//!
//! Every method returns [`crate::Error`]; the transfers themselves live in
//! [`quilt_sync::transfer`], and this module only turns revisions into what they need.

use std::path::{Path, PathBuf};

use quilt_hash::{PackageName, TopHash};
use quilt_sync::{FetchOptions, FetchOutcome, PushOptions, PushOutcome, Remote};

use crate::checkout::{install_with, CheckoutOptions, CheckoutOutcome, InstallOptions};
use crate::error::{Error, Result};
use crate::repo::Repository;
use crate::rev::RevSpec;
use crate::watch::Watch;

/// What [`Repository::fetch`] brought: the version, and under which name it was recorded
/// (none for a bare top-hash prefix).
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The package name the version was recorded under.
    pub name: Option<PackageName>,
    /// Objects and bytes downloaded, and the version's top hash.
    pub outcome: FetchOutcome,
}

/// What [`Repository::pull`] or [`Repository::install_from`] did: the fetch, then the files.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The fetch.
    pub fetched: Fetched,
    /// The files written into the working directory or destination.
    pub written: CheckoutOutcome,
}

impl Repository {
    /// Sends version `top` of `name` and every object it names that `remote` lacks, then its
    /// manifest and pointers (quilt3's registry layout), moving the remote's `latest` only
    /// along this store's history unless `opts.force`.
    pub fn push(
        &self,
        remote: &dyn Remote,
        name: &PackageName,
        top: &TopHash,
        opts: &PushOptions<'_>,
        watch: Watch<'_>,
    ) -> Result<PushOutcome> {
        Ok(quilt_sync::push(
            self.store(),
            remote,
            name,
            top,
            opts,
            watch.progress,
            watch.interrupt,
        )?)
    }

    /// Every local version of `name` the remote lacks, oldest first, then the local latest
    /// (always, so `latest` ends on it). A version whose manifest is on the remote is
    /// complete there (objects go before the manifest), so a repeated run skips it.
    pub fn versions_to_push(
        &self,
        remote: &dyn Remote,
        name: &PackageName,
    ) -> Result<Vec<TopHash>> {
        let mut history: Vec<TopHash> = self
            .store()
            .db()
            .revisions(name)?
            .into_iter()
            .rev()
            .map(|r| r.top_hash)
            .collect();
        let latest = history
            .pop()
            .ok_or_else(|| Error::UnknownRev(name.to_string()))?;
        let mut out = Vec::new();
        for top in history {
            if !quilt_sync::registry::has_manifest(remote, &top)? {
                out.push(top);
            }
        }
        tracing::info!(package = %name, missing = out.len(), "older versions the remote lacks");
        out.push(latest);
        Ok(out)
    }

    /// Pushes every version [`Repository::versions_to_push`] lists, oldest first; an older
    /// version arriving after a newer one is stored without moving `latest`. An interrupted
    /// run can simply be repeated.
    pub fn push_all(
        &self,
        remote: &dyn Remote,
        name: &PackageName,
        opts: &PushOptions<'_>,
        watch: Watch<'_>,
    ) -> Result<Vec<PushOutcome>> {
        let versions = self.versions_to_push(remote, name)?;
        let mut outcomes = Vec::new();
        for (i, top) in versions.iter().enumerate() {
            let last = i + 1 == versions.len();
            match self.push(remote, name, top, opts, watch) {
                Ok(out) => outcomes.push(out),
                // An older version arriving after a newer one: stored, but latest stays put.
                Err(Error::Transfer(e))
                    if !last && matches!(*e, quilt_sync::TransferError::LatestMoved { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(outcomes)
    }

    /// Fetches a version named on `remote` (`NS/PKG`, `NS/PKG@HASH` or a top-hash prefix)
    /// into the store, verifying every object's hash; nothing in the working directory
    /// changes.
    pub fn fetch(
        &self,
        remote: &dyn Remote,
        rev: &RevSpec,
        opts: &FetchOptions,
        watch: Watch<'_>,
    ) -> Result<Fetched> {
        let (name, hash) = remote_rev(rev)?;
        let outcome = quilt_sync::fetch(
            self.store(),
            remote,
            name.as_ref(),
            hash,
            opts,
            watch.progress,
            watch.interrupt,
        )?;
        Ok(Fetched { name, outcome })
    }

    /// [`Repository::fetch`], then [`Repository::checkout`] of that version.
    pub fn pull(
        &self,
        remote: &dyn Remote,
        rev: &RevSpec,
        opts: &FetchOptions,
        checkout: &CheckoutOptions,
        watch: Watch<'_>,
    ) -> Result<Installed> {
        let fetched = self.fetch(remote, rev, opts, watch)?;
        let written = self.checkout_fetched(&fetched, checkout, watch)?;
        Ok(Installed { fetched, written })
    }

    /// [`Repository::checkout`] of the version a [`Repository::fetch`] brought, under the
    /// name it was fetched by.
    pub fn checkout_fetched(
        &self,
        fetched: &Fetched,
        opts: &CheckoutOptions,
        watch: Watch<'_>,
    ) -> Result<CheckoutOutcome> {
        let top = fetched.outcome.top_hash;
        let rev = match &fetched.name {
            Some(n) => format!("{n}@{top}"),
            None => top.to_hex(),
        };
        self.checkout(&rev, opts, watch.progress, watch.interrupt)
    }

    /// Writes every file of a stored version (`rev` as [`Repository::resolve_rev`] reads it)
    /// under `dest`, which is not a working directory: nothing is recorded there.
    pub fn install(
        &self,
        rev: &str,
        dest: &Path,
        opts: &InstallOptions,
        watch: Watch<'_>,
    ) -> Result<CheckoutOutcome> {
        self.install_version(&self.resolve_rev(rev)?.top_hash, dest, opts, watch)
    }

    /// [`Repository::install`] of the stored version `top`.
    pub fn install_version(
        &self,
        top: &TopHash,
        dest: &Path,
        opts: &InstallOptions,
        watch: Watch<'_>,
    ) -> Result<CheckoutOutcome> {
        let manifest = self.store().get_manifest(top)?;
        install_with(
            self.store(),
            &manifest,
            dest,
            opts,
            watch.progress,
            watch.interrupt,
        )
    }

    /// [`Repository::fetch`] from `remote`, then [`Repository::install_version`] of that version
    /// under `dest`.
    pub fn install_from(
        &self,
        remote: &dyn Remote,
        rev: &RevSpec,
        dest: &Path,
        opts: &InstallOptions,
        fetch: &FetchOptions,
        watch: Watch<'_>,
    ) -> Result<Installed> {
        let fetched = self.fetch(remote, rev, fetch, watch)?;
        let written = self.install_version(&fetched.outcome.top_hash, dest, opts, watch)?;
        Ok(Installed { fetched, written })
    }

    /// The user's cache store, created on first use: where [`Repository::install_from`] and
    /// [`crate::Package::install`] keep what they fetch when no working directory is at hand.
    /// It is `$QUILT_CACHE_DIR`, else `$XDG_CACHE_HOME/quilt`, else `~/.cache/quilt`.
    pub fn cache() -> Result<Repository> {
        Repository::init(&cache_dir(), None)
    }

    /// [`Repository::cache`] if it exists, without creating it.
    pub fn open_cache() -> Result<Option<Repository>> {
        let dir = cache_dir();
        if !dir.join(crate::DOT_QUILT).is_dir() {
            return Ok(None);
        }
        Repository::open(&dir).map(Some)
    }
}

/// A revision as a remote can resolve it: a package name and/or a top-hash prefix.
pub(crate) fn remote_rev(rev: &RevSpec) -> Result<(Option<PackageName>, Option<&str>)> {
    match rev {
        RevSpec::Latest(n) => Ok((Some(n.clone()), None)),
        RevSpec::At(n, h) => Ok((Some(n.clone()), Some(h.as_str()))),
        RevSpec::Hash(h) => Ok((None, Some(h.as_str()))),
        RevSpec::Head | RevSpec::Back(..) => Err(Error::BadRev {
            rev: rev.to_string(),
            reason: "HEAD and REV~N name local versions; name a remote one as NS/PKG, \
                     NS/PKG@HASH or a top-hash prefix"
                .into(),
        }),
    }
}

/// Where [`Repository::cache`] lives.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("QUILT_CACHE_DIR") {
        return d.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("quilt")
}
