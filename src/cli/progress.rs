//! Progress display: indicatif bars on a terminal, periodic plain lines otherwise, nothing
//! with `--no-progress`.
//!
//! Byte phases (hashing, writing, uploading, downloading, verifying) report each object's
//! size in one `inc`, so the display counts objects as well as bytes. Every other line the
//! binary writes to stderr while a bar may be drawn (log events, warnings, the final error)
//! goes through [`eprintln_above`] or [`stderr_above_bars`], which clear the bars, print, and
//! draw them again below.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use quilt::hash::{Progress, Unit};

/// Every bar of the process is drawn through this, so output can be printed above them.
static BARS: OnceLock<MultiProgress> = OnceLock::new();

fn bars() -> &'static MultiProgress {
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// Runs `f` with the bars (if any were ever drawn) cleared from the terminal.
fn above_bars<R>(f: impl FnOnce() -> R) -> R {
    match BARS.get() {
        Some(m) => m.suspend(f),
        None => f(),
    }
}

/// Prints a line on stderr above any progress bars instead of through them.
pub fn eprintln_above(line: &str) {
    above_bars(|| eprintln!("{line}"));
}

/// Clears every bar still drawn (a command that failed mid-phase leaves its bar behind), so
/// the final error is the last thing on the terminal.
pub fn clear_bars() {
    if let Some(m) = BARS.get() {
        let _ = m.clear();
    }
}

/// A stderr writer for the log subscriber that prints above the progress bars.
pub fn stderr_above_bars() -> AboveBars {
    AboveBars
}

pub struct AboveBars;

impl std::io::Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        above_bars(|| std::io::stderr().write_all(buf)).map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

pub struct Bar {
    mode: Mode,
}

enum Mode {
    Off,
    Tty(Mutex<Option<TtyBar>>),
    Lines(Mutex<Phase>),
}

struct TtyBar {
    bar: ProgressBar,
    objects: u64,
    unit: Unit,
}

/// The state of the current phase in plain-line mode.
struct Phase {
    name: String,
    done: u64,
    objects: u64,
    total: Option<u64>,
    unit: Unit,
    started: Instant,
    last: Instant,
}

impl Phase {
    fn new(name: &str, total: Option<u64>, unit: Unit) -> Self {
        let now = Instant::now();
        Phase {
            name: name.to_owned(),
            done: 0,
            objects: 0,
            total,
            unit,
            started: now,
            last: now,
        }
    }

    /// "hashing: 3.0 MiB of 8.0 MiB, 12 objects, 1.50 MiB/s"
    fn line(&self) -> String {
        let total = self
            .total
            .map(|t| format!(" of {}", human(t, self.unit)))
            .unwrap_or_default();
        let objects = match self.unit {
            Unit::Bytes => format!(", {}", objects(self.objects)),
            Unit::Items => String::new(),
        };
        let secs = self.started.elapsed().as_secs_f64();
        format!(
            "{}: {}{total}{objects}, {}",
            self.name,
            human(self.done, self.unit),
            rate(self.done, secs, self.unit)
        )
    }
}

impl Bar {
    pub fn new(enabled: bool, tty: bool) -> Self {
        let mode = match (enabled, tty) {
            (false, _) => Mode::Off,
            (true, true) => Mode::Tty(Mutex::new(None)),
            (true, false) => Mode::Lines(Mutex::new(Phase::new("", None, Unit::Items))),
        };
        Bar { mode }
    }
}

fn human(n: u64, unit: Unit) -> String {
    match unit {
        Unit::Items => n.to_string(),
        Unit::Bytes => indicatif::HumanBytes(n).to_string(),
    }
}

/// "1 object", "2 objects".
fn objects(n: u64) -> String {
    format!("{n} object{}", if n == 1 { "" } else { "s" })
}

/// A rate rounded for people: "1715/s", "1.50 MiB/s".
fn rate(done: u64, secs: f64, unit: Unit) -> String {
    let per_sec = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    match unit {
        Unit::Items => format!("{per_sec:.0}/s"),
        Unit::Bytes => format!("{}/s", indicatif::HumanBytes(per_sec.round() as u64)),
    }
}

