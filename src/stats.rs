// SPDX-License-Identifier: GPL-2.0-or-later
//! What `hello-world` has done since QEMU started, over QMP and HMP together: how many
//! lines it printed, how many messages it refused, how many writes failed, and the last
//! line printed. `query-hello-world` and `info hello-world` report it.
//!
//! QEMU runs monitor commands under its big lock, so the mutex is never contended; it is
//! there so the state is safe whatever the caller, without `static mut`.

/// The counters. Every call ends in exactly one of the three outcomes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Lines written.
    pub printed: u64,
    /// Calls whose message was refused.
    pub refused: u64,
    /// Calls whose line could not be written.
    pub failed_writes: u64,
}

impl Counters {
    /// Every call, whatever its outcome.
    pub fn calls(&self) -> u64 {
        self.printed + self.refused + self.failed_writes
    }
}

/// The counters and the last printed line, kept as `S` (a glib string in QEMU).
pub struct Stats<S> {
    state: spin::Mutex<(Counters, Option<S>)>,
}

impl<S> Stats<S> {
    pub const fn new() -> Self {
        Stats { state: spin::Mutex::new((Counters { printed: 0, refused: 0, failed_writes: 0 }, None)) }
    }

    /// A call printed `line`.
    pub fn printed(&self, line: S) {
        let mut state = self.state.lock();
        state.0.printed += 1;
        // The previous line is dropped after the lock is released.
        let _previous = state.1.replace(line);
        drop(state);
    }

    /// A call's message was refused.
    pub fn refused(&self) {
        self.state.lock().0.refused += 1;
    }

    /// A call's line could not be written.
    pub fn failed_write(&self) {
        self.state.lock().0.failed_writes += 1;
    }

    /// Reads the counters and the last line.
    pub fn read<R>(&self, f: impl FnOnce(&Counters, Option<&S>) -> R) -> R {
        let state = self.state.lock();
        f(&state.0, state.1.as_ref())
    }
}

impl<S> Default for Stats<S> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_outcome_and_keeps_the_last_line() {
        let s = Stats::<String>::new();
        s.read(|c, last| {
            assert_eq!((c.calls(), last), (0, None));
        });
        s.printed("one".into());
        s.refused();
        s.failed_write();
        s.printed("two".into());
        s.read(|c, last| {
            assert_eq!(*c, Counters { printed: 2, refused: 1, failed_writes: 1 });
            assert_eq!(c.calls(), 4);
            assert_eq!(last.map(String::as_str), Some("two"));
        });
    }
}
