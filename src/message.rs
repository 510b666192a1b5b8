// SPDX-License-Identifier: GPL-2.0-or-later
//! The rules of `hello-world`: which line a call prints, and which messages it refuses.
//!
//! A message is printed verbatim as one line. It is refused if it is not valid UTF-8 or
//! contains a control character (Unicode category Cc: U+0000–U+001F, U+007F–U+009F), so
//! that a client can neither forge extra log lines nor drive a terminal reading QEMU's
//! output. Everything here is safe Rust over byte slices; `ffi` feeds it what QEMU passes.

use core::fmt;

/// What the command prints when the client gives no message.
pub const DEFAULT_MESSAGE: &str = "Hello, world";

/// Why a message was refused. Positions count from 0; `char_index` counts Unicode
/// scalar values, `byte_offset` counts UTF-8 bytes as QEMU received them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageError {
    /// The message contains a control character.
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

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MessageError::ControlCharacter { code_point, char_index, byte_offset } => write!(
                f,
                "Parameter 'message' contains the control character U+{code_point:04X} \
                 at character {char_index} (byte {byte_offset}); control characters are not allowed"
            ),
            MessageError::InvalidUtf8 { byte_offset } => {
                write!(f, "Parameter 'message' is not valid UTF-8 at byte {byte_offset}")
            }
        }
    }
}

/// True for the characters a message must not contain.
pub fn is_refused(c: char) -> bool {
    // `char::is_control` is exactly Unicode's Cc: U+0000–U+001F and U+007F–U+009F.
    c.is_control()
}

