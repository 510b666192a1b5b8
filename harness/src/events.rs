// SPDX-License-Identifier: GPL-2.0-or-later
//! QMP events the `qapi` crate does not know.
//!
//! The `qapi` crate parses each message into its `Event` enum, generated from QEMU's own
//! schema when the crate was built; an event that schema lacks (ours: `HELLO_WORLD`)
//! matches neither an event nor a reply, and the client fails. [`EventFilter`] sits
//! between the socket and the client: it passes every line through except events the
//! crate cannot parse, which it keeps for the test to read.
//!
//! It also holds back every event that comes before QEMU's greeting: QEMU sends events
//! to a monitor whose client has connected but whose `CHR_EVENT_OPENED` (which sends the
//! greeting) the main loop has not handled yet (`mon->commands` is still NULL there, not
//! the negotiation list `monitor_qapi_event_emit` skips), so under load a start-up
//! `RESUME` can arrive first, and the client would take it for the greeting.

use std::io::{self, BufRead, Read};

use serde_json::Value;

/// A line reader that takes out the events the `qapi` crate does not know.
pub struct EventFilter<R> {
    inner: R,
    line: Vec<u8>,
    pos: usize,
    events: Vec<Value>,
    greeted: bool,
    early: Vec<Value>,
}

impl<R> EventFilter<R> {
    pub fn new(inner: R) -> Self {
        EventFilter { inner, line: Vec::new(), pos: 0, events: Vec::new(), greeted: false, early: Vec::new() }
    }

    /// The events QEMU sent before its greeting, oldest first.
    pub fn before_greeting(&self) -> &[Value] {
        &self.early
    }

    /// The events taken out so far, oldest first; empties the list.
    pub fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }
}

/// `line` as a JSON event the `qapi` crate cannot parse, if it is one.
fn foreign_event(line: &[u8]) -> Option<Value> {
    // Cheap test first: replies rarely mention "event".
    if !line.windows(8).any(|w| w == b"\"event\":") {
        return None;
    }
    let v: Value = serde_json::from_slice(line).ok()?;
    v.get("event")?;
    serde_json::from_value::<qapi::qmp::Event>(v.clone()).is_err().then_some(v)
}

impl<R: BufRead> BufRead for EventFilter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.line.len() {
            self.line.clear();
            self.pos = 0;
            if self.inner.read_until(b'\n', &mut self.line)? == 0 {
                break;
            }
            if !self.greeted {
                match serde_json::from_slice::<Value>(&self.line) {
                    Ok(v) if v.get("QMP").is_some() => self.greeted = true,
                    Ok(v) if v.get("event").is_some() => {
                        self.early.push(v);
                        self.line.clear();
                        continue;
                    }
                    _ => {}
                }
            }
            if let Some(event) = foreign_event(&self.line) {
                self.events.push(event);
                self.line.clear();
            }
        }
        Ok(&self.line[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.line.len());
    }
}

impl<R: BufRead> Read for EventFilter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_events_are_kept_and_everything_else_passes() {
        let input = concat!(
            "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n",
            "{\"return\": {}}\n",
            "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"HELLO_WORLD\", \"data\": {\"message\": \"hi\"}}\n",
            "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\n",
            "{\"return\": {\"event\": 1}}\n",
        );
        let mut f = EventFilter::new(io::BufReader::new(input.as_bytes()));
        let mut out = String::new();
        f.read_to_string(&mut out).unwrap();
        assert_eq!(
            out,
            "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n{\"return\": {}}\n{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\n{\"return\": {\"event\": 1}}\n"
        );
        let events = f.take_events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["event"], "HELLO_WORLD");
        assert_eq!(events[0]["data"]["message"], "hi");
        assert!(f.take_events().is_empty());
        assert!(f.before_greeting().is_empty());
    }

    /// An event QEMU sends before its greeting (a start-up `RESUME` under load) is held
    /// back, so that the client reads the greeting first.
    #[test]
    fn events_before_the_greeting_are_held_back() {
        let input = concat!(
            "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\n",
            "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n",
            "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, \"event\": \"STOP\"}\n",
        );
        let mut f = EventFilter::new(io::BufReader::new(input.as_bytes()));
        let mut out = String::new();
        f.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("{\"QMP\""), "{out}");
        assert!(out.contains("\"STOP\""), "{out}");
        assert_eq!(f.before_greeting().len(), 1);
        assert_eq!(f.before_greeting()[0]["event"], "RESUME");
    }
}
