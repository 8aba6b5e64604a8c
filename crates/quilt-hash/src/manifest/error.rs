use crate::Error;

/// Why a manifest could not be read. Every variant but [`ManifestError::Empty`] names the
/// 1-based line where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("empty manifest: line 1 should be the header object")]
    Empty,
    #[error("line {line}: truncated manifest (the last line does not end with a newline)")]
    Truncated { line: usize },
    #[error("line {line}: could not read manifest")]
    Io {
        line: usize,
        #[source]
        source: std::io::Error,
    },
    #[error("line {line}: blank line in manifest")]
    Blank { line: usize },
    #[error("line {line}: not valid JSON")]
    Json {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line}: {problem}")]
    Number { line: usize, problem: String },
    #[error("line {line}: {what} must be a JSON object")]
    NotObject { line: usize, what: &'static str },
    #[error("line {line}: missing field {field:?}")]
    MissingField { line: usize, field: &'static str },
    #[error("line {line}: field {field:?} {problem}")]
    InvalidField {
        line: usize,
        field: &'static str,
        problem: String,
    },
    #[error("line {line}: bad logical key")]
    BadKey {
        line: usize,
        #[source]
        source: Error,
    },
    #[error("line {line}: bad hash")]
    BadHash {
        line: usize,
        #[source]
        source: Error,
    },
    #[error("line {line}: duplicate logical key {key:?}")]
    DuplicateKey { line: usize, key: String },
}

impl ManifestError {
    /// The 1-based line number, if the error is about one line.
    pub fn line(&self) -> Option<usize> {
        match self {
            ManifestError::Empty => None,
            ManifestError::Truncated { line }
            | ManifestError::Io { line, .. }
            | ManifestError::Blank { line }
            | ManifestError::Json { line, .. }
            | ManifestError::Number { line, .. }
            | ManifestError::NotObject { line, .. }
            | ManifestError::MissingField { line, .. }
            | ManifestError::InvalidField { line, .. }
            | ManifestError::BadKey { line, .. }
            | ManifestError::BadHash { line, .. }
            | ManifestError::DuplicateKey { line, .. } => Some(*line),
        }
    }
}
