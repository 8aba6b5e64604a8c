//! Shared command context and output helpers: data on stdout, everything else on stderr.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use quilt::{ErrorKind, Repository};

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

    /// `bar` and this process's interrupt flag, for a library call.
    pub fn watch<'a>(&'a self, bar: &'a Bar) -> quilt::Watch<'a> {
        quilt::Watch::new(bar, self.interrupt)
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

/// A failure the CLI itself detects, with the kind scripts see.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

/// An error of the given kind, for `return Err(fail(…))`.
pub fn fail(kind: ErrorKind, message: impl Into<String>) -> anyhow::Error {
    Failure {
        kind,
        message: message.into(),
    }
    .into()
}

/// The kind of the outermost cause in the chain that has one.
pub fn error_kind(e: &anyhow::Error) -> ErrorKind {
    e.chain()
        .find_map(|c| match c.downcast_ref::<Failure>() {
            Some(f) => Some(f.kind),
            None => ErrorKind::of(c),
        })
        .unwrap_or(ErrorKind::Other)
}

/// The process exit code for a failure: 2 usage, 130 interrupted (as a shell reports
/// SIGINT), 1 for everything else.
pub fn exit_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Usage => 2,
        ErrorKind::Interrupted => 130,
        _ => 1,
    }
}

/// The error and its causes, `: `-separated, leaving out a cause whose text an outer message
/// already includes (so an OS error is never shown twice).
pub fn error_message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Prints a failed command's error (on stderr; with `--json` also as one JSON document on
/// stdout, unless the command already printed its own) and returns the exit code.
pub fn report_error(ctx: &Ctx, e: &anyhow::Error) -> i32 {
    let kind = if ctx.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
        ErrorKind::Interrupted
    } else {
        error_kind(e)
    };
    let msg = error_message(e);
    if ctx.json && !JSON_PRINTED.load(std::sync::atomic::Ordering::Relaxed) {
        println!(
            "{}",
            serde_json::json!({ "error": msg, "kind": kind.as_str() })
        );
    }
    super::progress::clear_bars();
    eprintln!("error: {msg}");
    exit_code(kind)
}

/// Prints an argument error as clap does, plus the `--json` document when `--json` was among
/// the arguments; help and version requests print normally and exit 0.
pub fn usage_error(e: &clap::Error) -> i32 {
    if !e.use_stderr() {
        let _ = e.print();
        return 0;
    }
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if json {
        let rendered = e.render().to_string();
        let message = rendered
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ");
        println!(
            "{}",
            serde_json::json!({ "error": message, "kind": ErrorKind::Usage.as_str() })
        );
    }
    let _ = e.print();
    exit_code(ErrorKind::Usage)
}

/// `-C DIR` must name an existing directory; otherwise every command would report that no
/// quilt directory was found, which hides the typo.
pub fn check_cwd(dir: Option<&std::path::Path>) -> anyhow::Result<()> {
    match dir {
        Some(d) if !d.is_dir() => Err(fail(
            ErrorKind::NotFound,
            format!(
                "directory {} (given with -C) does not exist or is not a directory",
                d.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// A file name for a line of text output: as it is, unless it holds control characters
/// (a newline or an escape sequence would forge lines or drive the terminal); then quoted,
/// with those characters, backslashes and double quotes escaped as in Rust or C (`"a\nb"`), as git quotes
/// such names.
pub fn escape_name(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.chars().any(char::is_control) {
        return name.into();
    }
    let mut out = String::with_capacity(name.len() + 8);
    out.push('"');
    for c in name.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out.push('"');
    out.into()
}

/// "1 file", "2 files".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

/// Time formatting without a timezone database: UTC, ISO-8601. A timestamp outside years
/// -9999..=9999 (only a malformed remote pointer name gives one) prints as its raw seconds.
pub fn format_time(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("@{unix}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_characters_only() {
        assert_eq!(super::escape_name("a b/ü.csv"), "a b/ü.csv");
        assert_eq!(super::escape_name("a\nb"), "\"a\\nb\"");
        assert_eq!(
            super::escape_name("\x1b[31m\\\""),
            "\"\\u{1b}[31m\\\\\\\"\""
        );
    }

    #[test]
    fn formats_unix_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_795_457_360), "2026-11-23 18:09:20 UTC");
        assert_eq!(
            super::format_time(951_782_400 + 3661),
            "2000-02-29 01:01:01 UTC"
        );
        assert_eq!(super::format_time(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(super::format_time(i64::MAX), format!("@{}", i64::MAX));
    }
}
