// SPDX-License-Identifier: GPL-2.0-or-later
//! The schema's other constructs at run time, declared and written by the README's steps
//! in the copy `tests/new_command.rs` builds (its QEMU build serves both):
//!
//! - `describe-shapes` takes a list of structs holding a list of structs and an
//!   optional list of strings, and returns a struct with an `'if'` member that exists on
//!   Linux and one that exists on Windows only;
//! - `draw` takes a flat union and returns one (`qapi::borrowed::PenBranch`,
//!   `qapi::PenBranch`), a branch without members among them;
//! - `pick` takes an alternate (a string, a list of numbers, a struct or null) and
//!   returns a struct holding one;
//! - `echo-any` takes `any` and returns it twice in a struct, once as it came and once
//!   transformed;
//! - `move-point` is `'boxed'`: it takes its struct whole, the struct it returns;
//! - `ping-oob` is `'allow-oob'`, called with `execute` and `exec-oob`;
//! - `keep-whole` returns, or sends as the event `KEPT`, a value that cannot reach a
//!   client unchanged (a NUL byte in a string made each way, in an `any`, in a list's
//!   string or a key; NaN or infinity in a number or an `any`; a NUL in an error's
//!   text), as its argument says: each is refused with an error naming the command (or
//!   event) and the member, nothing is sent cut or malformed, and QEMU answers on.
//!
//! Each reply is checked against the exact JSON, and QEMU's own refusals (a discriminator
//! value the enum lacks, a missing branch member, an alternate of the wrong type, a
//! missing member in a list's struct) before any of our code runs.

use harness::Qmp;
use serde::Serialize;
use serde_json::{Value, json};

/// A command of this module over QMP: its arguments as JSON.
macro_rules! json_command {
    ($t:ident, $name:literal) => {
        #[derive(Serialize, Debug)]
        #[serde(transparent)]
        pub struct $t(pub Value);

        impl harness::qapi::Command for $t {
            type Ok = Value;
            const NAME: &'static str = $name;
            const ALLOW_OOB: bool = false;
        }
    };
}

pub(crate) use json_command;

json_command!(DescribeShapes, "describe-shapes");
json_command!(Draw, "draw");
json_command!(Pick, "pick");
json_command!(EchoAny, "echo-any");
json_command!(MovePoint, "move-point");
json_command!(KeepWhole, "keep-whole");

/// `ping-oob`, which may run out of band.
#[derive(Serialize, Debug)]
pub struct PingOob {}

impl harness::qapi::Command for PingOob {
    type Ok = Value;
    const NAME: &'static str = "ping-oob";
    const ALLOW_OOB: bool = true;
}

/// Each declaration (`qapi/<command>.json`) with the function the command runs
/// (`src/commands/<command>.rs`), in the order they are declared.
pub const COMMANDS: &[(&str, &str, &str)] = &[
    ("describe-shapes", SHAPES_JSON, SHAPES_RS),
    ("draw", DRAW_JSON, DRAW_RS),
    ("pick", PICK_JSON, PICK_RS),
    ("echo-any", ANY_JSON, ANY_RS),
    ("move-point", MOVE_JSON, MOVE_RS),
    ("ping-oob", PING_JSON, PING_RS),
    ("keep-whole", KEEP_JSON, KEEP_RS),
];

const SHAPES_JSON: &str = "##
# @ShapePoint:
#
# A point.
#
# @x: across
#
# @y: down
#
# Since: 10.2
##
{ 'struct': 'ShapePoint', 'data': { 'x': 'int', 'y': 'int' } }

##
# @Shape:
#
# A named shape.
#
# @name: its name
#
# @corners: its corners
#
# @tags: its tags, if it has any
#
# Since: 10.2
##
{ 'struct': 'Shape', 'data': { 'name': 'str', 'corners': ['ShapePoint'], '*tags': ['str'] } }

