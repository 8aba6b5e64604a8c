//! What each parser target checks, as plain functions of the input bytes: the cargo-fuzz
//! targets call them, and so does `fuzz_crashers_stay_fixed` in `tests/hostile_input.rs`,
//! which feeds them every crasher kept in `tests/fixtures/fuzz/<target>/` on stable.
//! A panic (including a failed assertion) is a finding.

#![allow(dead_code)]

use std::io::Read;
use std::path::Path;

use quilt::hash::manifest::default_header;
use quilt::hash::{Entry, HashType, LogicalKey, Manifest, ObjectId, TopHash};
use quilt::store::{Store, DELTA_MAGIC};
use quilt::sync::transfer::fetch::{parse_physical_key, PhysicalKey};
use quilt::sync::RemoteUrl;
use quilt::IgnoreRules;

/// The check for a target by name, for the stable regression test.
pub fn by_name(target: &str) -> Option<fn(&[u8])> {
    Some(match target {
        "manifest" => manifest,
        "manifest_file" => manifest_file,
        "revspec" => revspec,
        "remote_url" => remote_url,
        "quiltignore" => quiltignore,
        "config" => config,
        "chunk_list" => chunk_list,
        "pack_checksum" => pack_checksum,
        _ => return None,
    })
}

/// `ChunkList::decode` (a stored or fetched list of a chunked file's pieces): no panic, and
/// whatever it accepts holds together: lengths that sum to the file's size, chunk ids of the
/// chunk type, and the same bytes when encoded again.
pub fn chunk_list(data: &[u8]) {
    let Ok(list) = quilt::store::chunk::ChunkList::decode(data) else {
        return;
    };
    let sum: u64 = list.chunks.iter().map(|(_, len)| *len).sum();
    assert_eq!(sum, list.size, "accepted lengths that do not add up");
    assert!(list
        .chunks
        .iter()
        .all(|(id, len)| id.kind == HashType::Blake3 && *len > 0));
    assert_eq!(list.encode(), data, "accepted bytes that do not round-trip");
}

/// A pack's checksum (`pack::checksum::checksum`, over a pack without its trailer): no panic
/// on any bytes, and a version 2 body it accepts is whole records back to back, of known
/// types; changing the first record's type byte or length then changes the checksum or is
/// refused.
pub fn pack_checksum(data: &[u8]) {
    use quilt::store::pack::checksum::{checksum, PACK_V2};
    let Ok(sum) = checksum(data) else {
        return;
    };
    if data.len() < 12 || data[8..12] != PACK_V2.to_le_bytes() {
        return;
    }
    let mut at = 12usize;
    while at < data.len() {
        assert!(at + 41 <= data.len(), "accepted a cut-short record header");
        assert!(
            HashType::from_code(data[at]).is_some(),
            "accepted an unknown type"
        );
        let len = u64::from_le_bytes(data[at + 33..at + 41].try_into().expect("8 bytes"));
        let end = (at as u64 + 41).checked_add(len).expect("no overflow");
        assert!(end <= data.len() as u64, "accepted a record past the end");
        at = end as usize;
    }
    for pos in [12usize, 12 + 33] {
        if pos < data.len() {
            let mut changed = data.to_vec();
            changed[pos] ^= 0x01;
            if let Ok(other) = checksum(&changed) {
                assert_ne!(other, sum, "a header byte at {pos} is not covered");
            }
        }
    }
}

/// `Manifest::from_slice`: no panic, whatever parses writes back to bytes that parse to the
/// same top hash, and the top hash does not depend on the order of the entry lines (quilt3
/// hashes entries in its own walk order).
pub fn manifest(data: &[u8]) {
    if let Ok(m) = Manifest::from_slice(data) {
        let bytes = m.to_bytes();
        let again = Manifest::from_slice(&bytes).expect("a written manifest parses");
        assert_eq!(again.top_hash(), m.top_hash());
        let mut reversed = m.clone();
        reversed.entries.reverse();
        assert_eq!(reversed.top_hash(), m.top_hash());
    }
}

/// Revision, package-name and logical-key parsing; a key that parses never climbs out of its
/// directory.
pub fn revspec(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = quilt::RevSpec::parse(s) {
        let _ = spec.name();
    }
    let _ = quilt::hash::PackageName::parse(s);
    if let Ok(k) = LogicalKey::parse(s) {
        assert!(!k.as_str().starts_with('/'));
        assert!(k
            .components()
            .all(|c| c != ".." && c != "." && !c.is_empty()));
    }
}

fn numbered_manifest(n: u32) -> Manifest {
    let mut m = Manifest::new(default_header());
    for i in 0..n {
        let key = LogicalKey::parse(format!("f{i:03}")).expect("key");
        let id = ObjectId {
            kind: HashType::Sha2_256Chunked,
            digest: [i as u8; 32],
        };
        m.entries.push(Entry::new(key, u64::from(i), id));
    }
    m
}

