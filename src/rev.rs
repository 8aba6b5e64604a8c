//! Revision specifications: `NS/PKG`, `NS/PKG@HASH`, `NS/PKG@latest`, bare top-hash
//! prefixes, `HEAD` (the version a working directory has checked out) and `REV~N` (the N-th
//! version before REV in the package's history).

use quilt_hash::{PackageName, TopHash};
use quilt_store::Store;

use crate::error::{Error, Result};
use crate::repo::Repository;

/// Shortest hash prefix accepted, so a prefix is unlikely to be ambiguous by accident.
pub const MIN_PREFIX: usize = 6;

/// The name of the checked-out version, as in git.
pub const HEAD: &str = "HEAD";

/// A parsed revision, not yet looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevSpec {
    /// The latest revision of a package (`NS/PKG` or `NS/PKG@latest`).
    Latest(PackageName),
    /// A revision of a package named by a top-hash prefix.
    At(PackageName, String),
    /// Any stored manifest whose top hash starts with this prefix.
    Hash(String),
    /// The version the working directory has checked out.
    Head,
    /// The N-th version before another one, in the package's history (`REV~N`).
    Back(Box<RevSpec>, usize),
}

/// A revision resolved to a top hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rev {
    /// The package, when the revision named one.
    pub name: Option<PackageName>,
    /// The version.
    pub top_hash: TopHash,
}

const FORMS: &str = "a revision is NS/PKG, NS/PKG@HASH, NS/PKG@latest, HEAD, REV~N or a \
                     top-hash prefix";

/// The revision as it is written: `NS/PKG`, `NS/PKG@HASH`, a prefix, `HEAD` or `REV~N`.
impl std::fmt::Display for RevSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevSpec::Latest(n) => write!(f, "{n}"),
            RevSpec::At(n, h) => write!(f, "{n}@{h}"),
            RevSpec::Hash(h) => f.write_str(h),
            RevSpec::Head => f.write_str(HEAD),
            RevSpec::Back(base, n) => write!(f, "{base}~{n}"),
        }
    }
}

impl RevSpec {
    /// Parses a revision as the CLI takes it; see [`RevSpec`] for the forms.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadRev {
            rev: s.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some((base, n)) = s.rsplit_once('~') {
            // `~` alone means one back, as in git.
            let n = match n {
                "" => 1,
                n => n
                    .parse::<usize>()
                    .map_err(|_| bad(&format!("'~{n}' is not '~' and a number; {FORMS}")))?,
            };
            return Ok(match RevSpec::parse(base)? {
                RevSpec::Back(inner, m) => RevSpec::Back(inner, m.saturating_add(n)),
                base => RevSpec::Back(Box::new(base), n),
            });
        }
        if s == HEAD {
            return Ok(RevSpec::Head);
        }
        if let Some((name, hash)) = s.split_once('@') {
            let name = PackageName::parse(name)?;
            if hash == "latest" {
                return Ok(RevSpec::Latest(name));
            }
            check_prefix(hash).map_err(|r| bad(&r))?;
            return Ok(RevSpec::At(name, hash.to_owned()));
        }
        if s.contains('/') {
            return Ok(RevSpec::Latest(PackageName::parse(s)?));
        }
        check_prefix(s).map_err(|r| bad(&format!("{r}; {FORMS}")))?;
        Ok(RevSpec::Hash(s.to_owned()))
    }

    /// The package name, when the spec has one.
    pub fn name(&self) -> Option<&PackageName> {
        match self {
            RevSpec::Latest(n) | RevSpec::At(n, _) => Some(n),
            RevSpec::Back(base, _) => base.name(),
            RevSpec::Hash(_) | RevSpec::Head => None,
        }
    }

    /// Whether resolving this spec needs the working directory's head.
    pub fn uses_head(&self) -> bool {
        match self {
            RevSpec::Head => true,
            RevSpec::Back(base, _) => base.uses_head(),
            _ => false,
        }
    }
}

fn check_prefix(p: &str) -> std::result::Result<(), String> {
    if p.len() < MIN_PREFIX || p.len() > 64 {
        return Err(format!(
            "a hash prefix needs {MIN_PREFIX} to 64 hex characters, got {}",
            p.len()
        ));
    }
    if !p
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("a hash prefix is lowercase hex (0-9, a-f)".to_owned());
    }
    Ok(())
}

/// Looks a revision up in the local store. `HEAD` needs a working directory: use
/// [`Repository::resolve_rev`] for it.
pub fn resolve_rev(store: &Store, s: &str) -> Result<Rev> {
    resolve_spec(store, s, &RevSpec::parse(s)?, None)
}

impl Repository {
    /// Looks a revision up in the store, with `HEAD` meaning the version this working
    /// directory has checked out.
    pub fn resolve_rev(&self, s: &str) -> Result<Rev> {
        let spec = RevSpec::parse(s)?;
        let head = if spec.uses_head() {
            let head = self.head()?;
            Some(head.ok_or_else(|| Error::NoHead(self.worktree().to_path_buf()))?)
        } else {
            None
        };
        tracing::debug!(rev = s, "resolving a revision");
        resolve_spec(self.store(), s, &spec, head)
    }
}

