// SPDX-License-Identifier: GPL-2.0-or-later
//! What cannot reach a client unchanged, found before anything is handed to QEMU.
//!
//! Two kinds of value would be lost or malformed on their way out:
//!
//! - a string with a NUL byte: QEMU's strings are C strings, which end at the first NUL,
//!   so the client would read the text cut short and could not tell;
//! - a number that is not finite (NaN, infinity): JSON has no such number, and QEMU's
//!   writer would send `nan` or `inf`, which no JSON client parses.
//!
//! Every value a command returns and every member of an event it sends is checked
//! first ([`Ret::fault`](crate::ffi::Ret), the senders' checks), and one that holds
//! either is refused whole: the reply is an error naming the command and the member
//! (`items[2].name`), or the sender returns that error and sends nothing. An error's own
//! text cannot be refused (it is already the reply), so there a NUL is written `\0`
//! ([`CommandError::new`]).

use core::fmt;

use crate::error::CommandError;

/// A value that cannot cross, and where it sits in what was returned or sent.
#[derive(Clone, PartialEq)]
pub struct Fault(Box<Inner>);

#[derive(Clone, PartialEq)]
struct Inner {
    /// The member path from the outside in (`items[2].name`); empty for the value itself.
    path: String,
    what: What,
}

#[derive(Clone, Copy, PartialEq)]
enum What {
    /// A NUL byte at this offset of a string.
    Nul(usize),
    /// A NUL byte at this offset of a dictionary key (of an `any`).
    NulInKey(usize),
    /// A number JSON cannot write.
    NonFinite(f64),
}

impl Fault {
    /// The fault of a string: a NUL byte in it.
    #[inline]
    pub fn of_text(s: &str) -> Option<Fault> {
        let at = s.bytes().position(|b| b == 0)?;
        Some(Fault::new(What::Nul(at)))
    }

    /// The fault of a number: NaN or an infinity.
    #[inline]
    pub fn of_number(x: f64) -> Option<Fault> {
        if x.is_finite() { None } else { Some(Fault::new(What::NonFinite(x))) }
    }

    /// The fault of a dictionary's key: a NUL byte in it.
    pub(crate) fn of_key(key: &str) -> Option<Fault> {
        let at = key.bytes().position(|b| b == 0)?;
        let mut f = Fault::new(What::NulInKey(at));
        f.0.path = escape_name(key);
        Some(f)
    }

    #[cold]
    fn new(what: What) -> Fault {
        Fault(Box::new(Inner { path: String::new(), what }))
    }

    /// The same fault, inside member `name` of a struct (or key of a dictionary).
    #[cold]
    pub fn in_member(mut self, name: &str) -> Fault {
        let name = escape_name(name);
        let path = &mut self.0.path;
        if !path.is_empty() && !path.starts_with('[') {
            path.insert(0, '.');
        }
        path.insert_str(0, &name);
        self
    }

    /// The same fault, inside element `index` of a list.
    #[cold]
    pub fn at_index(mut self, index: usize) -> Fault {
        let path = &mut self.0.path;
        let prefix = if path.is_empty() || path.starts_with('[') {
            format!("[{index}]")
        } else {
            format!("[{index}].")
        };
        path.insert_str(0, &prefix);
        self
    }

    /// Where it sits: `items[2].name`, or empty for the value itself.
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// The error refusing command `command`'s reply.
    #[cold]
    #[inline(never)]
    pub fn refuse_reply(&self, command: &str) -> CommandError {
        CommandError::new(format_args!("command '{command}' cannot reply: {self}; nothing was sent"))
    }

    /// The error refusing to send event `event`.
    #[cold]
    #[inline(never)]
    pub fn refuse_event(&self, event: &str) -> CommandError {
        CommandError::new(format_args!("event '{event}' not sent: {self}"))
    }
}

/// A name as a path shows it: the name itself, or, with a NUL, with the NUL as `\0`.
fn escape_name(name: &str) -> String {
    name.replace('\0', "\\0")
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.0.path;
        if path.is_empty() {
            f.write_str("the returned value")?;
        } else {
            write!(f, "member '{path}'")?;
        }
        match self.0.what {
            What::Nul(at) => write!(f, " holds a NUL byte (at byte {at}), where QEMU's C strings end"),
            What::NulInKey(at) => {
                write!(f, " has a NUL byte in its name (at byte {at}), where QEMU's C strings end")
            }
            What::NonFinite(x) => write!(f, " is {x}, which JSON cannot write"),
        }
    }
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fault({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_numbers_that_cross_have_no_fault() {
        assert_eq!(Fault::of_text("plain, and é"), None);
        assert_eq!(Fault::of_number(1.5e300), None);
        assert_eq!(Fault::of_number(-0.0), None);
    }

    #[test]
    fn the_path_names_the_member_from_the_outside_in() {
        let f = Fault::of_text("a\0b").unwrap().in_member("name").at_index(2).in_member("items");
        assert_eq!(f.path(), "items[2].name");
        assert_eq!(
            f.refuse_reply("query-things").message(),
            "command 'query-things' cannot reply: member 'items[2].name' holds a NUL byte (at byte 1), \
             where QEMU's C strings end; nothing was sent"
        );
        let f = Fault::of_number(f64::NAN).unwrap().at_index(0).at_index(3);
        assert_eq!(f.path(), "[3][0]");
        let f = Fault::of_number(f64::NEG_INFINITY).unwrap().in_member("ratio");
        assert_eq!(
            f.refuse_event("THING_SEEN").message(),
            "event 'THING_SEEN' not sent: member 'ratio' is -inf, which JSON cannot write"
        );
        let f = Fault::of_number(f64::NAN).unwrap().in_member("ratio");
        assert_eq!(
            f.refuse_reply("x").message(),
            "command 'x' cannot reply: member 'ratio' is NaN, which JSON cannot write; nothing was sent"
        );
    }

    #[test]
    fn a_key_with_a_nul_is_named_with_the_nul_written_out() {
        let f = Fault::of_key("k\0ey").unwrap().in_member("extra");
        assert_eq!(f.path(), "extra.k\\0ey");
        assert!(f.to_string().contains("has a NUL byte in its name (at byte 1)"), "{f}");
    }
}
