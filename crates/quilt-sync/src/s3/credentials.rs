//! The keys requests are signed with: static ones, or those a `credential_process` prints
//! (botocore's `ProcessProvider`), run when first needed and again shortly before they expire;
//! one run serves every remote of the process that names the same command.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use super::aws_config::{CredentialSource, StaticKeys};
use crate::{Error, Result};

/// Keys are fetched again this long before their `Expiration` (botocore refreshes 15 minutes
/// ahead at the latest; a short-lived token still gets used).
const REFRESH_AHEAD_SECS: i64 = 5 * 60;

/// Keys ready to sign with.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The access key id.
    pub access_key: String,
    /// The secret access key.
    pub secret_key: String,
    /// The session token of temporary keys.
    pub session_token: Option<String>,
    /// Unix seconds after which the keys are no longer valid.
    pub expires: Option<i64>,
}

/// Hands out keys, running the credential process again when its keys are about to expire.
#[derive(Debug)]
pub(super) struct Provider {
    source: CredentialSource,
    current: Mutex<Option<Keys>>,
}

impl Provider {
    pub fn new(source: CredentialSource) -> Provider {
        let current = match &source {
            CredentialSource::Static(k) => Some(Keys::from(k.clone())),
            CredentialSource::Process { .. } => None,
        };
        Provider {
            source,
            current: Mutex::new(current),
        }
    }

    /// Keys valid for at least a few more minutes.
    pub fn keys(&self) -> Result<Keys> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let now = unix_now();
        if let Some(k) = current.as_ref().filter(|k| fresh(k, now)) {
            return Ok(k.clone());
        }
        let CredentialSource::Process { command, profile } = &self.source else {
            // Static keys never expire.
            return current
                .clone()
                .ok_or_else(|| Error::Config("no S3 credentials".into()));
        };
        // Every remote of this process that runs the same command shares its keys (a fetch
        // may open several buckets; the process may be slow or ask the user something).
        let mut shared = process_keys().lock().unwrap_or_else(|p| p.into_inner());
        let keys = match shared.get(command) {
            Some(k) if fresh(k, now) => k.clone(),
            _ => {
                let k = run_process(command, profile)?;
                shared.insert(command.clone(), k.clone());
                k
            }
        };
        *current = Some(keys.clone());
        Ok(keys)
    }
}

fn fresh(k: &Keys, now: i64) -> bool {
    k.expires.is_none_or(|t| t - REFRESH_AHEAD_SECS > now)
}

fn process_keys() -> &'static Mutex<HashMap<String, Keys>> {
    static KEYS: OnceLock<Mutex<HashMap<String, Keys>>> = OnceLock::new();
    KEYS.get_or_init(Default::default)
}