fn resolve_spec(
    store: &Store,
    s: &str,
    spec: &RevSpec,
    head: Option<(PackageName, TopHash)>,
) -> Result<Rev> {
    match spec {
        RevSpec::Head => match head {
            Some((name, top_hash)) => Ok(Rev {
                name: Some(name),
                top_hash,
            }),
            None => Err(Error::BadRev {
                rev: s.to_owned(),
                reason: "HEAD names the version a working directory has checked out; run this \
                         inside one"
                    .to_owned(),
            }),
        },
        RevSpec::Back(base, n) => {
            let base = resolve_spec(store, s, base, head)?;
            let Some(name) = base.name else {
                return Err(Error::BadRev {
                    rev: s.to_owned(),
                    reason: "'~N' counts versions of a package; write NS/PKG@HASH~N".to_owned(),
                });
            };
            let top_hash = nth_before(store, s, &name, &base.top_hash, *n)?;
            Ok(Rev {
                name: Some(name),
                top_hash,
            })
        }
        RevSpec::Latest(name) => {
            let rev = store
                .db()
                .latest(name)?
                .ok_or_else(|| Error::UnknownRev(s.to_owned()))?;
            Ok(Rev {
                name: Some(name.clone()),
                top_hash: rev.top_hash,
            })
        }
        RevSpec::At(name, prefix) => {
            let mut found: Vec<TopHash> = store
                .db()
                .revisions(name)?
                .into_iter()
                .map(|r| r.top_hash)
                .filter(|t| t.to_hex().starts_with(prefix.as_str()))
                .collect();
            if found.is_empty() {
                // A version that was pulled or built under another name is still addressable.
                found = store.resolve_prefix(prefix)?;
            }
            Ok(Rev {
                name: Some(name.clone()),
                top_hash: one(s, prefix, found)?,
            })
        }
        RevSpec::Hash(prefix) => Ok(Rev {
            name: None,
            top_hash: one(s, prefix, store.resolve_prefix(prefix)?)?,
        }),
    }
}

/// The version `n` steps before `top` in `name`'s history, by the order versions were
/// recorded (newest first).
fn nth_before(
    store: &Store,
    s: &str,
    name: &PackageName,
    top: &TopHash,
    n: usize,
) -> Result<TopHash> {
    let history = store.db().revisions(name)?;
    let Some(at) = history.iter().position(|r| r.top_hash == *top) else {
        return Err(Error::BadRev {
            rev: s.to_owned(),
            reason: format!(
                "{top} is not a recorded version of {name}; `quilt log {name}` lists them"
            ),
        });
    };
    match history.get(at + n) {
        Some(r) => Ok(r.top_hash),
        None => Err(Error::BadRev {
            rev: s.to_owned(),
            reason: format!(
                "{name} has only {} version(s) before {}; `quilt log {name}` lists them",
                history.len() - at - 1,
                &top.to_hex()[..12]
            ),
        }),
    }
}

fn one(rev: &str, prefix: &str, mut found: Vec<TopHash>) -> Result<TopHash> {
    found.sort();
    found.dedup();
    match found.len() {
        0 => Err(Error::UnknownRev(rev.to_owned())),
        1 => Ok(found[0]),
        _ => Err(Error::AmbiguousPrefix {
            prefix: prefix.to_owned(),
            candidates: found
                .iter()
                .map(|t| format!("  {t}"))
                .collect::<Vec<_>>()
                .join("\n"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert!(matches!(RevSpec::parse("team/ds"), Ok(RevSpec::Latest(_))));
        assert!(matches!(
            RevSpec::parse("team/ds@latest"),
            Ok(RevSpec::Latest(_))
        ));
        assert!(matches!(
            RevSpec::parse("team/ds@abcdef"),
            Ok(RevSpec::At(_, _))
        ));
        assert!(matches!(RevSpec::parse("abcdef12"), Ok(RevSpec::Hash(_))));
        assert_eq!(RevSpec::parse("HEAD").ok(), Some(RevSpec::Head));
        assert_eq!(
            RevSpec::parse("HEAD~2").ok(),
            Some(RevSpec::Back(Box::new(RevSpec::Head), 2))
        );
        assert_eq!(
            RevSpec::parse("HEAD~").ok(),
            Some(RevSpec::Back(Box::new(RevSpec::Head), 1))
        );
        assert_eq!(
            RevSpec::parse("HEAD~1~2").ok(),
            Some(RevSpec::Back(Box::new(RevSpec::Head), 3))
        );
        assert!(matches!(
            RevSpec::parse("team/ds~1"),
            Ok(RevSpec::Back(b, 1)) if matches!(*b, RevSpec::Latest(_))
        ));
    }

    #[test]
    fn rejects_short_or_non_hex_prefixes() {
        assert!(RevSpec::parse("abc").is_err());
        assert!(RevSpec::parse("team/ds@abc").is_err());
        assert!(RevSpec::parse("ABCDEF").is_err());
        assert!(RevSpec::parse("zzzzzz").is_err());
        assert!(RevSpec::parse("bad name/x").is_err());
        assert!(RevSpec::parse("HEAD~x").is_err());
        assert!(RevSpec::parse("head").is_err());
    }
}
