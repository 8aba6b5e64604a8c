//! Progress display: indicatif bars on a terminal, periodic plain lines otherwise, nothing
//! with `--no-progress`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use quilt::hash::{Progress, Unit};

pub struct Bar {
    mode: Mode,
}

enum Mode {
    Off,
    Tty(Mutex<Option<ProgressBar>>),
    Lines(Mutex<LineState>),
}

struct LineState {
    phase: String,
    done: u64,
    total: Option<u64>,
    unit: Unit,
    last: Instant,
}

impl Bar {
    pub fn new(enabled: bool, tty: bool) -> Self {
        let mode = match (enabled, tty) {
            (false, _) => Mode::Off,
            (true, true) => Mode::Tty(Mutex::new(None)),
            (true, false) => Mode::Lines(Mutex::new(LineState {
                phase: String::new(),
                done: 0,
                total: None,
                unit: Unit::Items,
                last: Instant::now(),
            })),
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

impl Progress for Bar {
    fn start(&self, phase: &str, total: Option<u64>, unit: Unit) {
        match &self.mode {
            Mode::Off => {}
            Mode::Tty(slot) => {
                let bar = match total {
                    Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                    None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                };
                let template = match (unit, total.is_some()) {
                    (Unit::Bytes, true) => "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                    (Unit::Items, true) => "{msg:>10} [{bar:30}] {pos}/{len} {per_sec}",
                    (Unit::Bytes, false) => "{msg:>10} {spinner} {bytes} {binary_bytes_per_sec}",
                    (Unit::Items, false) => "{msg:>10} {spinner} {pos}",
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_message(phase.to_owned());
                bar.enable_steady_tick(Duration::from_millis(120));
                if let Ok(mut s) = slot.lock() {
                    if let Some(old) = s.replace(bar) {
                        old.finish_and_clear();
                    }
                }
            }
            Mode::Lines(state) => {
                if let Ok(mut s) = state.lock() {
                    *s = LineState {
                        phase: phase.to_owned(),
                        done: 0,
                        total,
                        unit,
                        last: Instant::now(),
                    };
                }
            }
        }
    }

    fn inc(&self, n: u64) {
        match &self.mode {
            Mode::Off => {}
            Mode::Tty(slot) => {
                if let Ok(s) = slot.lock() {
                    if let Some(b) = s.as_ref() {
                        b.inc(n);
                    }
                }
            }
            Mode::Lines(state) => {
                if let Ok(mut s) = state.lock() {
                    s.done += n;
                    if s.last.elapsed() >= Duration::from_secs(2) {
                        s.last = Instant::now();
                        let total = s
                            .total
                            .map(|t| format!(" of {}", human(t, s.unit)))
                            .unwrap_or_default();
                        eprintln!("{}: {}{}", s.phase, human(s.done, s.unit), total);
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
                        b.set_length(total);
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

    fn finish(&self) {
        if let Mode::Tty(slot) = &self.mode {
            if let Ok(mut s) = slot.lock() {
                if let Some(b) = s.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}
