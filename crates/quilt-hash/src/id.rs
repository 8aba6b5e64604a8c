//! Object identifiers: a hash type plus a 32-byte digest.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;

use crate::Error;

/// The hash algorithms a manifest entry may name, and two kinds only the store uses.
///
/// `sha2-256-chunked` is what quilt3 writes today and what quilt builds with.
/// `SHA256` (older manifests) and `CRC64NVME` are read and verified, as quilt3 8 reads them.
/// [`HashType::ChunkList`] and [`HashType::Blake3`] name store-internal objects (a large
/// file's list of chunks, and one chunk); they never appear in a manifest, and
/// [`FromStr`] and [`ObjectId::from_manifest`] refuse them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashType {
    /// Standard base64 (padded) of sha256 over the concatenated sha256 digests of the chunks.
    Sha2_256Chunked,
    /// Lowercase hex of sha256 over the whole content.
    Sha256,
    /// Standard base64 (padded) of the 8 big-endian bytes of the CRC-64/NVME of the whole
    /// content (S3's `CRC64NVME`; the combination of per-part CRCs quilt3 computes is the CRC
    /// of the whole). Held in the first 8 bytes of the digest, the other 24 are zero.
    Crc64Nvme,
    /// Store-internal: the chunk list of a large file. The digest is the whole file's
    /// `sha2-256-chunked` digest, so the list of a manifest entry `(Sha2_256Chunked, d)` is
    /// `(ChunkList, d)`.
    ChunkList,
    /// Store-internal: one content-defined chunk of a large file; the digest is blake3 of
    /// the chunk's bytes.
    Blake3,
}

impl HashType {
    /// The name used in the manifest's `hash.type` field.
    pub fn name(self) -> &'static str {
        match self {
            HashType::Sha2_256Chunked => "sha2-256-chunked",
            HashType::Sha256 => "SHA256",
            HashType::Crc64Nvme => "CRC64NVME",
            HashType::ChunkList => "chunk-list",
            HashType::Blake3 => "blake3",
        }
    }

    /// Whether a manifest entry may carry this type (the store-internal kinds may not).
    pub fn in_manifest(self) -> bool {
        !matches!(self, HashType::ChunkList | HashType::Blake3)
    }

    /// A one-byte code used by on-disk formats (pack index, database).
    pub fn code(self) -> u8 {
        match self {
            HashType::Sha2_256Chunked => 1,
            HashType::Sha256 => 2,
            HashType::Crc64Nvme => 3,
            HashType::ChunkList => 4,
            HashType::Blake3 => 5,
        }
    }

    /// The inverse of [`HashType::code`].
    pub fn from_code(code: u8) -> Option<HashType> {
        match code {
            1 => Some(HashType::Sha2_256Chunked),
            2 => Some(HashType::Sha256),
            3 => Some(HashType::Crc64Nvme),
            4 => Some(HashType::ChunkList),
            5 => Some(HashType::Blake3),
            _ => None,
        }
    }
}

impl fmt::Display for HashType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "sha2-256-chunked" => Ok(HashType::Sha2_256Chunked),
            "SHA256" => Ok(HashType::Sha256),
            "CRC64NVME" => Ok(HashType::Crc64Nvme),
            other => Err(Error::UnsupportedHashType(other.to_owned())),
        }
    }
}

/// The address of one content in the store: which algorithm, and its 32-byte digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    /// The algorithm.
    pub kind: HashType,
    /// The digest; shorter digests (CRC-64/NVME) are padded with zeros.
    pub digest: [u8; 32],
}

impl ObjectId {
    /// The id of `digest` under `kind`.
    pub fn new(kind: HashType, digest: [u8; 32]) -> Self {
        ObjectId { kind, digest }
    }

    /// The id of a CRC-64/NVME checksum: its 8 big-endian bytes, then zeros.
    pub fn crc64nvme(crc: u64) -> Self {
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&crc.to_be_bytes());
        ObjectId::new(HashType::Crc64Nvme, digest)
    }

    /// The bytes the hash type defines: all 32 for the SHA-256 types, the first 8 for
    /// `CRC64NVME`.
    pub fn value_bytes(&self) -> &[u8] {
        match self.kind {
            HashType::Crc64Nvme => &self.digest[..8],
            HashType::Sha2_256Chunked
            | HashType::Sha256
            | HashType::ChunkList
            | HashType::Blake3 => &self.digest,
        }
    }

    /// The value as the manifest writes it: base64 for chunked and CRC64NVME, hex for SHA256.
    /// A chunk list shows its file's base64 value (the one its manifest entry carries), a
    /// chunk its hex.
    pub fn value_string(&self) -> String {
        match self.kind {
            HashType::Sha2_256Chunked | HashType::Crc64Nvme | HashType::ChunkList => {
                base64::engine::general_purpose::STANDARD.encode(self.value_bytes())
            }
            HashType::Sha256 | HashType::Blake3 => hex::encode(self.digest),
        }
    }

    /// Parses a manifest `hash` object's `type` and `value`.
    pub fn from_manifest(kind: &str, value: &str) -> Result<Self, Error> {
        let kind: HashType = kind.parse()?;
        let bad = || Error::BadHashValue {
            kind: kind.name(),
            value: value.to_owned(),
        };
        let bytes = match kind {
            HashType::Sha2_256Chunked | HashType::Crc64Nvme => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .map_err(|_| bad())?;
                // Reject non-canonical encodings so a value round-trips byte for byte.
                if base64::engine::general_purpose::STANDARD.encode(&decoded) != value {
                    return Err(bad());
                }
                decoded
            }
            // `FromStr` never yields the store-internal kinds.
            HashType::ChunkList | HashType::Blake3 => {
                return Err(Error::UnsupportedHashType(kind.name().to_owned()))
            }
            HashType::Sha256 => {
                if value.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(bad());
                }
                hex::decode(value).map_err(|_| bad())?
            }
        };
        if kind == HashType::Crc64Nvme {
            let crc: [u8; 8] = bytes.try_into().map_err(|_| bad())?;
            return Ok(ObjectId::crc64nvme(u64::from_be_bytes(crc)));
        }
        let digest: [u8; 32] = bytes.try_into().map_err(|_| bad())?;
        Ok(ObjectId { kind, digest })
    }

    /// Lowercase hex of the digest: the key objects are stored under, locally and on remotes.
    /// Always 64 characters, also for `CRC64NVME` (its 16, then zeros), so every store and
    /// remote layout keeps one key shape.
    pub fn to_hex(&self) -> String {
        hex::encode(self.digest)
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.to_hex())
    }
}

/// `type:hex`, one form for every hash type in every message (the manifest's base64 form of
/// `sha2-256-chunked` is [`ObjectId::value_string`]); the hex is the object's storage key.
impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.to_hex())
    }
}

/// A package top hash: sha256 over the hashable form of a manifest, shown as 64 lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopHash(pub [u8; 32]);

impl TopHash {
    /// The 64 lowercase hex characters quilt3 shows.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses exactly 64 lowercase hex characters.
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.len() != 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(Error::BadTopHash(s.to_owned()));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| Error::BadTopHash(s.to_owned()))?;
        Ok(TopHash(out))
    }
}

impl fmt::Display for TopHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TopHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TopHash({})", self.to_hex())
    }
}

impl FromStr for TopHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        TopHash::parse(s)
    }
}
