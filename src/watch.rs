//! How a long operation reports progress and learns that it should stop.

use std::sync::atomic::AtomicBool;

use quilt_hash::{NoProgress, Progress};

/// A flag nobody ever sets: the interrupt of [`Watch::default`].
static NEVER: AtomicBool = AtomicBool::new(false);

/// Progress reporting and an interrupt flag, handed to every long operation.
///
/// [`Watch::default`] reports nothing and is never interrupted. A program that handles
/// Ctrl-C sets its flag from a signal handler; the operation then stops at the next safe
/// point with [`crate::Error::Interrupted`], leaving the store consistent.
#[derive(Clone, Copy)]
pub struct Watch<'a> {
    /// Receives phases and counts.
    pub progress: &'a dyn Progress,
    /// Set to stop the operation.
    pub interrupt: &'a AtomicBool,
}

impl<'a> Watch<'a> {
    /// Reports to `progress` and stops when `interrupt` is set.
    pub fn new(progress: &'a dyn Progress, interrupt: &'a AtomicBool) -> Self {
        Watch {
            progress,
            interrupt,
        }
    }
}

impl Default for Watch<'static> {
    fn default() -> Self {
        Watch {
            progress: &NoProgress,
            interrupt: &NEVER,
        }
    }
}

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("interrupt", &self.interrupt)
            .finish_non_exhaustive()
    }
}