fn style(unit: Unit, known_total: bool) -> Option<ProgressStyle> {
    let template = match (unit, known_total) {
        (Unit::Bytes, true) => {
            "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {prefix} {binary_bytes_per_sec} eta {eta}"
        }
        (Unit::Items, true) => "{msg:>10} [{bar:30}] {pos}/{len} {rate}",
        (Unit::Bytes, false) => "{msg:>10} {spinner} {bytes} {prefix} {binary_bytes_per_sec}",
        (Unit::Items, false) => "{msg:>10} {spinner} {pos}",
    };
    let style = ProgressStyle::with_template(template).ok()?;
    Some(
        style
            .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", s.per_sec());
            })
            .progress_chars("=> "),
    )
}

impl Progress for Bar {
    fn start(&self, phase: &str, total: Option<u64>, unit: Unit) {
        match &self.mode {
            Mode::Off => {}
            Mode::Tty(slot) => {
                let bar = match total {
                    Some(t) => ProgressBar::new(t),
                    None => ProgressBar::new_spinner(),
                };
                let bar = bars().add(bar);
                if let Some(style) = style(unit, total.is_some()) {
                    bar.set_style(style);
                }
                bar.set_message(phase.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Ok(mut s) = slot.lock() {
                    let new = TtyBar {
                        bar,
                        objects: 0,
                        unit,
                    };
                    if let Some(old) = s.replace(new) {
                        old.bar.finish_and_clear();
                        bars().remove(&old.bar);
                    }
                }
            }
            Mode::Lines(state) => {
                if let Ok(mut s) = state.lock() {
                    *s = Phase::new(phase, total, unit);
                }
            }
        }
    }

    fn inc(&self, n: u64) {
        match &self.mode {
            Mode::Off => {}
            Mode::Tty(slot) => {
                if let Ok(mut s) = slot.lock() {
                    if let Some(b) = s.as_mut() {
                        b.bar.inc(n);
                        if b.unit == Unit::Bytes {
                            b.objects += 1;
                            b.bar.set_prefix(objects(b.objects));
                        }
                    }
                }
            }
            Mode::Lines(state) => {
                if let Ok(mut s) = state.lock() {
                    s.done += n;
                    s.objects += 1;
                    if s.last.elapsed() >= Duration::from_secs(2) {
                        s.last = Instant::now();
                        eprintln!("{}", s.line());
                    }
                }
            }
        }
    }

    fn set_total(&self, total: u64) {
        match &self.mode {
            Mode::Tty(slot) => {
                if let Ok(s) = slot.lock() {
                    if let Some(b) = s.as_ref() {
                        b.bar.set_length(total);
                    }
                }
            }
            Mode::Lines(state) => {
                if let Ok(mut s) = state.lock() {
                    s.total = Some(total);
                }
            }
            Mode::Off => {}
        }
    }

    /// Clears the bar; in plain-line mode, a phase that did any work ends with one summary
    /// line, so logs show how much was done and how fast.
    fn finish(&self) {
        match &self.mode {
            Mode::Off => {}
            Mode::Tty(slot) => {
                if let Ok(mut s) = slot.lock() {
                    if let Some(b) = s.take() {
                        b.bar.finish_and_clear();
                        bars().remove(&b.bar);
                    }
                }
            }
            Mode::Lines(state) => {
                if let Ok(mut s) = state.lock() {
                    if s.done > 0 && !s.name.is_empty() {
                        eprintln!("{} (done)", s.line());
                    }
                    s.done = 0;
                    s.name.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quilt::hash::Unit;

    #[test]
    fn rates_are_rounded() {
        assert_eq!(super::rate(3430, 2.0, Unit::Items), "1715/s");
        assert_eq!(super::rate(3_145_728, 2.0, Unit::Bytes), "1.50 MiB/s");
        assert_eq!(super::rate(5, 0.0, Unit::Items), "0/s");
    }
}
