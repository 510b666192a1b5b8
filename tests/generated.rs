// SPDX-License-Identifier: GPL-2.0-or-later
//! Generated input against the patched QEMU: ≥ 10,000 `hello-world` calls (set
//! `QEMU_HELLO_CASES` for more) and a few of several MiB, each checked against a model of QEMU's JSON parser and
//! the command's rules: either `{}` and exactly the expected line on stdout, or a
//! GenericError and nothing printed. QEMU stays up throughout.
//!
//! The model is written independently of `src/message.rs`, from the rules as documented:
//! - QEMU's parser combines `\uD8xx\uDCxx` pairs, refuses any other surrogate escape
//!   and any noncharacter (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF), and refuses duplicate keys;
//! - the command refuses control characters (Cc), reporting the first one's position.
//!
//! A call goes to standard output, to a `ringbuf` character device (`"chardev": "ring"`,
//! the line read back with `ringbuf-read`) or to a device that does not exist
//! (`"chardev": "nope"`, which the command refuses once the message passes its rules).
//!
//! Each printed line must come with one `HELLO_WORLD` event carrying it, a refused call with
//! none; at the end `query-hello-world` must give the counts and the last line the model
//! predicts (refusals by QEMU before the command runs are not the command's to count).

#[path = "common/client.rs"]
mod client;

use client::{HelloWorldInfo, QueryHelloWorld};
use std::cell::{Cell, RefCell};

use harness::commands::{RawArgumentsHelloWorld, RingbufRead};
use harness::qapi::{ErrorClass, ExecuteError};
use harness::{Options, Qemu, binary_from_env, custom_events};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// One piece of a message as the client writes it in JSON.
#[derive(Debug, Clone)]
enum Piece {
    /// A character written as itself (or the escape JSON requires).
    Char(char),
    /// A character written as a `\u` escape (a surrogate pair beyond the BMP).
    Escaped(char),
    /// A lone UTF-16 surrogate escape, which only JSON text can carry.
    Surrogate(u16),
}

/// One call: the `arguments` object as raw JSON text.
#[derive(Debug, Clone)]
enum Call {
    Message(Vec<Piece>),
    /// A multi-MiB message, optionally ending in a control character.
    Big {
        repeat: usize,
        tail: Option<char>,
    },
    Absent,
    WrongType(serde_json::Value),
    Extra(Vec<Piece>, String),
    Duplicate(Vec<Piece>, Vec<Piece>),
}

/// Where a call asks for its line to go.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dest {
    Stdout,
    /// The ringbuf the test starts QEMU with.
    Ring,
    /// A device id QEMU does not have.
    Missing,
}

impl Dest {
    fn id(self) -> Option<&'static str> {
        match self {
            Dest::Stdout => None,
            Dest::Ring => Some("ring"),
            Dest::Missing => Some("nope"),
        }
    }
}

#[derive(Debug, PartialEq)]
enum Expect {
    Print(String),
    Refuse(String),
}

fn json_string(pieces: &[Piece]) -> String {
    let mut s = String::from("\"");
    for p in pieces {
        match *p {
            Piece::Char('"') => s.push_str("\\\""),
            Piece::Char('\\') => s.push_str("\\\\"),
            Piece::Char(c) if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            Piece::Char(c) => s.push(c),
            Piece::Escaped(c) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    s.push_str(&format!("\\u{u:04X}"));
                }
            }
            Piece::Surrogate(u) => s.push_str(&format!("\\u{u:04x}")),
        }
    }
    s.push('"');
    s
}

/// The `arguments` object of `call` sent to `dest`.
fn arguments_to(call: &Call, dest: Dest) -> String {
    let raw = arguments(call);
    match dest.id() {
        None => raw,
        Some(id) if raw == "{}" => format!("{{\"chardev\": \"{id}\"}}"),
        Some(id) => format!("{{\"chardev\": \"{id}\", {}", &raw[1..]),
    }
}

