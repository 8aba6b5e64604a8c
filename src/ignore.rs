//! `.quiltignore` rules.
//!
//! quilt3 reads the `.quiltignore` at the root of the directory being packaged, one rule per
//! line, and matches each rule with shell wildcards (`*` also crosses `/`) against the end of
//! every path: a rule `r` ignores a path that matches `*/r`. A directory matches when its path,
//! with or without a trailing `/`, matches; everything below an ignored directory is ignored.
//! quilt matches the same way against `/` + the path relative to the root, so a rule can never
//! match the directories above the dataset. Blank lines and `#` comments are skipped.

use std::path::Path;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::{Error, Result};

/// Compiled ignore rules. The default has none.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    set: Option<GlobSet>,
}

impl IgnoreRules {
    /// Reads `<root>/.quiltignore` if it exists.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(".quiltignore");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Parses `.quiltignore` text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let mut builder = GlobSetBuilder::new();
        let mut any = false;
        for line in text.split('\n') {
            let rule = line.strip_suffix('\r').unwrap_or(line);
            if rule.is_empty() || rule.starts_with('#') {
                continue;
            }
            let glob = GlobBuilder::new(&format!("*/{rule}"))
                .literal_separator(false)
                .backslash_escape(false)
                .build()
                .map_err(|e| Error::BadIgnoreRule {
                    path: origin.to_path_buf(),
                    rule: rule.to_owned(),
                    reason: e.kind().to_string(),
                })?;
            builder.add(glob);
            any = true;
        }
        if !any {
            return Ok(Self::default());
        }
        let set = builder.build().map_err(|e| Error::BadIgnoreRule {
            path: origin.to_path_buf(),
            rule: String::new(),
            reason: e.to_string(),
        })?;
        Ok(IgnoreRules { set: Some(set) })
    }

    /// Whether a path relative to the root (`/`-separated) is ignored.
    pub fn is_ignored(&self, rel: &str, is_dir: bool) -> bool {
        let Some(set) = &self.set else { return false };
        let rooted = format!("/{rel}");
        if set.is_match(&rooted) {
            return true;
        }
        is_dir && set.is_match(format!("{rooted}/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> IgnoreRules {
        IgnoreRules::parse(text, Path::new(".quiltignore")).expect("valid rules")
    }

    #[test]
    fn wildcard_matches_at_any_depth() {
        let r = rules("*.tmp\n");
        assert!(r.is_ignored("a.tmp", false));
        assert!(r.is_ignored("x/y/a.tmp", false));
        assert!(!r.is_ignored("a.tmpx", false));
    }

    #[test]
    fn trailing_slash_only_matches_directories() {
        let r = rules("build/\n");
        assert!(r.is_ignored("build", true));
        assert!(r.is_ignored("src/build", true));
        assert!(!r.is_ignored("build", false));
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let r = rules("# c\n\nsecret.txt\r\n");
        assert!(r.is_ignored("secret.txt", false));
        assert!(!r.is_ignored("c", false));
    }

    #[test]
    fn rules_never_match_above_the_root() {
        let r = rules("tmp*\n");
        assert!(!r.is_ignored("data.csv", false));
        assert!(r.is_ignored("tmp1", true));
    }
}
