//! Package names: `namespace/name`.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A validated package name such as `team/dataset`.
///
/// quilt3 checks names against `^[\w-]+/[\w-]+$`. Python's `\w` on text is "alphanumeric or
/// `_`", so this accepts `char::is_alphanumeric`, `_` and `-` on each side of exactly one `/`.
/// Rust's alphanumeric also counts a few combining vowel signs (Unicode `Other_Alphabetic`)
/// that Python does not; names using those are accepted here but refused by quilt3.
/// Unlike Python's `$`, a trailing newline is refused.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageName {
    full: String,
    slash: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

impl PackageName {
    /// Checks `NAMESPACE/NAME`: two non-empty parts of letters, digits, `_` or `-`.
    pub fn parse(s: impl Into<String>) -> Result<Self, Error> {
        let full = s.into();
        let valid = full.split_once('/').is_some_and(|(ns, name)| {
            !ns.is_empty()
                && !name.is_empty()
                && ns.chars().all(is_name_char)
                && name.chars().all(is_name_char)
        });
        match full.find('/') {
            Some(slash) if valid => Ok(PackageName { full, slash }),
            _ => Err(Error::BadPackageName(full)),
        }
    }

    /// The part before the `/` (a user or team).
    pub fn namespace(&self) -> &str {
        &self.full[..self.slash]
    }

    /// The part after the `/`.
    pub fn name(&self) -> &str {
        &self.full[self.slash + 1..]
    }

    /// The whole name, `NAMESPACE/NAME`.
    pub fn as_str(&self) -> &str {
        &self.full
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.full, f)
    }
}

impl FromStr for PackageName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        PackageName::parse(s)
    }
}

impl AsRef<str> for PackageName {
    fn as_ref(&self) -> &str {
        &self.full
    }
}