fn arguments(call: &Call) -> String {
    match call {
        Call::Message(p) => format!("{{\"message\": {}}}", json_string(p)),
        Call::Big { repeat, tail } => json!({ "message": big_message(*repeat, *tail) }).to_string(),
        Call::Absent => "{}".into(),
        Call::WrongType(v) => json!({ "message": v }).to_string(),
        Call::Extra(p, key) => format!("{{\"message\": {}, {}: 1}}", json_string(p), json!(key)),
        Call::Duplicate(a, b) => {
            format!("{{\"message\": {}, \"message\": {}}}", json_string(a), json_string(b))
        }
    }
}

/// The text of a [`Call::Big`].
fn big_message(repeat: usize, tail: Option<char>) -> String {
    let mut m = "ab€🦀".repeat(repeat);
    m.extend(tail);
    m
}

fn is_noncharacter(c: char) -> bool {
    let cp = c as u32;
    (0xFDD0..=0xFDEF).contains(&cp) || cp & 0xFFFE == 0xFFFE
}

/// The string QEMU's parser builds from `pieces`, or None for a parse error.
fn decode(pieces: &[Piece]) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < pieces.len() {
        match pieces[i] {
            Piece::Char(c) | Piece::Escaped(c) => out.push(c),
            Piece::Surrogate(hi @ 0xD800..=0xDBFF) => match pieces.get(i + 1) {
                Some(&Piece::Surrogate(lo @ 0xDC00..=0xDFFF)) => {
                    out.extend(char::decode_utf16([hi, lo]).map(|r| r.expect("a valid pair")));
                    i += 1;
                }
                _ => return None,
            },
            Piece::Surrogate(_) => return None,
        }
        i += 1;
    }
    (!out.chars().any(is_noncharacter)).then_some(out)
}

/// What the command does with a decoded message.
fn rule(message: String) -> Expect {
    let mut bytes = 0;
    for (i, c) in message.chars().enumerate() {
        if c.is_control() {
            return Expect::Refuse(format!(
                "control character U+{:04X} at character {i} (byte {bytes})",
                c as u32
            ));
        }
        bytes += c.len_utf8();
    }
    Expect::Print(message)
}

/// What a call to `dest` does: the message's fate, then the device's.
fn model_to(call: &Call, dest: Dest) -> Expect {
    match (model(call), dest) {
        (Expect::Print(_), Dest::Missing) => Expect::Refuse("Device 'nope' not found".into()),
        (e, _) => e,
    }
}

fn model(call: &Call) -> Expect {
    let parse_error = || Expect::Refuse("JSON parse error".into());
    match call {
        Call::Message(p) => decode(p).map_or_else(parse_error, rule),
        Call::Big { repeat, tail } => rule(big_message(*repeat, *tail)),
        Call::Absent => Expect::Print("Hello, world".into()),
        Call::WrongType(_) => Expect::Refuse("Invalid parameter type for 'message', expected: string".into()),
        // QEMU rejects an unknown member before the command runs, whatever the message.
        Call::Extra(p, key) => match decode(p) {
            None => parse_error(),
            Some(_) => Expect::Refuse(format!("Parameter '{key}' is unexpected")),
        },
        Call::Duplicate(a, b) => match (decode(a), decode(b)) {
            (Some(_), Some(_)) => Expect::Refuse("JSON parse error, duplicate key".into()),
            _ => parse_error(),
        },
    }
}

fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        6 => prop::char::range(' ', '~'),
        1 => prop::char::ranges(vec!['\0'..='\u{1f}', '\u{7f}'..='\u{9f}'].into()),
        1 => prop::sample::select(vec!['\u{FDD0}', '\u{FDEF}', '\u{FFFE}', '\u{FFFF}', '\u{1FFFF}', '\u{10FFFF}']),
        2 => prop::char::range('\u{10000}', '\u{10FFFD}'),
        1 => prop::sample::select(vec!['%', '"', '\\', '\u{A0}', '\u{AD}', '\u{2028}', '\u{FEFF}']),
    ]
}

fn pieces() -> impl Strategy<Value = Vec<Piece>> {
    let piece = prop_oneof![
        40 => any_char().prop_map(Piece::Char),
        10 => any_char().prop_map(Piece::Escaped),
        1 => (0xD800u16..=0xDFFF).prop_map(Piece::Surrogate),
    ];
    prop::collection::vec(piece, 0..24)
}

