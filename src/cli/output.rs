//! Shared command context and output helpers: data on stdout, everything else on stderr.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use quilt::Repository;

use super::progress::Bar;

/// Whether the command already printed its JSON document.
pub static JSON_PRINTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What every command needs to know about how it was invoked.
pub struct Ctx {
    pub json: bool,
    pub quiet: bool,
    pub progress: bool,
    pub tty: bool,
    pub cwd: PathBuf,
    pub interrupt: &'static AtomicBool,
}

impl Ctx {
    pub fn repo(&self) -> anyhow::Result<Repository> {
        Ok(Repository::discover(&self.cwd)?)
    }

    pub fn bar(&self) -> Bar {
        Bar::new(self.progress, self.tty)
    }

    /// Prints a JSON value on stdout (for `--json`). A command prints one document; if it
    /// fails after printing it, the error goes to stderr only.
    pub fn print_json(&self, v: &serde_json::Value) {
        JSON_PRINTED.store(true, std::sync::atomic::Ordering::Relaxed);
        println!("{v}");
    }

    /// A human message on stderr unless `-q`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet && !self.json {
            eprintln!("{msg}");
        }
    }
}

/// Reads `--meta`-style values: inline JSON, or `@path` to a JSON file.
pub fn json_arg(s: &str, what: &str) -> anyhow::Result<serde_json::Value> {
    let text = match s.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("could not read {what} file {path}"))?,
        None => s.to_owned(),
    };
    serde_json::from_str(&text)
        .with_context(|| format!("{what} is not valid JSON (give a JSON value, or @FILE)"))
}

/// A short top hash for human output.
pub fn short(h: &quilt::hash::TopHash) -> String {
    h.to_hex()[..12].to_owned()
}

/// Local time formatting without a timezone database: UTC, ISO-8601.
pub fn format_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_unix_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_795_457_360), "2026-11-23 18:09:20 UTC");
    }
}
