// SPDX-License-Identifier: GPL-2.0-or-later
//! What `hello-world` has done since QEMU started, over QMP and HMP together: how many
//! lines it printed, how many messages it refused, how many writes failed, and the last
//! line printed. `query-hello-world` and `info hello-world` report it.
//!
//! This is plain data; the command keeps it in a `BqlRefCell` (the command layer's), so
//! every access is checked to run under QEMU's big lock.

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

/// The counters and the last printed line, kept as `S` (a glib string in QEMU). The
/// commands keep it in a `BqlRefCell`, which checks that QEMU's big lock is held.
#[derive(Debug)]
pub struct Stats<S> {
    /// The counters.
    pub counters: Counters,
    last: Option<S>,
}

impl<S> Stats<S> {
    pub const fn new() -> Self {
        Stats { counters: Counters { printed: 0, refused: 0, failed_writes: 0 }, last: None }
    }

    /// A call printed `line`; returns the line it replaces, for the caller to drop.
    #[must_use = "the previous line is returned so that the caller frees it"]
    pub fn printed(&mut self, line: S) -> Option<S> {
        self.counters.printed += 1;
        self.last.replace(line)
    }

    /// A call's message was refused.
    pub fn refused(&mut self) {
        self.counters.refused += 1;
    }

    /// A call's line could not be written.
    pub fn failed_write(&mut self) {
        self.counters.failed_writes += 1;
    }

    /// The last line printed, once there is one.
    pub fn last(&self) -> Option<&S> {
        self.last.as_ref()
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
        let mut s = Stats::<String>::new();
        assert_eq!((s.counters.calls(), s.last()), (0, None));
        assert_eq!(s.printed("one".into()), None);
        s.refused();
        s.failed_write();
        assert_eq!(s.printed("two".into()).as_deref(), Some("one"));
        assert_eq!(s.counters, Counters { printed: 2, refused: 1, failed_writes: 1 });
        assert_eq!(s.counters.calls(), 4);
        assert_eq!(s.last().map(String::as_str), Some("two"));
    }
}