/// The text (without its newline) that one call prints for `message`, or why it is refused.
///
/// `None` means the client sent no message. QEMU's JSON parser turns the escape `\u0000`
/// into the overlong bytes `C0 80`; they are reported as the control character U+0000,
/// which is what the client sent, rather than as invalid UTF-8.
pub fn line(message: Option<&[u8]>) -> Result<&str, MessageError> {
    let Some(bytes) = message else {
        return Ok(DEFAULT_MESSAGE);
    };
    let mut char_index = 0;
    let mut byte_offset = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_refused(c) {
                return Err(MessageError::ControlCharacter {
                    code_point: u32::from(c),
                    char_index,
                    byte_offset,
                });
            }
            char_index += 1;
            byte_offset += c.len_utf8();
        }
        if !chunk.invalid().is_empty() {
            let overlong_nul = bytes.get(byte_offset..byte_offset + 2) == Some(&[0xC0, 0x80][..]);
            return Err(if overlong_nul {
                MessageError::ControlCharacter { code_point: 0, char_index, byte_offset }
            } else {
                MessageError::InvalidUtf8 { byte_offset }
            });
        }
    }
    // Every chunk was valid UTF-8 without a refused character, so the whole is too.
    core::str::from_utf8(bytes).map_err(|e| MessageError::InvalidUtf8 { byte_offset: e.valid_up_to() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_message_prints_the_default() {
        assert_eq!(line(None), Ok("Hello, world"));
    }

    #[test]
    fn printable_text_is_verbatim() {
        for m in [
            "We love qemu",
            "",
            " ",
            "%s%n%x",
            "\"quoted\" \\back\\",
            "é 中文 🦀 \u{10FFFF}",
            "\u{A0}\u{2028}\u{FEFF}",
        ] {
            assert_eq!(line(Some(m.as_bytes())), Ok(m), "{m:?}");
        }
    }

    #[test]
    fn every_control_character_is_refused_with_its_position() {
        let controls = (0u32..0x20).chain(0x7F..0xA0);
        for cp in controls {
            let c = char::from_u32(cp).unwrap();
            let m = format!("é{c}x");
            assert_eq!(
                line(Some(m.as_bytes())),
                Err(MessageError::ControlCharacter { code_point: cp, char_index: 1, byte_offset: 2 }),
                "U+{cp:04X}"
            );
        }
    }

    #[test]
    fn characters_next_to_the_control_ranges_are_accepted() {
        for c in ['\u{20}', '\u{7E}', '\u{A0}', '\u{AD}', '\u{200B}'] {
            let m = c.to_string();
            assert_eq!(line(Some(m.as_bytes())), Ok(m.as_str()));
        }
    }

    #[test]
    fn qemus_overlong_nul_is_reported_as_u0000() {
        assert_eq!(
            line(Some(b"ab\xC0\x80c")),
            Err(MessageError::ControlCharacter { code_point: 0, char_index: 2, byte_offset: 2 })
        );
    }

    #[test]
    fn invalid_utf8_is_refused_at_its_offset() {
        assert_eq!(line(Some(b"\xE4\xB8\xADx\xFFy")), Err(MessageError::InvalidUtf8 { byte_offset: 4 }));
        assert_eq!(line(Some(b"\xC0")), Err(MessageError::InvalidUtf8 { byte_offset: 0 }));
        assert_eq!(line(Some(b"ok\xED\xA0\x80")), Err(MessageError::InvalidUtf8 { byte_offset: 2 }));
    }

    #[test]
    fn the_first_problem_is_reported() {
        assert_eq!(
            line(Some(b"a\tb\xFF")),
            Err(MessageError::ControlCharacter { code_point: 9, char_index: 1, byte_offset: 1 })
        );
        assert_eq!(line(Some(b"a\xFFb\t")), Err(MessageError::InvalidUtf8 { byte_offset: 1 }));
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = line(Some("中\u{1b}[31m".as_bytes())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Parameter 'message' contains the control character U+001B at character 1 (byte 3); \
             control characters are not allowed"
        );
        assert_eq!(
            line(Some(b"\xFF")).unwrap_err().to_string(),
            "Parameter 'message' is not valid UTF-8 at byte 0"
        );
    }

    #[test]
    fn multi_mib_messages_pass_whole() {
        let m = "ab€".repeat(1 << 20);
        assert_eq!(line(Some(m.as_bytes())).map(str::len), Ok(m.len()));
    }
}

/// Property tests: `line` against an independent statement of the rules, over arbitrary
/// text and arbitrary bytes (a fuzzer's view of the validation code).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// The rules restated over `str`: the first control character, where it is.
    fn first_control(s: &str) -> Option<MessageError> {
        s.char_indices().enumerate().find(|(_, (_, c))| c.is_control()).map(|(i, (b, c))| {
            MessageError::ControlCharacter { code_point: c as u32, char_index: i, byte_offset: b }
        })
    }

    fn text() -> impl Strategy<Value = String> {
        let c = prop_oneof![
            4 => any::<char>(),
            2 => prop::char::ranges(vec!['\0'..='\u{1f}', '\u{7f}'..='\u{9f}'].into()),
            2 => prop::char::range(' ', '~'),
        ];
        prop::collection::vec(c, 0..64).prop_map(String::from_iter)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn text_is_printed_verbatim_or_refused_at_its_first_control(s in text()) {
            match first_control(&s) {
                None => prop_assert_eq!(line(Some(s.as_bytes())), Ok(s.as_str())),
                Some(e) => prop_assert_eq!(line(Some(s.as_bytes())), Err(e)),
            }
        }

        #[test]
        fn any_bytes_get_an_answer_that_agrees_with_std(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let got = line(Some(&bytes));
            match core::str::from_utf8(&bytes) {
                Ok(s) => prop_assert_eq!(got, first_control(s).map_or(Ok(s), Err)),
                Err(utf8) => {
                    let valid = core::str::from_utf8(&bytes[..utf8.valid_up_to()]).unwrap();
                    let nul = bytes[utf8.valid_up_to()..].starts_with(&[0xC0, 0x80]);
                    let expected = first_control(valid).unwrap_or(if nul {
                        MessageError::ControlCharacter {
                            code_point: 0,
                            char_index: valid.chars().count(),
                            byte_offset: valid.len(),
                        }
                    } else {
                        MessageError::InvalidUtf8 { byte_offset: utf8.valid_up_to() }
                    });
                    prop_assert_eq!(got, Err(expected));
                }
            }
        }

        #[test]
        fn a_control_character_anywhere_is_found(prefix in "[^\\p{Cc}]{0,32}", cp in prop::sample::select((0u32..0x20).chain(0x7F..0xA0).collect::<Vec<_>>()), suffix in text()) {
            let m = format!("{prefix}{}{suffix}", char::from_u32(cp).unwrap());
            let expected = MessageError::ControlCharacter {
                code_point: cp,
                char_index: prefix.chars().count(),
                byte_offset: prefix.len(),
            };
            prop_assert_eq!(line(Some(m.as_bytes())), Err(expected));
        }
    }
}
