use crate::Error;

/// Why a manifest could not be read. Every variant but [`ManifestError::Empty`] names the
/// 1-based line where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No header line.
    #[error("empty manifest: line 1 should be the header object")]
    Empty,
    #[error("line {line}: truncated manifest (the last line does not end with a newline)")]
    /// The last line does not end with a newline, so the manifest may be cut short.
    Truncated {
        /// The unfinished line.
        line: usize,
    },
    #[error("line {line}: could not read manifest")]
    /// Reading the manifest failed.
    Io {
        /// The line being read.
        line: usize,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    #[error("line {line}: blank line in manifest")]
    /// An empty line, which quilt3 never writes.
    Blank {
        /// The blank line.
        line: usize,
    },
    #[error("line {line}: not valid JSON")]
    /// A line that is not valid JSON.
    Json {
        /// The line.
        line: usize,
        /// The JSON parser's error.
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line}: {problem}")]
    /// A number quilt cannot carry through byte-identically.
    Number {
        /// The line.
        line: usize,
        /// What is wrong with the number.
        problem: String,
    },
    #[error("line {line}: {what} must be a JSON object")]
    /// The header, an entry or a metadata value is not a JSON object.
    NotObject {
        /// The line.
        line: usize,
        /// Which value: `header`, `entry`, ...
        what: &'static str,
    },
    #[error("line {line}: missing field {field:?}")]
    /// An entry lacks a required field.
    MissingField {
        /// The line.
        line: usize,
        /// The field's name.
        field: &'static str,
    },
    #[error("line {line}: field {field:?} {problem}")]
    /// A field holds a value of the wrong type or shape.
    InvalidField {
        /// The line.
        line: usize,
        /// The field's name.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    #[error("line {line}: bad logical key")]
    /// An entry's logical key is refused.
    BadKey {
        /// The line.
        line: usize,
        /// Why the key is refused.
        #[source]
        source: Error,
    },
    #[error("line {line}: bad hash")]
    /// An entry's hash is unsupported or malformed.
    BadHash {
        /// The line.
        line: usize,
        /// What is wrong with the hash.
        #[source]
        source: Error,
    },
    #[error("line {line}: duplicate logical key {key:?}")]
    /// Two entries share a logical key.
    DuplicateKey {
        /// The line of the second entry.
        line: usize,
        /// The repeated key.
        key: String,
    },
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