/// Every kind of call but the multi-MiB ones.
fn call() -> impl Strategy<Value = (Call, Dest)> {
    let wrong = prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(json!(null)),
        Just(json!(1.5)),
        Just(json!(["We love qemu"])),
        Just(json!({"message": "nested"})),
    ];
    let call = prop_oneof![
        80 => pieces().prop_map(Call::Message),
        4 => Just(Call::Absent),
        5 => wrong.prop_map(Call::WrongType),
        4 => (pieces(), "[a-z_-]{1,12}".prop_filter("not a member", |k| k != "message" && k != "chardev"))
            .prop_map(|(p, k)| Call::Extra(p, k)),
        3 => (pieces(), pieces()).prop_map(|(a, b)| Call::Duplicate(a, b)),
    ];
    let dest = prop_oneof![6 => Just(Dest::Stdout), 3 => Just(Dest::Ring), 1 => Just(Dest::Missing)];
    (call, dest)
}

/// Messages of 1–2.6 MiB, some ending in a control character. QEMU reads QMP input
/// with one read(2) per byte, about 3 µs a byte here, so these few take most of the time.
fn big_call() -> impl Strategy<Value = (Call, Dest)> {
    (120_000usize..300_000, prop::option::of(prop::sample::select(vec!['\n', '\u{1b}', '\0'])))
        .prop_map(|(repeat, tail)| (Call::Big { repeat, tail }, Dest::Stdout))
}

const BIG_CASES: u32 = 3;

/// At most 300 characters of `s`, for failure messages about multi-MiB calls.
fn short(s: &str) -> String {
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}… ({} bytes)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

