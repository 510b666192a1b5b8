// SPDX-License-Identifier: GPL-2.0-or-later
//! The rules of `hello-world`: which line a call prints, and which messages it refuses.
//!
//! A message is printed verbatim as one line. It is refused if it contains a control
//! character (Unicode category Cc: U+0000–U+001F, U+007F–U+009F), so that a client can
//! neither forge extra log lines nor drive a terminal reading QEMU's output. (Bytes that
//! are not UTF-8 never get here: the command layer refuses them, see [`qemu_monitor_layer::text`].)

use qemu_monitor_layer::text::{self, ParamError};

/// What the command prints when the client gives no message.
pub const DEFAULT_MESSAGE: &str = "Hello, world";

/// The text (without its newline) that one call prints for `message`, or why it is refused.
///
/// `None` means the client sent no message.
pub fn line(message: Option<&str>) -> Result<&str, ParamError> {
    let Some(text) = message else {
        return Ok(DEFAULT_MESSAGE);
    };
    match text::first_control(text) {
        None => Ok(text),
        Some(e) => Err(e.in_member("message")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qemu_monitor_layer::text::TextError;

    /// What a call answers for the bytes QEMU passes: the layer decodes, then the rules.
    fn line_of(bytes: &[u8]) -> Result<&str, TextError> {
        text::decode(bytes).and_then(|s| line(Some(s)).map_err(|e| e.error))
    }

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
            assert_eq!(line_of(m.as_bytes()), Ok(m), "{m:?}");
        }
    }

    #[test]
    fn every_control_character_is_refused_with_its_position() {
        let controls = (0u32..0x20).chain(0x7F..0xA0);
        for cp in controls {
            let c = char::from_u32(cp).unwrap();
            let m = format!("é{c}x");
            assert_eq!(
                line_of(m.as_bytes()),
                Err(TextError::ControlCharacter { code_point: cp, char_index: 1, byte_offset: 2 }),
                "U+{cp:04X}"
            );
        }
    }

    #[test]
    fn characters_next_to_the_control_ranges_are_accepted() {
        for c in ['\u{20}', '\u{7E}', '\u{A0}', '\u{AD}', '\u{200B}'] {
            let m = c.to_string();
            assert_eq!(line_of(m.as_bytes()), Ok(m.as_str()));
        }
    }

    #[test]
    fn qemus_overlong_nul_is_reported_as_u0000() {
        assert_eq!(
            line_of(b"ab\xC0\x80c"),
            Err(TextError::ControlCharacter { code_point: 0, char_index: 2, byte_offset: 2 })
        );
    }

    #[test]
    fn invalid_utf8_is_refused_at_its_offset() {
        assert_eq!(line_of(b"\xE4\xB8\xADx\xFFy"), Err(TextError::InvalidUtf8 { byte_offset: 4 }));
        assert_eq!(line_of(b"\xC0"), Err(TextError::InvalidUtf8 { byte_offset: 0 }));
        assert_eq!(line_of(b"ok\xED\xA0\x80"), Err(TextError::InvalidUtf8 { byte_offset: 2 }));
    }

    #[test]
    fn the_first_problem_is_reported() {
        assert_eq!(
            line_of(b"a\tb\xFF"),
            Err(TextError::ControlCharacter { code_point: 9, char_index: 1, byte_offset: 1 })
        );
        assert_eq!(line_of(b"a\xFFb\t"), Err(TextError::InvalidUtf8 { byte_offset: 1 }));
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = line_of("中\u{1b}[31m".as_bytes()).unwrap_err();
        assert_eq!(
            e.in_member("message").to_string(),
            "Parameter 'message' contains the control character U+001B at character 1 (byte 3); \
             control characters are not allowed"
        );
        assert_eq!(
            line_of(b"\xFF").unwrap_err().in_member("message").to_string(),
            "Parameter 'message' is not valid UTF-8 at byte 0"
        );
    }

    #[test]
    fn multi_mib_messages_pass_whole() {
        let m = "ab€".repeat(1 << 20);
        assert_eq!(line_of(m.as_bytes()).map(str::len), Ok(m.len()));
    }
}

/// Property tests: `line` against an independent statement of the rules, over arbitrary
/// text and arbitrary bytes (a fuzzer's view of the validation code).
#[cfg(test)]
mod properties {
    use super::*;
    use qemu_monitor_layer::text::TextError;

    fn line_of(bytes: &[u8]) -> Result<&str, TextError> {
        text::decode(bytes).and_then(|s| line(Some(s)).map_err(|e| e.error))
    }
    use proptest::prelude::*;

    /// The rules restated over `str`: the first control character, where it is.
    fn first_control(s: &str) -> Option<TextError> {
        s.char_indices().enumerate().find(|(_, (_, c))| c.is_control()).map(|(i, (b, c))| {
            TextError::ControlCharacter { code_point: c as u32, char_index: i, byte_offset: b }
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
                None => prop_assert_eq!(line_of(s.as_bytes()), Ok(s.as_str())),
                Some(e) => prop_assert_eq!(line_of(s.as_bytes()), Err(e)),
            }
        }

        #[test]
        fn any_bytes_get_an_answer_that_agrees_with_std(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let got = line_of(&bytes);
            match core::str::from_utf8(&bytes) {
                Ok(s) => prop_assert_eq!(got, first_control(s).map_or(Ok(s), Err)),
                Err(utf8) => {
                    let valid = core::str::from_utf8(&bytes[..utf8.valid_up_to()]).unwrap();
                    let nul = bytes[utf8.valid_up_to()..].starts_with(&[0xC0, 0x80]);
                    let expected = first_control(valid).unwrap_or(if nul {
                        TextError::ControlCharacter {
                            code_point: 0,
                            char_index: valid.chars().count(),
                            byte_offset: valid.len(),
                        }
                    } else {
                        TextError::InvalidUtf8 { byte_offset: utf8.valid_up_to() }
                    });
                    prop_assert_eq!(got, Err(expected));
                }
            }
        }

        #[test]
        fn a_control_character_anywhere_is_found(prefix in "[^\\p{Cc}]{0,32}", cp in prop::sample::select((0u32..0x20).chain(0x7F..0xA0).collect::<Vec<_>>()), suffix in text()) {
            let m = format!("{prefix}{}{suffix}", char::from_u32(cp).unwrap());
            let expected = TextError::ControlCharacter {
                code_point: cp,
                char_index: prefix.chars().count(),
                byte_offset: prefix.len(),
            };
            prop_assert_eq!(line_of(m.as_bytes()), Err(expected));
        }
    }
}