##
# @ShapesSummary:
#
# What @describe-shapes saw.
#
# @count: how many shapes
#
# @corners: how many corners in all
#
# @names: each shape's name and how many tags it has
#
# @last: the last corner of the last shape that has one
#
# @platform: where QEMU was built for Linux: linux
#
# @elsewhere: where QEMU was built for Windows: windows
#
# Since: 10.2
##
{ 'struct': 'ShapesSummary',
  'data': { 'count': 'int', 'corners': 'int', 'names': ['str'], '*last': 'ShapePoint',
            '*platform': { 'type': 'str', 'if': 'CONFIG_LINUX' },
            '*elsewhere': { 'type': 'str', 'if': 'CONFIG_WIN32' } } }

##
# @describe-shapes:
#
# Count the corners of @shapes.
#
# @shapes: the shapes
#
# Since: 10.2
##
{ 'command': 'describe-shapes', 'data': { 'shapes': ['Shape'] }, 'returns': 'ShapesSummary' }
";

const SHAPES_RS: &str = "use crate::prelude::*;

/// Counts the shapes' corners and names them, with how many tags each has.
pub fn describe_shapes(shapes: Vec<qapi::borrowed::Shape<'_>>) -> Result<qapi::ShapesSummary, CommandError> {
    let corners: usize = shapes.iter().map(|s| s.corners.len()).sum();
    let last = shapes.iter().rev().find_map(|s| s.corners.last()).map(|p| qapi::ShapePoint { x: p.x, y: p.y });
    let tags = |s: &qapi::borrowed::Shape<'_>| {
        s.tags.as_ref().map_or(\"no tags\".to_string(), |t| format!(\"{} tags\", t.len()))
    };
    let names = shapes.iter().map(|s| format!(\"{} ({})\", s.name, tags(s)));
    Ok(qapi::ShapesSummary {
        count: shapes.len() as i64,
        corners: corners as i64,
        names: names.map(GString::from).collect(),
        last,
        #[cfg(qemu_config = \"CONFIG_LINUX\")]
        platform: Some(GString::new(\"linux\")),
        #[cfg(qemu_config = \"CONFIG_WIN32\")]
        elsewhere: Some(GString::new(\"windows\")),
    })
}
";

const DRAW_JSON: &str = "##
# @PenKind:
#
# A pen's kind.
#
# @solid: a solid line
#
# @dashed: a dashed line
#
# @none: no line at all
#
# Since: 10.2
##
{ 'enum': 'PenKind', 'data': [ 'solid', 'dashed', 'none' ] }

##
# @PenSolid:
#
# A solid pen.
#
# @color: its colour
#
# Since: 10.2
##
{ 'struct': 'PenSolid', 'data': { 'color': 'str' } }

##
# @PenDashed:
#
# A dashed pen.
#
# @dash: how long a dash is
#
# @gap: how long a gap is
#
# Since: 10.2
##
{ 'struct': 'PenDashed', 'data': { 'dash': 'int', 'gap': 'int' } }

##
# @Pen:
#
# A pen.
#
# @kind: its kind
#
# @width: its width
#
# Since: 10.2
##
{ 'union': 'Pen',
  'base': { 'kind': 'PenKind', 'width': 'int' },
  'discriminator': 'kind',
  'data': { 'solid': 'PenSolid', 'dashed': 'PenDashed' } }

##
# @draw:
#
# Draw with @pen.  Returns the pen twice as wide, a solid pen's
# colour in capitals, a dashed pen's dash and gap swapped.
#
# @pen: the pen
#
# Since: 10.2
##
{ 'command': 'draw', 'data': { 'pen': 'Pen' }, 'returns': 'Pen' }
";

const DRAW_RS: &str = "use crate::prelude::*;

/// The pen twice as wide: a solid one's colour in capitals, a dashed one's dash and gap
/// swapped.
pub fn draw(pen: qapi::borrowed::Pen<'_>) -> Result<qapi::Pen, CommandError> {
    let u = match pen.u {
        qapi::borrowed::PenBranch::Solid(s) => {
            qapi::PenBranch::Solid(qapi::PenSolid { color: s.color.to_uppercase().into() })
        }
        qapi::borrowed::PenBranch::Dashed(d) => qapi::PenBranch::Dashed(qapi::PenDashed { dash: d.gap, gap: d.dash }),
        qapi::borrowed::PenBranch::None => qapi::PenBranch::None,
    };
    let width = pen.width.checked_mul(2).ok_or_else(|| CommandError::new(\"the pen is too wide to double\"))?;
    Ok(qapi::Pen { width, u })
}
";

const PICK_JSON: &str = "##
# @PickChoice:
#
# A name, numbers, a point or nothing.
#
# @name: a name
#
# @numbers: numbers
#
# @point: a point
#
# @nothing: nothing
#
# Since: 10.2
##
{ 'alternate': 'PickChoice',
  'data': { 'name': 'str', 'numbers': ['int'], 'point': 'ShapePoint', 'nothing': 'null' } }

##
# @Picked:
#
# What @pick picked.
#
# @choice: the name in capitals, numbers doubled, point mirrored
#
# @what: which of them it was
#
# Since: 10.2
##
{ 'struct': 'Picked', 'data': { 'choice': 'PickChoice', 'what': 'str' } }

##
# @pick:
#
# Pick @choice.
#
# @choice: a name, numbers, a point or nothing
#
# Since: 10.2
##
{ 'command': 'pick', 'data': { 'choice': 'PickChoice' }, 'returns': 'Picked' }
";

const PICK_RS: &str = "use crate::prelude::*;

/// A name in capitals, numbers doubled, a point mirrored, nothing as it is, and which it
/// was.
pub fn pick(choice: qapi::borrowed::PickChoice<'_>) -> Result<qapi::Picked, CommandError> {
    let (choice, what) = match choice {
        qapi::borrowed::PickChoice::Name(n) => (qapi::PickChoice::Name(n.to_uppercase().into()), \"name\"),
        qapi::borrowed::PickChoice::Numbers(ns) => {
            let too_large = || CommandError::new(\"a number is too large to double\");
            let doubled = ns.iter().map(|n| n.checked_mul(2).ok_or_else(too_large)).collect::<Result<Vec<i64>, _>>()?;
            (qapi::PickChoice::Numbers(doubled.into_iter().collect()), \"numbers\")
        }
        qapi::borrowed::PickChoice::Point(p) => (qapi::PickChoice::Point(qapi::ShapePoint { x: p.y, y: p.x }), \"point\"),
        qapi::borrowed::PickChoice::Nothing => (qapi::PickChoice::Nothing, \"nothing\"),
    };
    Ok(qapi::Picked { choice, what: GString::new(what) })
}
";

const ANY_JSON: &str = "##
# @EchoedAny:
#
# What @echo-any received.
#
# @value: strings in capitals, numbers negated, booleans flipped
#
# @original: the value as it came
#
# Since: 10.2
##
{ 'struct': 'EchoedAny', 'data': { 'value': 'any', '*original': 'any' } }

##
# @echo-any:
#
# Echo @value.
#
# @value: any JSON value
#
# Since: 10.2
##
{ 'command': 'echo-any', 'data': { 'value': 'any' }, 'returns': 'EchoedAny' }
";

const ANY_RS: &str = "use crate::prelude::*;

/// Strings in capitals, numbers negated, booleans flipped, all the way down.
fn transform(v: &Any) -> Any {
    match v {
        Any::Null => Any::Null,
        Any::Bool(b) => Any::Bool(!b),
        Any::Int(i) => Any::Int(i.wrapping_neg()),
        Any::Uint(u) => Any::Uint(*u),
        Any::Number(n) => Any::Number(-n),
        Any::Str(s) => Any::Str(s.to_uppercase()),
        Any::List(l) => Any::List(l.iter().map(transform).collect()),
        Any::Dict(d) => Any::Dict(d.iter().map(|(k, v)| (k.clone(), transform(v))).collect()),
    }
}

/// The value transformed, and as it came.
pub fn echo_any(value: Any) -> Result<qapi::EchoedAny, CommandError> {
    Ok(qapi::EchoedAny { value: transform(&value), original: Some(value) })
}
";

const MOVE_JSON: &str = "##
# @move-point:
#
# Move a point one step right and one step down.
#
# Since: 10.2
##
{ 'command': 'move-point', 'data': 'ShapePoint', 'boxed': true, 'returns': 'ShapePoint' }
";

const MOVE_RS: &str = "use crate::prelude::*;

/// The point one step right and one step down.
pub fn move_point(arg: qapi::borrowed::ShapePoint<'_>) -> Result<qapi::ShapePoint, CommandError> {
    let step = |v: i64| v.checked_add(1).ok_or_else(|| CommandError::new(\"the point is at the edge\"));
    Ok(qapi::ShapePoint { x: step(arg.x)?, y: step(arg.y)? })
}
";

const PING_JSON: &str = "##
# @PingCount:
#
# How many times @ping-oob was called.
#
# @count: the calls so far, this one included
#
# Since: 10.2
##
{ 'struct': 'PingCount', 'data': { 'count': 'int' } }

##
# @ping-oob:
#
# Count the calls, out of band if asked.
#
# Since: 10.2
##
{ 'command': 'ping-oob', 'returns': 'PingCount', 'allow-oob': true }
";

const PING_RS: &str = "use crate::prelude::*;
use std::sync::atomic::{AtomicI64, Ordering};

/// The calls so far: an atomic, since QEMU may run the command in the monitor's I/O
/// thread while the main loop runs another.
static CALLS: AtomicI64 = AtomicI64::new(0);

/// The calls so far, this one included.
pub fn ping_oob() -> Result<qapi::PingCount, CommandError> {
    Ok(qapi::PingCount { count: CALLS.fetch_add(1, Ordering::Relaxed) + 1 })
}
";

const KEEP_JSON: &str = "##
# @Kept:
#
# What @keep-whole returns.
#
# @text: a text
#
# @ratio: a number
#
# @extra: any value
#
# @names: some names
#
# Since: 10.2
##
{ 'struct': 'Kept', 'data': { 'text': 'str', 'ratio': 'number', '*extra': 'any', 'names': ['str'] } }

##
# @KEPT:
#
# Sent by @keep-whole when @how begins with \"event\".
#
# @text: a text
#
# @ratio: a number
#
# Since: 10.2
##
{ 'event': 'KEPT', 'data': { 'text': 'str', 'ratio': 'number' } }

##
# @keep-whole:
#
# Return or send a value a client cannot read whole, as @how says.
#
# @how: which value
#
# Since: 10.2
##
{ 'command': 'keep-whole', 'data': { 'how': 'str' }, 'returns': 'Kept' }
";

const KEEP_RS: &str = "use crate::prelude::*;
use std::collections::BTreeMap;

/// A reply (or an event) holding the value `how` names; `fine` for one that crosses.
pub fn keep_whole(how: &str) -> Result<qapi::Kept, CommandError> {
    let mut kept = qapi::Kept {
        text: GString::new(\"plain\"),
        ratio: 0.5,
        extra: Some(Any::Str(\"fine\".to_string())),
        names: [\"a\", \"b\"].map(GString::new).into_iter().collect(),
    };
    match how {
        \"fine\" => {}
        \"gstr\" => kept.text = GString::new(\"c\\0d\"),
        \"string\" => kept.text = GString::from(String::from(\"a\\0b\")),
        \"any\" => kept.extra = Some(Any::Str(\"e\\0f\".to_string())),
        \"key\" => kept.extra = Some(Any::Dict(BTreeMap::from([(\"k\\0\".to_string(), Any::Null)]))),
        \"list\" => kept.names.push(GString::new(\"x\\0y\")),
        \"nan\" => kept.ratio = f64::NAN,
        \"inf\" => {
            let deep = Any::List(vec![Any::Int(1), Any::Number(f64::INFINITY)]);
            kept.extra = Some(Any::Dict(BTreeMap::from([(\"k\".to_string(), deep)])));
        }
        \"error\" => return Err(CommandError::new(\"before\\0after\")),
        \"event\" => qapi::send_kept(\"sent\", 1.5)?,
        \"event-nul\" => qapi::send_kept(\"c\\0d\", 1.5)?,
        \"event-nan\" => qapi::send_kept(\"sent\", -f64::INFINITY)?,
        _ => return Err(CommandError::new(format!(\"no such value: {how}\"))),
    }
    Ok(kept)
}
";

/// QEMU's refusal of a call, as QMP's `desc`.
fn refusal<C: harness::qapi::Command<Ok = Value> + std::fmt::Debug>(qmp: &mut Qmp, c: &C) -> String {
    match qmp.execute(c) {
        Err(harness::qapi::ExecuteError::Qapi(e)) => e.desc,
        other => panic!("{c:?} was not refused: {other:?}"),
    }
}

/// Every command answers with exactly the JSON its function builds; QEMU refuses what
/// does not fit the schema.
pub fn check(qmp: &mut Qmp) {
    let square = json!({ "name": "square", "corners": [{ "x": 0, "y": 0 }, { "x": 1, "y": 0 },
                         { "x": 1, "y": 1 }, { "x": 0, "y": 1 }], "tags": ["even", "Grüße"] });
    // An empty optional list reads as absent on every release: QEMU since 8.0 passes it
    // as NULL without a flag; 7.2 sets the flag, and the layer reads its NULL alike.
    let line = json!({ "name": "line", "corners": [{ "x": 2, "y": 2 }, { "x": 3, "y": 3 }], "tags": [] });
    let reply =
        qmp.execute(&DescribeShapes(json!({ "shapes": [square, line, { "name": "dot", "corners": [] }] })));
    assert_eq!(
        reply.expect("describe-shapes"),
        json!({ "count": 3, "corners": 6, "names": ["square (2 tags)", "line (no tags)", "dot (no tags)"],
                "last": { "x": 3, "y": 3 }, "platform": "linux" })
    );
    let reply = qmp.execute(&DescribeShapes(json!({ "shapes": [] })));
    assert_eq!(
        reply.expect("describe-shapes"),
        json!({ "count": 0, "corners": 0, "names": [], "platform": "linux" })
    );
    let desc = refusal(qmp, &DescribeShapes(json!({ "shapes": [{ "name": "x" }] })));
    assert_eq!(desc, "Parameter 'shapes[0].corners' is missing");

    let pens = [
        (
            json!({ "kind": "solid", "width": 2, "color": "red" }),
            json!({ "kind": "solid", "width": 4, "color": "RED" }),
        ),
        (
            json!({ "kind": "dashed", "width": 1, "dash": 3, "gap": 1 }),
            json!({ "kind": "dashed", "width": 2, "dash": 1, "gap": 3 }),
        ),
        (json!({ "kind": "none", "width": 0 }), json!({ "kind": "none", "width": 0 })),
    ];
    for (pen, drawn) in pens {
        assert_eq!(qmp.execute(&Draw(json!({ "pen": pen }))).expect("draw"), drawn, "{pen}");
    }
    let desc = refusal(qmp, &Draw(json!({ "pen": { "kind": "dotted", "width": 1 } })));
    assert_eq!(desc, "Parameter 'kind' does not accept value 'dotted'");
    let desc = refusal(qmp, &Draw(json!({ "pen": { "kind": "solid", "width": 1 } })));
    assert_eq!(desc, "Parameter 'pen.color' is missing");
    let desc = refusal(qmp, &Draw(json!({ "pen": { "kind": "none", "width": i64::MAX } })));
    assert_eq!(desc, "the pen is too wide to double");

    let picks = [
        (json!("straße"), json!({ "choice": "STRASSE", "what": "name" })),
        (json!([21, -1]), json!({ "choice": [42, -2], "what": "numbers" })),
        (json!([]), json!({ "choice": [], "what": "numbers" })),
        (json!({ "x": 1, "y": 2 }), json!({ "choice": { "x": 2, "y": 1 }, "what": "point" })),
        (json!(null), json!({ "choice": null, "what": "nothing" })),
    ];
    for (choice, picked) in picks {
        assert_eq!(qmp.execute(&Pick(json!({ "choice": choice }))).expect("pick"), picked, "{choice}");
    }
    let desc = refusal(qmp, &Pick(json!({ "choice": true })));
    assert_eq!(desc, "Invalid parameter type for 'choice', expected: PickChoice");
    let desc = refusal(qmp, &Pick(json!({ "choice": [i64::MAX] })));
    assert_eq!(desc, "a number is too large to double");

    let value = json!({ "a": [1, "x", null, true, 2.5, { "b": -3 }], "big": u64::MAX, "empty": {} });
    assert_eq!(
        qmp.execute(&EchoAny(json!({ "value": value }))).expect("echo-any"),
        json!({ "value": { "a": [-1, "X", null, false, -2.5, { "b": 3 }], "big": u64::MAX, "empty": {} },
                "original": value })
    );
    assert_eq!(
        qmp.execute(&EchoAny(json!({ "value": "é" }))).expect("echo-any"),
        json!({ "value": "É", "original": "é" })
    );

    assert_eq!(
        qmp.execute(&MovePoint(json!({ "x": 1, "y": -1 }))).expect("move-point"),
        json!({ "x": 2, "y": 0 })
    );
    let desc = refusal(qmp, &MovePoint(json!({ "x": 1 })));
    assert_eq!(desc, "Parameter 'y' is missing");
    let desc = refusal(qmp, &MovePoint(json!({ "x": i64::MAX, "y": 0 })));
    assert_eq!(desc, "the point is at the edge");
}

/// `keep-whole`: every value that cannot reach a client unchanged is refused, naming
/// the command (or event) and the member; nothing is sent cut or malformed (an event
/// refused is not sent at all); an error's NUL is written out; QEMU answers on.
pub fn check_nothing_lost(qmp: &mut Qmp) {
    let keep = |how: &str| KeepWhole(json!({ "how": how }));
    let fine = json!({ "text": "plain", "ratio": 0.5, "extra": "fine", "names": ["a", "b"] });
    assert_eq!(qmp.execute(&keep("fine")).expect("keep-whole fine"), fine);
    let nul = "holds a NUL byte (at byte 1), where QEMU's C strings end; nothing was sent";
    for (how, expected) in [
        ("gstr", format!("member 'text' {nul}")),
        ("string", format!("member 'text' {nul}")),
        ("any", format!("member 'extra' {nul}")),
        ("list", format!("member 'names[2]' {nul}")),
        ("key", "member 'extra.k\\0' has a NUL byte in its name (at byte 1), where QEMU's C strings end; nothing was sent".into()),
        ("nan", "member 'ratio' is NaN, which JSON cannot write; nothing was sent".into()),
        ("inf", "member 'extra.k[1]' is inf, which JSON cannot write; nothing was sent".into()),
    ] {
        assert_eq!(refusal(qmp, &keep(how)), format!("command 'keep-whole' cannot reply: {expected}"), "{how}");
    }
    assert_eq!(refusal(qmp, &keep("error")), "before\\0after");
    let _earlier = harness::custom_events(qmp);
    assert_eq!(qmp.execute(&keep("event")).expect("keep-whole event"), fine);
    let events = harness::custom_events(qmp);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (&events[0]["event"], &events[0]["data"]),
        (&json!("KEPT"), &json!({ "text": "sent", "ratio": 1.5 }))
    );
    assert_eq!(
        refusal(qmp, &keep("event-nul")),
        "event 'KEPT' not sent: member 'text' holds a NUL byte (at byte 1), where QEMU's C strings end"
    );
    assert_eq!(
        refusal(qmp, &keep("event-nan")),
        "event 'KEPT' not sent: member 'ratio' is -inf, which JSON cannot write"
    );
    assert!(qmp.execute(&keep("fine")).is_ok(), "QEMU answers after the refusals");
    assert!(harness::custom_events(qmp).is_empty(), "a refused event was sent");
}

/// `ping-oob` with `execute` and `exec-oob` on a monitor with the `oob` capability: the
/// count goes on across both.
pub fn check_out_of_band(vm: &harness::Qemu) {
    let mut qmp = vm.qmp_oob(1).expect("a QMP client with oob");
    let first = qmp.execute(&PingOob {}).expect("ping-oob")["count"].as_i64().expect("a count");
    for i in 1..=10 {
        let reply =
            harness::execute_oob(&mut qmp, PingOob {}, &format!("oob-{i}")).expect("exec-oob ping-oob");
        assert_eq!(reply, json!({ "count": first + i }));
    }
}

/// One round of calls of every command (`i` varies the arguments), each checked; for
/// the 1,000 rounds under valgrind.
pub fn round(qmp: &mut Qmp, i: usize) {
    let n = i as i64;
    let shapes = json!({ "shapes": [{ "name": format!("shape {i}"), "corners": [{ "x": n, "y": 1 }],
                                      "tags": ["a", "b"] }] });
    let reply = qmp.execute(&DescribeShapes(shapes)).expect("describe-shapes");
    assert_eq!(reply["last"], json!({ "x": n, "y": 1 }));
    assert_eq!(reply["names"], json!([format!("shape {i} (2 tags)")]));
    let pen = match i % 3 {
        0 => json!({ "kind": "solid", "width": n, "color": format!("c{i}") }),
        1 => json!({ "kind": "dashed", "width": n, "dash": n, "gap": 1 }),
        _ => json!({ "kind": "none", "width": n }),
    };
    assert_eq!(qmp.execute(&Draw(json!({ "pen": pen }))).expect("draw")["width"], json!(2 * n));
    assert!(qmp.execute(&Draw(json!({ "pen": { "kind": "solid", "width": 1 } }))).is_err());
    let choice = match i % 4 {
        0 => json!(format!("name {i}")),
        1 => json!([n, 1]),
        2 => json!({ "x": n, "y": 0 }),
        _ => json!(null),
    };
    let what = ["name", "numbers", "point", "nothing"][i % 4];
    assert_eq!(qmp.execute(&Pick(json!({ "choice": choice }))).expect("pick")["what"], json!(what));
    let value = json!({ "i": n, "s": format!("v{i}"), "l": [n, { "d": [null, true] }] });
    let reply = qmp.execute(&EchoAny(json!({ "value": value }))).expect("echo-any");
    assert_eq!(reply["original"], value);
    assert_eq!(
        qmp.execute(&MovePoint(json!({ "x": n, "y": n }))).expect("move-point"),
        json!({ "x": n + 1, "y": n + 1 })
    );
    assert!(qmp.execute(&PingOob {}).expect("ping-oob")["count"].as_i64().is_some());
}

/// The files the steps write.
pub fn files() -> Vec<String> {
    COMMANDS
        .iter()
        .flat_map(|(name, _, _)| {
            [format!("qapi/{name}.json"), format!("src/commands/{}.rs", name.replace('-', "_"))]
        })
        .collect()
}

/// The functions' names, as valgrind's frames show them.
pub const FUNCTIONS: &[&str] =
    &["describe_shapes", "draw", "pick", "echo_any", "move_point", "ping_oob", "keep_whole"];
