// SPDX-License-Identifier: GPL-2.0-or-later
//! Strings as QEMU hands them to a command, and the check most commands want of them.
//!
//! QAPI passes a `str` argument as a NUL-terminated C string. QEMU's JSON parser rejects
//! invalid UTF-8 on the wire, with one exception: it encodes the escape `\u0000` as the
//! overlong bytes `C0 80`, which are not UTF-8. The human monitor's readline socket can
//! pass any bytes. [`decode`] turns such bytes into `&str` or says where they fail; the
//! command layer refuses an argument that does not decode, so a command function only
//! ever sees `&str`.
//!
//! Everything here is safe Rust over byte slices, unit-tested without QEMU.

use core::fmt;

/// Why a text was refused. Positions count from 0; `char_index` counts Unicode scalar
/// values, `byte_offset` counts UTF-8 bytes as QEMU received them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// The text contains a control character (Unicode category Cc).
    ControlCharacter {
        /// The character's code point.
        code_point: u32,
        /// How many characters precede it.
        char_index: usize,
        /// How many bytes precede it.
        byte_offset: usize,
    },
    /// The bytes from `byte_offset` on are not UTF-8.
    InvalidUtf8 {
        /// How many valid bytes precede the first invalid one.
        byte_offset: usize,
    },
}

impl TextError {
    /// This error as the client reads it, naming the argument it was found in.
    pub fn in_member(self, member: &'static str) -> ParamError {
        ParamError { member, error: self }
    }
}

/// A [`TextError`] in a named argument: "Parameter 'message' contains …".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamError {
    /// The schema member's name.
    pub member: &'static str,
    /// What is wrong with its text.
    pub error: TextError,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let member = self.member;
        match self.error {
            TextError::ControlCharacter { code_point, char_index, byte_offset } => write!(
                f,
                "Parameter '{member}' contains the control character U+{code_point:04X} \
                 at character {char_index} (byte {byte_offset}); control characters are not allowed"
            ),
            TextError::InvalidUtf8 { byte_offset } => {
                write!(f, "Parameter '{member}' is not valid UTF-8 at byte {byte_offset}")
            }
        }
    }
}

/// The first control character in `s` (U+0000–U+001F, U+007F–U+009F), with its position.
///
/// Scans bytes, not characters: in UTF-8 the C0 controls and DEL are single bytes and
/// the C1 controls are `C2 80`–`C2 9F`; no other character's encoding contains those
/// patterns. The character index is counted only once a control is found.
pub fn first_control(s: &str) -> Option<TextError> {
    let bytes = s.as_bytes();
    // Fast path: one branch-free pass (the compiler vectorises it) tells whether any
    // byte could start a control; almost every message has none.
    let suspect = bytes.iter().fold(false, |any, &b| any | (b < 0x20) | (b == 0x7F) | (b == 0xC2));
    if !suspect {
        return None;
    }
    let at = bytes.iter().enumerate().position(|(i, &b)| {
        b < 0x20 || b == 0x7F || (b == 0xC2 && bytes.get(i + 1).is_some_and(|n| (0x80..0xA0).contains(n)))
    })?;
    let prefix = s.get(..at).unwrap_or("");
    let code_point = s.get(at..).and_then(|rest| rest.chars().next()).map_or(0, u32::from);
    Some(TextError::ControlCharacter { code_point, char_index: prefix.chars().count(), byte_offset: at })
}

/// `bytes` as `&str`, or why not.
///
/// Bytes that are not UTF-8 are reported at the earliest problem: a control character
/// in the valid part before them, else QEMU's `C0 80` as the U+0000 the client sent,
/// else the offset of the first invalid byte.
pub fn decode(bytes: &[u8]) -> Result<&str, TextError> {
    let err = match core::str::from_utf8(bytes) {
        Ok(s) => return Ok(s),
        Err(e) => e,
    };
    let valid_up_to = err.valid_up_to();
    let valid = bytes.get(..valid_up_to).and_then(|v| core::str::from_utf8(v).ok()).unwrap_or("");
    if let Some(control) = first_control(valid) {
        return Err(control);
    }
    let overlong_nul = bytes.get(valid_up_to..valid_up_to + 2) == Some(&[0xC0, 0x80][..]);
    Err(if overlong_nul {
        TextError::ControlCharacter {
            code_point: 0,
            char_index: valid.chars().count(),
            byte_offset: valid_up_to,
        }
    } else {
        TextError::InvalidUtf8 { byte_offset: valid_up_to }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_decodes_as_is() {
        for s in ["", "We love qemu", "é 中文 🦀 \u{10FFFF}", "tab\there"] {
            assert_eq!(decode(s.as_bytes()), Ok(s));
        }
    }

    #[test]
    fn every_control_character_is_found_with_its_position() {
        for cp in (0u32..0x20).chain(0x7F..0xA0) {
            let m = format!("é{}x", char::from_u32(cp).unwrap());
            assert_eq!(
                first_control(&m),
                Some(TextError::ControlCharacter { code_point: cp, char_index: 1, byte_offset: 2 }),
                "U+{cp:04X}"
            );
        }
        for c in ['\u{20}', '\u{7E}', '\u{A0}', '\u{AD}', '\u{200B}', '\u{100}', '\u{C280}'] {
            assert_eq!(first_control(&c.to_string()), None, "{c:?}");
        }
    }

    #[test]
    fn qemus_overlong_nul_is_reported_as_u0000() {
        assert_eq!(
            decode(b"ab\xC0\x80c"),
            Err(TextError::ControlCharacter { code_point: 0, char_index: 2, byte_offset: 2 })
        );
    }

    #[test]
    fn invalid_utf8_is_refused_at_its_offset() {
        assert_eq!(decode(b"\xE4\xB8\xADx\xFFy"), Err(TextError::InvalidUtf8 { byte_offset: 4 }));
        assert_eq!(decode(b"\xC0"), Err(TextError::InvalidUtf8 { byte_offset: 0 }));
        assert_eq!(decode(b"ok\xED\xA0\x80"), Err(TextError::InvalidUtf8 { byte_offset: 2 }));
    }

    #[test]
    fn the_first_problem_is_reported() {
        assert_eq!(
            decode(b"a\tb\xFF"),
            Err(TextError::ControlCharacter { code_point: 9, char_index: 1, byte_offset: 1 })
        );
        assert_eq!(decode(b"a\xFFb\t"), Err(TextError::InvalidUtf8 { byte_offset: 1 }));
    }

    #[test]
    fn errors_name_the_member_and_say_what_and_where() {
        let e = first_control("中\u{1b}[31m").unwrap().in_member("message");
        assert_eq!(
            e.to_string(),
            "Parameter 'message' contains the control character U+001B at character 1 (byte 3); \
             control characters are not allowed"
        );
        assert_eq!(
            decode(b"\xFF").unwrap_err().in_member("path").to_string(),
            "Parameter 'path' is not valid UTF-8 at byte 0"
        );
    }
}