/// Stored manifest files (plain, keyframe, delta): a selector byte, then the file, stored as
/// `packages/<top>` of a store that also holds one keyframe. Selector 0 stores the bytes as
/// they are; 1 puts a delta header naming the keyframe in front of them; 2 damages a real
/// delta against the keyframe by xoring the input into it. Reading gives an error or bytes.
pub fn manifest_file(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join(".quilt");
    let store = Store::init(&root).expect("init");
    let base = store
        .put_manifest(&numbered_manifest(40))
        .expect("keyframe");
    let target = TopHash([0xab; 32]);
    let file = match sel % 3 {
        0 => body.to_vec(),
        1 => [&DELTA_MAGIC[..], &base.0[..], body].concat(),
        _ => {
            let top = store
                .put_manifest_with_base(&numbered_manifest(41), Some(&base))
                .expect("delta");
            let mut real = std::fs::read(root.join("packages").join(top.to_hex())).expect("read");
            for (i, b) in body.iter().enumerate() {
                let at = i % real.len();
                real[at] ^= b;
            }
            real
        }
    };
    std::fs::write(root.join("packages").join(target.to_hex()), file).expect("write");
    let _ = store.manifest_kind(&target);
    let _ = store.manifest_bytes(&target);
    let _ = store.get_manifest(&target);
    if let Ok(mut r) = store.open_manifest(&target) {
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
    }
}

/// Remote locations and physical keys: `RemoteUrl::parse` (what `remote add`, `push` and
/// `fetch` take) and `parse_physical_key` (how fetch reads an entry's
/// `s3://bucket/key?versionId=…` and `file:///path`). A remote's printed location (its
/// `describe()`, which push writes into physical keys) parses back to the same remote, and so
/// does the directory remote fetch derives from a `file://` key.
pub fn remote_url(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = RemoteUrl::parse(s) {
        // A relative directory prints as an absolute one, so only absolute ones round-trip.
        let absolute = match &url {
            RemoteUrl::S3 { .. } => true,
            RemoteUrl::Dir(p) => p.is_absolute(),
        };
        if absolute {
            let shown = url.to_string();
            let again = RemoteUrl::parse(&shown)
                .unwrap_or_else(|e| panic!("{s:?} prints as {shown:?}, which fails: {e}"));
            assert_eq!(again, url, "{s:?} prints as {shown:?}");
        }
    }
    match parse_physical_key(s) {
        Some(PhysicalKey::S3 { bucket, .. }) => {
            let _ = RemoteUrl::parse(&format!("s3://{bucket}"));
        }
        Some(PhysicalKey::File(path)) => {
            if let Some(parent) = Path::new(&path).parent() {
                if parent.is_absolute() {
                    let dir = RemoteUrl::Dir(parent.to_owned());
                    let shown = dir.to_string();
                    assert_eq!(RemoteUrl::parse(&shown).ok(), Some(dir), "{shown:?}");
                }
            }
        }
        None => {}
    }
}

const WILDCARDS: &[char] = &['*', '?', '[', ']', '{', '}', '\\', '!'];

/// `.quiltignore` rules: parsing and matching never panic, and a rule without wildcard
/// characters ignores the path it names, at the root and in a subdirectory.
pub fn quiltignore(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rules) = IgnoreRules::parse(text, Path::new(".quiltignore")) else {
        return;
    };
    for line in text.split('\n').take(32) {
        let rule = line.strip_suffix('\r').unwrap_or(line);
        let _ = rules.is_ignored(rule, false);
        let _ = rules.is_ignored(rule, true);
        let literal = !rule.is_empty()
            && !rule.starts_with('#')
            && !rule.starts_with('/')
            && !rule.contains(WILDCARDS);
        if literal {
            assert!(
                rules.is_ignored(rule, false),
                "rule {rule:?} ignores itself"
            );
            assert!(
                rules.is_ignored(&format!("sub/{rule}"), false),
                "rule {rule:?} ignores sub/{rule}"
            );
        }
    }
}

/// The configuration files quilt reads: the input is split at NUL bytes into an AWS config
/// file, an AWS credentials file and quilt's `config.toml`. Parsing, resolving every profile
/// (and two that may not exist), reading a `credential_process` answer and an expiration time
/// never panic; a parsed `default-remote` is a valid remote URL.
pub fn config(data: &[u8]) {
    use quilt::sync::s3::aws_config::{resolve_with, AwsConfig};
    use quilt::sync::S3Options;
    use quilt::user_config::{UserConfig, DEFAULT_REMOTE};

    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let (aws, creds, own) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if let Ok(cfg) = AwsConfig::parse(aws, "config", creds, "credentials") {
        let names = cfg.profile_names();
        for name in names.iter().map(String::as_str).chain(["default", "nope"]) {
            let _ = cfg.profile(name);
            for ignore in [false, true] {
                let opts = S3Options {
                    profile: Some(name.to_owned()),
                    ignore_configured_endpoints: ignore,
                    global_endpoint: Some("http://127.0.0.1:1".into()),
                    ..S3Options::default()
                };
                let _ = resolve_with(&opts, &cfg, None, &None, &None);
            }
        }
    }
    let _ = quilt::sync::s3::parse_process_output(data, 0);
    let _ = quilt::sync::s3::parse_rfc3339(&text);
    for t in [&*text, own] {
        if let Ok(c) = UserConfig::parse(t, "config.toml") {
            let _ = c.settings();
            if let Some(url) = c.get(DEFAULT_REMOTE) {
                assert!(quilt::sync::RemoteUrl::parse(url).is_ok(), "{url:?}");
            }
        }
    }
}