fn cases() -> u32 {
    std::env::var("QEMU_HELLO_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000)
}

#[test]
fn the_model_agrees_with_known_cases() {
    assert_eq!(
        model(&Call::Message(vec![Piece::Char('a'), Piece::Char('\n')])),
        Expect::Refuse("control character U+000A at character 1 (byte 1)".into())
    );
    assert_eq!(
        model(&Call::Message(vec![Piece::Surrogate(0xD83D), Piece::Surrogate(0xDE00)])),
        Expect::Print("😀".into())
    );
    assert_eq!(
        model(&Call::Message(vec![Piece::Surrogate(0xDE00)])),
        Expect::Refuse("JSON parse error".into())
    );
    assert_eq!(
        model(&Call::Message(vec![Piece::Escaped('\u{FFFF}')])),
        Expect::Refuse("JSON parse error".into())
    );
    assert_eq!(json_string(&[Piece::Escaped('😀'), Piece::Char('\0')]), "\"\\uD83D\\uDE00\\u0000\"");
    // The device is looked up once the message passes the rules.
    assert_eq!(model_to(&Call::Absent, Dest::Missing), Expect::Refuse("Device 'nope' not found".into()));
    assert_eq!(
        model_to(&Call::Message(vec![Piece::Char('\u{7}')]), Dest::Missing),
        Expect::Refuse("control character U+0007 at character 0 (byte 0)".into())
    );
    assert_eq!(model_to(&Call::Absent, Dest::Ring), Expect::Print("Hello, world".into()));
    assert_eq!(arguments_to(&Call::Absent, Dest::Ring), r#"{"chardev": "ring"}"#);
    assert_eq!(arguments_to(&Call::Message(vec![]), Dest::Missing), r#"{"chardev": "nope", "message": ""}"#);
}

#[test]
fn generated_calls_match_the_model() {
    let ring = ["-chardev", "ringbuf,id=ring,size=64K"].map(String::from).to_vec();
    let opts = Options { args: ring, ..Options::default() };
    let vm = RefCell::new(Qemu::start(&binary_from_env(), &opts).expect("QEMU starts"));
    let qmp = RefCell::new(vm.borrow().qmp().unwrap());
    let offset = Cell::new(0u64);
    let (printed, refused) = (Cell::new(0u32), Cell::new(0u32));
    // What query-hello-world must say at the end: refusals by the command itself (not by
    // QEMU's parser or marshaller), and the last printed line.
    let by_command = Cell::new(0i64);
    let last = RefCell::new(None::<String>);
    let check = |(call, dest): (Call, Dest)| {
        let raw = arguments_to(&call, dest);
        let cmd = RawArgumentsHelloWorld::from_json(raw.as_str());
        let reply = qmp.borrow_mut().execute(&cmd);
        let shown = short(&raw);
        let mut at = offset.get();
        let out = vm.borrow().stdout_since(&mut at).unwrap();
        offset.set(at);
        let read = json!({ "device": "ring", "size": 65536, "format": "utf8" });
        let ring = qmp.borrow_mut().execute(&RingbufRead(read)).unwrap();
        let ring = ring.as_str().unwrap_or_default().as_bytes().to_vec();
        let events: Vec<Value> = custom_events(&mut qmp.borrow_mut());
        match model_to(&call, dest) {
            Expect::Print(line) => {
                prop_assert!(matches!(&reply, Ok(v) if *v == json!({})), "{shown}: {reply:?}");
                let data = match dest.id() {
                    Some(id) => json!({ "message": line, "chardev": id }),
                    None => json!({ "message": line }),
                };
                prop_assert!(
                    events.len() == 1 && events[0]["event"] == "HELLO_WORLD" && events[0]["data"] == data,
                    "{shown}: expected one HELLO_WORLD event with {data}, got {events:?}"
                );
                *last.borrow_mut() = Some(line.clone());
                let (written, other) = if dest == Dest::Ring { (&ring, &out) } else { (&out, &ring) };
                prop_assert!(
                    *written == format!("{line}\n").as_bytes() && other.is_empty(),
                    "{shown}: wrote {:?} to {dest:?}, {:?} elsewhere",
                    short(&String::from_utf8_lossy(written)),
                    short(&String::from_utf8_lossy(other))
                );
                printed.set(printed.get() + 1);
            }
            Expect::Refuse(needle) => {
                match &reply {
                    Err(ExecuteError::Qapi(e))
                        if e.class == ErrorClass::GenericError && e.desc.contains(&needle) => {}
                    other => {
                        return Err(TestCaseError::fail(format!(
                            "{shown}: expected an error with {needle:?}, got {other:?}"
                        )));
                    }
                }
                prop_assert!(
                    out.is_empty() && ring.is_empty(),
                    "{shown}: a refused call printed {:?}",
                    short(&String::from_utf8_lossy(&out))
                );
                prop_assert!(events.is_empty(), "{shown}: a refused call sent {} events", events.len());
                if needle.contains("control character") || needle.contains("not found") {
                    by_command.set(by_command.get() + 1);
                }
                refused.set(refused.get() + 1);
            }
        }
        prop_assert!(vm.borrow_mut().is_running(), "QEMU died after {shown}");
        Ok(())
    };
    let mut runner =
        TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
    let mut result = runner.run(&call(), check);
    if result.is_ok() {
        let config = Config { cases: BIG_CASES, failure_persistence: None, ..Config::default() };
        result = TestRunner::new(config).run(&big_call(), check);
    }
    let (printed, refused) = (printed.get(), refused.get());
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!("{} generated calls: {printed} printed, {refused} refused", printed + refused);
    let info = qmp.borrow_mut().execute(&QueryHelloWorld {}).unwrap();
    let expected = HelloWorldInfo {
        calls: i64::from(printed) + by_command.get(),
        printed: i64::from(printed),
        refused: by_command.get(),
        failed_writes: 0,
        last_message: last.borrow().clone(),
    };
    assert!(
        info == expected,
        "query-hello-world disagrees with the model: {:?} vs {:?}",
        short_info(&info),
        short_info(&expected)
    );
    eprintln!("query-hello-world agrees: {} calls, {} refused by the command", info.calls, info.refused);
    assert!(printed + refused >= cases() + BIG_CASES, "every case reached QEMU");
    assert!(printed > cases() / 10 && refused > cases() / 10, "both outcomes well covered");
}

/// `info` with a multi-MiB last message shortened, for failure messages.
fn short_info(info: &HelloWorldInfo) -> String {
    format!(
        "calls {} printed {} refused {} failed-writes {} last {:?}",
        info.calls,
        info.printed,
        info.refused,
        info.failed_writes,
        info.last_message.as_deref().map(short)
    )
}
