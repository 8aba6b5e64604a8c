//! Logical keys: the `/`-separated paths of files inside a package.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use crate::Error;

/// A validated logical key such as `data/2024/part-0.csv`.
///
/// quilt3 refuses keys that are empty or have an empty, `.` or `..` component, which also rules
/// out leading, trailing and doubled `/`. NUL is refused too because no filesystem can hold it.
/// A component named `.quilt` (in any ASCII case, for case-insensitive file systems) is refused
/// as well: that name is quilt's own folder in every working directory, so such a key would
/// overwrite the store when checked out, and a build never produces one (see
/// [`is_reserved_component`]).
///
/// Keys order component by component (see [`logical_key_cmp`]), which is the order quilt3 walks
/// a package and therefore the order entries must have for the top hash to match.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LogicalKey(String);

impl LogicalKey {
    /// Validates `key` as quilt3's `validate_key` does.
    pub fn parse(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        let reason = if key.is_empty() {
            Some("a logical key cannot be empty")
        } else if key.contains('\0') {
            Some("a logical key cannot contain NUL")
        } else if key.split('/').any(|c| matches!(c, "" | "." | "..")) {
            Some("components cannot be empty, '.' or '..' (no leading, trailing or double '/')")
        } else if key.split('/').any(is_reserved_component) {
            Some("'.quilt' is reserved for quilt's own folder and cannot be a component of a key")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::BadLogicalKey { key, reason }),
            None => Ok(LogicalKey(key)),
        }
    }

    /// The key as a `/`-separated string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's string, without copying it.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The `/`-separated components; never empty, never `.` or `..`.
    pub fn components(&self) -> std::str::Split<'_, char> {
        self.0.split('/')
    }
}

/// Whether a path component is the reserved folder name `.quilt` (compared ignoring ASCII
/// case). Walks skip such directories at every depth, and [`LogicalKey::parse`] refuses keys
/// that contain one, so a package can never write into a store.
pub fn is_reserved_component(component: &str) -> bool {
    component.eq_ignore_ascii_case(RESERVED_COMPONENT)
}

/// quilt's folder in a working directory, holding the store; never part of a logical key.
pub const RESERVED_COMPONENT: &str = ".quilt";

/// Orders logical keys component by component: `a/b` < `a-c` < `a.txt`, because `a` sorts
/// before `a-c` even though `/` sorts after `-` as a byte. This is quilt3's tree-walk order.
///
/// Comparing the component lists is the same as comparing the bytes with `/` ranked below
/// every other byte (keys hold no NUL), which is what this does, without splitting.
pub fn logical_key_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => rank(a[i]).cmp(&rank(b[i])),
        None => a.len().cmp(&b.len()),
    }
}

/// A byte's place in key order: `/` first, then every other byte in byte order.
fn rank(byte: u8) -> u16 {
    if byte == b'/' {
        0
    } else {
        u16::from(byte) + 1
    }
}

impl Ord for LogicalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        logical_key_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for LogicalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Deref for LogicalKey {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for LogicalKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LogicalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for LogicalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for LogicalKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        LogicalKey::parse(s)
    }
}

impl TryFrom<String> for LogicalKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        LogicalKey::parse(s)
    }
}

impl From<LogicalKey> for String {
    fn from(k: LogicalKey) -> String {
        k.0
    }
}