impl From<StaticKeys> for Keys {
    fn from(k: StaticKeys) -> Keys {
        Keys {
            access_key: k.access_key,
            secret_key: k.secret_key,
            session_token: k.session_token,
            expires: None,
        }
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs `command` (split like a shell line, run without a shell, as botocore does) and reads
/// the keys it prints.
fn run_process(command: &str, profile: &str) -> Result<Keys> {
    let fail = |what: String| {
        Error::Config(format!(
            "credential_process {command:?} of AWS profile {profile:?} {what}"
        ))
    };
    let argv = shlex::split(command)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            fail("cannot be split into a command and its arguments (check its quotes)".into())
        })?;
    tracing::debug!(command, profile, "running credential_process");
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| fail(format!("could not be started: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stderr: String = stderr.trim().chars().take(500).collect();
        return Err(fail(format!(
            "failed ({}){}",
            out.status,
            if stderr.is_empty() {
                String::new()
            } else {
                format!(": {stderr}")
            }
        )));
    }
    parse_process_output(&out.stdout, unix_now()).map_err(fail)
}

/// Reads the JSON a credential process prints (`Version` 1, `AccessKeyId`, `SecretAccessKey`,
/// optional `SessionToken` and `Expiration`). Keys that expired before `now` are refused.
pub fn parse_process_output(stdout: &[u8], now: i64) -> std::result::Result<Keys, String> {
    let v: serde_json::Value = serde_json::from_slice(stdout)
        .map_err(|e| format!("printed something that is not JSON ({e})"))?;
    let field = |name: &str| {
        v.get(name)
            .and_then(|f| f.as_str())
            .filter(|s| !s.is_empty())
    };
    let version = v.get("Version").and_then(|f| f.as_u64());
    if version != Some(1) {
        return Err(format!(
            "printed \"Version\": {}; only version 1 is understood",
            v.get("Version").map_or("nothing".into(), |f| f.to_string())
        ));
    }
    let (Some(access), Some(secret)) = (field("AccessKeyId"), field("SecretAccessKey")) else {
        return Err("printed no AccessKeyId and SecretAccessKey".into());
    };
    let expires = match field("Expiration") {
        None => None,
        Some(t) => Some(
            parse_rfc3339(t)
                .ok_or_else(|| format!("printed an Expiration {t:?} that is not a date"))?,
        ),
    };
    if expires.is_some_and(|t| t <= now) {
        return Err("printed keys that have already expired".into());
    }
    Ok(Keys {
        access_key: access.to_owned(),
        secret_key: secret.to_owned(),
        session_token: field("SessionToken").map(str::to_owned),
        expires,
    })
}

/// Unix seconds of an RFC 3339 / ISO 8601 time such as `2026-12-02T08:00:00Z` or
/// `2026-12-02T08:00:00.123+01:00`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || !s.is_char_boundary(19) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let sep_ok = b[4] == b'-' && b[7] == b'-' && matches!(b[10], b'T' | b't' | b' ');
    if !sep_ok || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let (sign, hm) = match rest.as_bytes().first() {
                Some(b'+') => (1, &rest[1..]),
                Some(b'-') => (-1, &rest[1..]),
                _ => return None,
            };
            let (h, m) = hm.split_once(':').unwrap_or((hm.get(..2)?, hm.get(2..)?));
            let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is how a test fails
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-12-02T08:00:00Z"), Some(1_796_198_400));
        assert_eq!(
            parse_rfc3339("2026-12-02T09:00:00.5+01:00"),
            Some(1_796_198_400)
        );
        assert_eq!(
            parse_rfc3339("2026-12-02T07:30:00-00:30"),
            Some(1_796_198_400)
        );
        for bad in [
            "",
            "2026-12-02",
            "2026-13-02T08:00:00Z",
            "2026-12-02T08:00:00+x",
            "２０２６-12-02T08:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn process_output() {
        let ok = br#"{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S",
                      "SessionToken": "T", "Expiration": "2026-12-02T08:00:00Z"}"#;
        let k = parse_process_output(ok, 0).unwrap();
        assert_eq!((k.access_key.as_str(), k.secret_key.as_str()), ("A", "S"));
        assert_eq!(k.session_token.as_deref(), Some("T"));
        assert_eq!(k.expires, Some(1_796_198_400));
        assert!(parse_process_output(ok, 1_796_198_400)
            .unwrap_err()
            .contains("expired"));
        for (bad, says) in [
            (&b"nope"[..], "not JSON"),
            (br#"{"Version": 2}"#, "version 1"),
            (br#"{"Version": 1, "AccessKeyId": "A"}"#, "AccessKeyId"),
        ] {
            let e = parse_process_output(bad, 0).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn process_keys_are_cached_until_near_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("count");
        let script = dir.path().join("creds.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho x >> '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"S\"}}'\n",
                count.display()
            ),
        )
        .unwrap();
        let p = Provider::new(CredentialSource::Process {
            command: format!("sh '{}'", script.display()),
            profile: "p".into(),
        });
        for _ in 0..3 {
            assert_eq!(p.keys().unwrap().access_key, "A");
        }
        // A second remote with the same command shares the keys.
        let again = Provider::new(CredentialSource::Process {
            command: format!("sh '{}'", script.display()),
            profile: "p".into(),
        });
        assert_eq!(again.keys().unwrap().access_key, "A");
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);
        let failing = Provider::new(CredentialSource::Process {
            command: "sh -c 'echo broken >&2; exit 3'".into(),
            profile: "p".into(),
        });
        let e = failing.keys().unwrap_err().to_string();
        assert!(
            e.contains("sh -c") && e.contains("broken") && e.contains("\"p\""),
            "{e}"
        );
    }
}
