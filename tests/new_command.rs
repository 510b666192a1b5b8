// SPDX-License-Identifier: GPL-2.0-or-later
//! The README's path for adding a command, followed in a copy of the repository:
//! `cargo xtask new-command`, a member declared (an optional enum, with its HMP form), an
//! event carrying the enum, and a two-line body; the same steps for a query returning a
//! list of structs with enum members and list members, required and optional; `cargo
//! xtask patches`, `cargo xtask build`; then the new commands are called over QMP and HMP
//! in the QEMU that build produced, with and without the enum, and with a value the enum
//! lacks. A third command, `say-kinds`, and its HMP twin take an argument of each
//! args_type kind the layer reads (`s`, `i`, `T` as a double, `o`, `b`, a flag `-f`, an
//! option `-os`, `S`), named `type`, `mon` and `args` among others (a Rust keyword and
//! the handler's own names), called over HMP and QMP with the same values; a returned
//! struct has a member named `type`. Only the files the steps name may
//! change.
//!
//! Two more show real Rust in a command: `count-words` builds its reply with `String`,
//! `Vec` and `format!`, and `panic-on` (with its HMP twin) panics in each of four ways
//! (an index out of range, an `unwrap` on `None`, a `panic!`, a capacity overflow); each
//! panic is that call's error, with the place in the command's file, and QEMU answers the
//! next call. Then 1,000 calls of each under valgrind lose nothing, and `tests/c/panic.c`
//! calls the panicking handlers from C under ASan, UBSan and LeakSanitizer.
//!
//! Six more take and return the schema's other constructs (tests/common/schema_kinds.rs):
//! a list of structs holding lists, a flat union, an alternate, `any`, a boxed command,
//! an `'if'` member and an `allow-oob` command called with `exec-oob`, each reply checked
//! against the exact JSON and QEMU's own refusals too; their 1,000 rounds under valgrind
//! lose nothing either.
//!
//! `say-kinds`, `count-words` and `panic-on` are declared first; `cargo xtask
//! new-command` then writes each one's function from the declaration, and its signature
//! must be the one the body is written against (which the build proves right).
//!
//! It builds QEMU in the copy (ccache makes that a few minutes), so `cargo xtask test`
//! runs it once, for the default release (`--ignored`); run it by hand with
//! `cargo test --test new_command -- --ignored`.

#[path = "common/c_contract.rs"]
mod c_contract;
#[path = "common/schema_kinds.rs"]
mod schema_kinds;

use std::path::{Path, PathBuf};

use harness::commands::HumanMonitorCommand;
use harness::repo::{RepoCopy, stdout_of as run};
use harness::{Options, Qemu};
use serde::Serialize;
use serde_json::{Value, json};

const NAME: &str = "say-hello";
const QUERY: &str = "query-say-hello";
const LINE: &str = "Hello from a scaffolded command";
const LOUD: &str = "HELLO FROM A SCAFFOLDED COMMAND";

/// `say-kinds`: a member of each kind an HMP twin reads, named `type`, `mon` and
/// `args` among others (a Rust keyword and the HMP handler's own names).
const KINDS_JSON: &str = "##
# @say-kinds:
#
# Print each argument as the command received it.
#
# @flag: a flag
#
# @opt: an option's value
#
# @type: a string
#
# @mon: an integer
#
# @args: a number
#
# @on: a boolean
#
# @size: a size in bytes
#
# @rest: the rest of the line
#
# Since: 10.2
##
{ 'command': 'say-kinds',
  'data': { 'flag': 'bool', '*opt': 'str', 'type': 'str', 'mon': 'int', 'args': 'number',
            'on': 'bool', '*size': 'int', '*rest': 'str' } }
";

/// Its HMP twin: each args_type kind the layer reads.
const KINDS_HX: &str = "    {
        .name       = \"say-kinds\",
        .args_type  = \"flag:-f,opt:-os,type:s,mon:i,args:T,on:b,size:o?,rest:S?\",
        .params     = \"[-f] [-o value] type mon args on|off [size] [rest]\",
        .help       = \"print each argument as the command received it\",
        .cmd        = hmp_say_kinds,
    },

SRST
``say-kinds`` [-f] [-o *value*] *type* *mon* *args* on|off [*size*] [*rest*]
  Print each argument as the command received it.
ERST
";

/// Its function.
const KINDS_RS: &str = "use core::fmt::Write;

use qemu_monitor_layer::error_text::ErrorText;
use crate::prelude::*;

/// Prints each argument on QEMU's standard output, as received.
#[allow(clippy::too_many_arguments)]
pub fn say_kinds(
    bql: Bql<'_>,
    flag: bool,
    opt: Option<&str>,
    r#type: &str,
    mon: i64,
    args: f64,
    on: bool,
    size: Option<i64>,
    rest: Option<&str>,
) -> Result<(), CommandError> {
    let mut line = ErrorText::<1024>::new();
    let _ = write!(
        line,
        \"flag={flag} opt={opt:?} type={} mon={mon} args={args} on={on} size={size:?} rest={rest:?}\",
        r#type
    );
    print_line(bql, line.as_str()).map_err(CommandError::new)
}
";

/// `count-words`: real Rust in a command (`String`, `Vec`, `format!`, `to_uppercase`),
/// returning a struct with a list and structs inside it (one optional).
const WORDS_JSON: &str = include_str!("../docs/samples/count-words.json");

/// Its function: every value is built with `String`/`Vec` and handed to QEMU.
const WORDS_RS: &str = include_str!("../docs/samples/count_words.rs");

/// `query-vm-state`: the VM's run state (QEMU's own `RunState`, from its `run-state.json`)
/// and its vCPUs, the book's sample of reading the VM (docs/vm-state.md).
const VM_STATE_JSON: &str = include_str!("../docs/samples/query-vm-state.json");

/// Its function: two `vm::` accessors under the call's BQL token.
const VM_STATE_RS: &str = include_str!("../docs/samples/query_vm_state.rs");

/// `panic-on`: a command that panics in each of the four ways a command can by mistake,
/// with a long message, and in the two ways that end the process.
const PANIC_JSON: &str = "##
# @panic-on:
#
# Panic in the way @how names.
#
# @how: index, unwrap, explicit, capacity, long, drop or display
#
# Since: 10.2
##
{ 'command': 'panic-on', 'data': { 'how': 'str' } }
";

/// Its HMP twin.
const PANIC_HX: &str = "    {
        .name       = \"panic-on\",
        .args_type  = \"how:s\",
        .params     = \"how\",
        .help       = \"panic in the way how names\",
        .cmd        = hmp_panic_on,
    },

SRST
``panic-on`` *how*
  Panic in the way *how* names.
ERST
";

/// Its function: an index out of range, an `unwrap` on `None`, a `panic!` with a
/// formatted message, a capacity overflow, a message of 2,000 characters; and a panic in
/// a `Drop` while unwinding, and one in a `Display` while a panic's message is formatted.
const PANIC_RS: &str = "use crate::prelude::*;

/// A value whose `Drop` and `Display` panic.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!(\"dropped while unwinding\");
    }
}

impl std::fmt::Display for Bomb {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!(\"formatted\")
    }
}

/// Panics in the way `how` names.
pub fn panic_on(bql: Bql<'_>, how: &str) -> Result<(), CommandError> {
    let words: Vec<&str> = how.split('-').collect();
    match how {
        \"index\" => print_line(bql, words[words.len() + 6]).map_err(CommandError::new),
        \"unwrap\" => print_line(bql, how.strip_prefix('x').unwrap()).map_err(CommandError::new),
        \"explicit\" => panic!(\"asked to panic {} ({} letters)\", how, how.len()),
        \"capacity\" => {
            let v: Vec<u64> = Vec::with_capacity(usize::MAX - how.len());
            print_line(bql, &format!(\"{}\", v.capacity())).map_err(CommandError::new)
        }
        \"long\" => panic!(\"{}\", \"long \".repeat(400)),
        \"drop\" => {
            let _bomb = Bomb;
            panic!(\"first\")
        }
        \"display\" => panic!(\"{}\", Bomb),
        _ => Err(CommandError::new(format!(\"unknown way to panic: {how}\"))),
    }
}
";

/// SIGABRT on Linux: the signal Rust's abort ends a process with.
const SIGABRT: i32 = 6;

/// `count-words` over QMP.
#[derive(Serialize, Debug)]
struct CountWords {
    text: String,
}

impl harness::qapi::Command for CountWords {
    type Ok = Value;
    const NAME: &'static str = "count-words";
    const ALLOW_OOB: bool = false;
}

/// `panic-on` over QMP.
#[derive(Serialize, Debug)]
struct PanicOn {
    how: String,
}

impl harness::qapi::Command for PanicOn {
    type Ok = Value;
    const NAME: &'static str = "panic-on";
    const ALLOW_OOB: bool = false;
}

/// What a panic in `panic-on` answers: the command, the place in its file (`needle`'s
/// line there, any column) and the whole message. A panic the standard library raises
/// (a capacity overflow) is placed at the command's line too, with the library's place
/// after it in parentheses.
fn assert_panicked(desc: &str, needle: &str, message: &str) {
    let prefix = "command 'panic-on' panicked at ";
    let rest = desc.strip_prefix(prefix).unwrap_or_else(|| panic!("{desc:?} does not start with {prefix:?}"));
    let (place, said) = rest.split_once(": ").unwrap_or_else(|| panic!("no place in {desc:?}"));
    assert_eq!(said, message, "{desc:?}");
    let line = PANIC_RS.lines().position(|l| l.contains(needle)).expect("the needle is in PANIC_RS") + 1;
    let here = format!("src/commands/panic_on.rs:{line}");
    if let Some((ours, library)) = place.split_once(" (in ") {
        assert_eq!(ours, here, "{desc:?}");
        assert!(library.contains("library/alloc/") && library.ends_with(')'), "{desc:?}");
        return;
    }
    let (at, column) = place.rsplit_once(':').unwrap_or_else(|| panic!("no column in {desc:?}"));
    assert_eq!(at, here, "{desc:?}");
    assert!(column.parse::<u32>().is_ok(), "{desc:?}");
}

/// `say-kinds` over QMP.
#[derive(Serialize, Debug)]
struct SayKinds {
    flag: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    opt: Option<String>,
    r#type: String,
    mon: i64,
    args: f64,
    on: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rest: Option<String>,
}

impl harness::qapi::Command for SayKinds {
    type Ok = Value;
    const NAME: &'static str = "say-kinds";
    const ALLOW_OOB: bool = false;
}

/// `say-hello` with the optional enum member `style` the test declares.
#[derive(Serialize, Debug, Default)]
struct SayHello {
    #[serde(skip_serializing_if = "Option::is_none")]
    style: Option<String>,
}

impl harness::qapi::Command for SayHello {
    type Ok = Value;
    const NAME: &'static str = NAME;
    const ALLOW_OOB: bool = false;
}

/// Commands named after Rust keywords, as `new-command` scaffolds them (no arguments):
/// each is `crate::commands::r#<name>::r#<name>` in the generated glue.
const KEYWORD_COMMANDS: [&str; 3] = ["type", "match", "loop"];

schema_kinds::json_command!(TypeCommand, "type");
schema_kinds::json_command!(MatchCommand, "match");
schema_kinds::json_command!(LoopCommand, "loop");
schema_kinds::json_command!(QueryVmState, "query-vm-state");

/// The error each scaffolded keyword command answers with (its stub's).
fn stub_error<C: harness::qapi::Command<Ok = Value> + std::fmt::Debug>(
    qmp: &mut harness::Qmp,
    cmd: &C,
) -> String {
    match qmp.execute(cmd) {
        Err(harness::qapi::ExecuteError::Qapi(e)) => e.desc,
        other => panic!("{cmd:?}: {other:?}"),
    }
}

/// `query-say-hello`, which returns the struct the test declares.
#[derive(Serialize, Debug, Default)]
struct QuerySayHello {}

impl harness::qapi::Command for QuerySayHello {
    type Ok = Value;
    const NAME: &'static str = QUERY;
    const ALLOW_OOB: bool = false;
}

/// A function's signature without its whitespace (and a trailing comma): from `pub fn`
/// to the brace that opens its body.
fn signature_of(text: &str) -> String {
    let start = text.find("pub fn").unwrap_or_else(|| panic!("no `pub fn` in:\n{text}"));
    let end = start + text[start..].find('{').expect("a body");
    text[start..end].split_whitespace().collect::<String>().replace(",)", ")")
}

/// `cargo xtask new-command NAME` with `qapi/NAME.json` written already: the function
/// file it writes has the signature of `function` (which the build then proves right by
/// compiling it against the generated handler); then `function` replaces the stub.
fn function_from_declaration(copy: &RepoCopy, name: &str, function: &str) {
    run(copy.cargo().args(["xtask", "new-command", name]));
    let file = copy.path().join("src/commands").join(format!("{}.rs", name.replace('-', "_")));
    let written = std::fs::read_to_string(&file).unwrap();
    // The function may ask for the call's BQL token first, which new-command leaves out
    // (a command that needs none keeps the plain signature).
    let asked = signature_of(function).replace("(bql:Bql<'_>,", "(").replace("(bql:Bql<'_>)", "()");
    assert_eq!(signature_of(&written), asked, "the signature new-command wrote:\n{written}");
    assert!(written.contains(&format!("{name} is not implemented yet")), "{written}");
    std::fs::write(&file, function).unwrap();
}

#[test]
#[ignore = "builds QEMU in a copy of the repository; cargo xtask test runs it for the default release"]
fn a_scaffolded_command_builds_and_answers() {
    let copy = RepoCopy::of(Path::new(env!("CARGO_MANIFEST_DIR")));
    let version = std::env::var("QEMU_HELLO_SERIES").unwrap_or_else(|_| "10.2.2".into());

    // Step 1: the scaffold.
    run(copy.cargo().args(["xtask", "new-command", NAME, "--hmp"]));
    // Step 2: a one-line body.
    let file = copy.path().join("src/commands/say_hello.rs");
    let stub = std::fs::read_to_string(&file).unwrap();
    let stub_line = "    Err(CommandError::new(\"say-hello is not implemented yet\"))";
    assert!(stub.contains(stub_line), "the stub changed:\n{stub}");
    // Step 2: a member (an optional enum, so the layer's enum path is exercised end to
    // end), its HMP form, and a one-line body.
    let schema = copy.path().join("qapi/say-hello.json");
    let text = std::fs::read_to_string(&schema).unwrap();
    let text = text
        .replace(
            "{ 'command': 'say-hello' }",
            "{ 'command': 'say-hello', 'data': { '*style': 'SayHelloStyle' } }",
        )
        .replace(
            "# Describe what @say-hello does.\n#\n",
            "# Describe what @say-hello does.\n#\n# @style: how to say it\n#\n",
        );
    let enum_decl = "##\n# @SayHelloStyle:\n#\n# How @say-hello says it.\n#\n# @plain: as written\n#\n\
                     # @loud: in capitals\n#\n# Since: 10.2\n##\n{ 'enum': 'SayHelloStyle', 'data': [ 'plain', 'loud' ] }\n\n";
    let event_decl = "\n##\n# @SAID_HELLO:\n#\n# Emitted after @say-hello.\n#\n# @style: how it was said\n#\n\
                      # Since: 10.2\n##\n{ 'event': 'SAID_HELLO', 'data': { 'style': 'SayHelloStyle' } }\n";
    std::fs::write(&schema, format!("{enum_decl}{text}{event_decl}")).unwrap();
    let hx = copy.path().join("qapi/say-hello.hx");
    let entry = std::fs::read_to_string(&hx).unwrap();
    let entry = entry
        .replace(".args_type  = \"\",", ".args_type  = \"style:s?\",")
        .replace(".params     = \"\",", ".params     = \"[style]\",");
    std::fs::write(&hx, entry).unwrap();
    // The body prints, which takes the call's BQL token: the function asks for it first.
    let stub = stub
        .replace("pub fn say_hello()", "pub fn say_hello(bql: Bql<'_>, style: Option<qapi::SayHelloStyle>)");
    let body = format!(
        "    qapi::send_said_hello(style.unwrap_or(qapi::SayHelloStyle::Plain))?;\n    \
         print_line(bql, if style == Some(qapi::SayHelloStyle::Loud) {{ {LOUD:?} }} else {{ {LINE:?} }}).map_err(CommandError::new)"
    );
    std::fs::write(&file, stub.replace(stub_line, &body)).unwrap();
    // Steps 1 and 2 for a command with a member of each kind and its HMP twin, the
    // declaration first: new-command then writes the function with the exact signature
    // the generator expects, the one the body below is written against.
    std::fs::write(copy.path().join("qapi/say-kinds.json"), KINDS_JSON).unwrap();
    std::fs::write(copy.path().join("qapi/say-kinds.hx"), KINDS_HX).unwrap();
    function_from_declaration(&copy, "say-kinds", KINDS_RS);
    // Steps 1 and 2 again for a query returning a list of structs whose members are an
    // enum, an optional enum, a list of strings and an optional list of enums: the layer
    // builds them all in glib memory, and QEMU's qapi_free_SayHelloInfoList frees them.
    run(copy.cargo().args(["xtask", "new-command", QUERY]));
    let schema = copy.path().join("qapi/query-say-hello.json");
    let text = std::fs::read_to_string(&schema).unwrap().replace(
        "{ 'command': 'query-say-hello' }",
        "{ 'command': 'query-say-hello', 'returns': ['SayHelloInfo'] }",
    );
    let struct_decl = "##\n# @SayHelloInfo:\n#\n# How @say-hello speaks.\n#\n# @style: its usual style\n#\n\
                       # @loudest: its loudest style, if it has one\n#\n# @words: what it says\n#\n\
                       # @styles: the styles it knows, if it tells\n#\n# @type: a Rust keyword\n#\n# Since: 10.2\n##\n\
                       { 'struct': 'SayHelloInfo', 'data': { 'style': 'SayHelloStyle', '*loudest': 'SayHelloStyle', \
                       'words': ['str'], '*styles': ['SayHelloStyle'], 'type': 'str' } }\n\n";
    std::fs::write(&schema, format!("{struct_decl}{text}")).unwrap();
    let query_file = copy.path().join("src/commands/query_say_hello.rs");
    let query_stub = std::fs::read_to_string(&query_file).unwrap();
    let query_stub_line = "    Err(CommandError::new(\"query-say-hello is not implemented yet\"))";
    assert!(query_stub.contains(query_stub_line), "the stub changed:\n{query_stub}");
    let query_body = "    Ok([\
        qapi::SayHelloInfo { style: qapi::SayHelloStyle::Plain, loudest: Some(qapi::SayHelloStyle::Loud), \
        words: [GString::new(\"hello\"), GString::new(\"world\")].into_iter().collect(), styles: None, \
        r#type: GString::new(\"greeting\") }, \
        qapi::SayHelloInfo { style: qapi::SayHelloStyle::Loud, loudest: None, words: qapi::strList::new(), \
        styles: Some(qapi::SayHelloStyle::ALL.into_iter().collect()), r#type: GString::new(\"\") }].into_iter().collect())";
    let query_stub = query_stub.replace(
        "pub fn query_say_hello() -> Result<(), CommandError>",
        "pub fn query_say_hello() -> Result<qapi::SayHelloInfoList, CommandError>",
    );
    std::fs::write(&query_file, query_stub.replace(query_stub_line, query_body)).unwrap();
    // Steps 1 and 2 for real Rust in a command, and for its four kinds of panic.
    std::fs::write(copy.path().join("qapi/count-words.json"), WORDS_JSON).unwrap();
    function_from_declaration(&copy, "count-words", WORDS_RS);
    std::fs::write(copy.path().join("qapi/query-vm-state.json"), VM_STATE_JSON).unwrap();
    function_from_declaration(&copy, "query-vm-state", VM_STATE_RS);
    std::fs::write(copy.path().join("qapi/panic-on.json"), PANIC_JSON).unwrap();
    std::fs::write(copy.path().join("qapi/panic-on.hx"), PANIC_HX).unwrap();
    function_from_declaration(&copy, "panic-on", PANIC_RS);
    // Steps 1 and 2 for the schema's other constructs: a list of structs as an argument,
    // a union, an alternate, `any`, a boxed command, an 'if' member, an allow-oob command
    // (tests/common/schema_kinds.rs), each function written by new-command.
    for (name, declaration, function) in schema_kinds::COMMANDS {
        std::fs::write(copy.path().join(format!("qapi/{name}.json")), declaration).unwrap();
        function_from_declaration(&copy, name, function);
    }
    // Commands named after Rust keywords, scaffolded as any other (`match` with its HMP
    // twin): the stub's `fn r#type`, its module, the checker and the handler.
    for name in KEYWORD_COMMANDS {
        let mut args = vec!["xtask", "new-command", name];
        if name == "match" {
            args.push("--hmp");
        }
        run(copy.cargo().args(&args));
        let c = std::fs::read_to_string(copy.path().join(format!("src/commands/{name}.rs"))).unwrap();
        assert!(c.contains(&format!("pub fn r#{name}()")), "{c}");
    }
    // Step 3: the series, and the build.
    run(copy.cargo().args(["xtask", "patches", "--qemu", &version]));
    let built = run(copy.cargo().args(["xtask", "build", "--qemu", &version]));
    let binary = PathBuf::from(built.lines().last().expect("build prints the binary's path"));
    assert!(binary.starts_with(copy.path()), "{} is not the copy's build", binary.display());

    let mut vm = Qemu::start(&binary, &Options { extra_qmp: 1, ..Options::default() }).expect("QEMU starts");
    let mut qmp = vm.qmp().expect("handshake");
    schema_kinds::check(&mut qmp);
    schema_kinds::check_nothing_lost(&mut qmp);
    schema_kinds::check_out_of_band(&vm);
    assert_eq!(stub_error(&mut qmp, &TypeCommand(json!({}))), "type is not implemented yet");
    assert_eq!(stub_error(&mut qmp, &MatchCommand(json!({}))), "match is not implemented yet");
    assert_eq!(stub_error(&mut qmp, &LoopCommand(json!({}))), "loop is not implemented yet");
    let hmp_match = qmp.execute(&HumanMonitorCommand { command_line: "match".into() }).expect("HMP match");
    assert_eq!(hmp_match, "Error: match is not implemented yet\r\n");
    assert_eq!(qmp.execute(&SayHello::default()).expect("say-hello succeeds"), json!({}));
    let loud = SayHello { style: Some("loud".into()) };
    assert_eq!(qmp.execute(&loud).expect("say-hello loud succeeds"), json!({}));
    match qmp.execute(&SayHello { style: Some("shout".into()) }) {
        Err(harness::qapi::ExecuteError::Qapi(e)) => {
            assert_eq!(e.desc, "Parameter 'style' does not accept value 'shout'")
        }
        other => panic!("an unknown enum value: {other:?}"),
    }
    assert_eq!(
        qmp.execute(&QuerySayHello {}).expect("query-say-hello succeeds"),
        json!([
            { "style": "plain", "loudest": "loud", "words": ["hello", "world"], "type": "greeting" },
            { "style": "loud", "words": [], "styles": ["plain", "loud"], "type": "" }
        ])
    );
    // The event carries the enum member, by name.
    let styles: Vec<Value> =
        harness::custom_events(&mut qmp).iter().map(|e| e["data"]["style"].clone()).collect();
    assert_eq!(styles, [json!("plain"), json!("loud")], "SAID_HELLO events");
    let mut hmp = |line: &str| qmp.execute(&HumanMonitorCommand { command_line: line.into() }).expect("HMP");
    assert_eq!(hmp(NAME), "");
    assert_eq!(hmp(&format!("{NAME} loud")), "");
    assert_eq!(hmp(&format!("{NAME} shout")), "Error: Parameter 'style' does not accept value 'shout'\r\n");
    assert_eq!(hmp(&format!("help {NAME}")), format!("{NAME} [style] -- describe {NAME} in one line\r\n"));
    // Each args_type kind as monitor/hmp.c stores it, as QMP passes the same values;
    // absent optional ones, and a flag not given.
    let full = "flag=true opt=Some(\"value\") type=text mon=42 args=1.5 on=true size=Some(2097152) \
                rest=Some(\"the rest of the line\")";
    let bare = "flag=false opt=None type=text mon=7 args=0.25 on=false size=None rest=None";
    assert_eq!(hmp("say-kinds -f -o value text 42 1.5 on 2M the rest of the line"), "");
    assert_eq!(hmp("say-kinds text 7 250ms off"), "");
    assert_eq!(
        hmp("say-kinds text 1 x on"),
        "Number expected\r\nTry \"help say-kinds\" for more information\r\n"
    );
    // `i` takes what fits 32 bits unsigned (monitor/hmp.c), so -1 is refused before the
    // command runs.
    assert_eq!(
        hmp("say-kinds text -1 1 on"),
        "'say-kinds' has failed: integer is for 32-bit values\r\nTry \"help say-kinds\" for more information\r\n"
    );
    let kinds = SayKinds {
        flag: true,
        opt: Some("value".into()),
        r#type: "text".into(),
        mon: 42,
        args: 1.5,
        on: true,
        size: Some(2 << 20),
        rest: Some("the rest of the line".into()),
    };
    assert_eq!(qmp.execute(&kinds).expect("say-kinds succeeds"), json!({}));
    let kinds =
        SayKinds { flag: false, opt: None, mon: 7, args: 0.25, on: false, size: None, rest: None, ..kinds };
    assert_eq!(qmp.execute(&kinds).expect("say-kinds succeeds"), json!({}));
    assert_eq!(vm.stdout(), format!("{LINE}\n{LOUD}\n{LINE}\n{LOUD}\n{full}\n{bare}\n{full}\n{bare}\n"));

    // Real Rust: the reply built with String, Vec, format! and to_uppercase.
    let words = |qmp: &mut harness::Qmp, text: &str| {
        qmp.execute(&CountWords { text: text.into() }).expect("count-words succeeds")
    };
    assert_eq!(
        words(&mut qmp, "Grüße aus der  Straße"),
        json!({ "count": 4, "longest": "STRASSE", "words": ["Grüße", "aus", "der", "Straße"],
                "summary": "4 words, the longest has 7 letters",
                "last": { "word": "Straße", "letters": 6 }, "first": { "word": "Grüße", "letters": 5 } })
    );
    assert_eq!(
        words(&mut qmp, ""),
        json!({ "count": 0, "longest": "", "words": [], "summary": "0 words, the longest has 0 letters",
                "last": { "word": "", "letters": 0 } })
    );
    // The book's sample of reading the VM answers what QEMU's own queries say (on this
    // `-M none` machine: no vCPU).
    let state = qmp.execute(&QueryVmState(json!({}))).expect("query-vm-state succeeds");
    let status = qmp.execute(&harness::commands::QueryStatus::default()).expect("query-status");
    let cpus = qmp.execute(&harness::commands::QueryCpusFast::default()).expect("query-cpus-fast");
    let vcpus = cpus.as_array().expect("a list of vCPUs").len();
    assert_eq!(state, json!({ "status": status["status"], "vcpus": vcpus }), "query-vm-state");
    {
        // And on a paused two-vCPU pc VM.
        let opts = Options {
            machine: harness::Machine::TcgPc,
            args: ["-smp", "2", "-S"].map(String::from).to_vec(),
            ..Options::default()
        };
        let pc = Qemu::start(&binary, &opts).expect("a pc VM starts");
        let mut q = pc.qmp().expect("handshake");
        let state = q.execute(&QueryVmState(json!({}))).expect("query-vm-state succeeds");
        assert_eq!(state, json!({ "status": "prelaunch", "vcpus": 2 }), "query-vm-state on a paused pc VM");
    }
    // Each kind of panic ends that call only, with the error; QEMU stays up and the next
    // call works.
    let long = "long ".repeat(400);
    for (how, needle, message) in [
        ("index", "words[words.len()", "index out of bounds: the len is 1 but the index is 7"),
        ("unwrap", ".unwrap()", "called `Option::unwrap()` on a `None` value"),
        ("explicit", "asked to panic {}", "asked to panic explicit (8 letters)"),
        ("capacity", "Vec::with_capacity(", "capacity overflow"),
        ("long", "\"long\" =>", long.as_str()),
    ] {
        match qmp.execute(&PanicOn { how: how.into() }) {
            Err(harness::qapi::ExecuteError::Qapi(e)) => {
                assert_eq!(e.class, harness::qapi::ErrorClass::GenericError, "{how}");
                assert_panicked(&e.desc, needle, message);
            }
            other => panic!("panic-on {how}: {other:?}"),
        }
        assert!(vm.is_running(), "QEMU ended after panic-on {how}");
        assert_eq!(
            words(&mut qmp, "still here"),
            json!({ "count": 2, "longest": "STILL", "words": ["still", "here"],
                    "summary": "2 words, the longest has 5 letters",
                    "last": { "word": "here", "letters": 4 }, "first": { "word": "still", "letters": 5 } })
        );
    }
    match qmp.execute(&PanicOn { how: "gently".into() }) {
        Err(harness::qapi::ExecuteError::Qapi(e)) => assert_eq!(e.desc, "unknown way to panic: gently"),
        other => panic!("panic-on gently: {other:?}"),
    }
    let mut hmp = |line: &str| qmp.execute(&HumanMonitorCommand { command_line: line.into() }).expect("HMP");
    let out = hmp("panic-on explicit");
    let desc =
        out.strip_prefix("Error: ").and_then(|o| o.strip_suffix("\r\n")).unwrap_or_else(|| panic!("{out:?}"));
    assert_panicked(desc, "asked to panic {}", "asked to panic explicit (8 letters)");
    assert_eq!(hmp("hello-world after the panics"), "");
    assert!(vm.stdout().ends_with(&format!("{bare}\nafter the panics\n")), "{}", vm.stdout());
    assert!(vm.is_running());
    drop(vm);

    // The two panics Rust cannot unwind from end QEMU (SIGABRT), as the README says, each
    // with its lines on standard error.
    for (how, lines) in [
        (
            "drop",
            &[
                "a command panicked at src/commands/panic_on.rs:",
                ": first, and panicked again while unwinding from it:",
                "dropped while unwinding",
                "thread caused non-unwinding panic. aborting.",
            ][..],
        ),
        ("display", &["panicked while processing panic. aborting."][..]),
    ] {
        use std::os::unix::process::ExitStatusExt;
        let mut vm = Qemu::start(&binary, &Options::default()).expect("QEMU starts");
        let mut qmp = vm.qmp().expect("handshake");
        let reply = qmp.execute(&PanicOn { how: how.into() });
        assert!(reply.is_err(), "panic-on {how} answered: {reply:?}");
        let status = vm.wait_exit(std::time::Duration::from_secs(30)).expect("QEMU ends");
        assert_eq!(status.signal(), Some(SIGABRT), "panic-on {how}: {status:?}\n{}", vm.stderr());
        let stderr = vm.stderr();
        for line in lines {
            assert!(stderr.contains(line), "panic-on {how}: no {line:?} in QEMU's stderr:\n{stderr}");
        }
    }

    // Under valgrind: 1,000 allocating calls and 1,000 panicking ones lose nothing.
    let memcheck = harness::memcheck::Memcheck::new();
    let mut vm =
        Qemu::start(&binary, &memcheck.options(Options::default())).expect("QEMU starts under valgrind");
    let mut qmp = vm.qmp().expect("handshake");
    let ways = ["index", "unwrap", "explicit", "capacity"];
    for i in 0..1_000 {
        let text = format!("call {i} of a thousand, Straße {}", "x".repeat(i % 50 + 1));
        let reply = qmp.execute(&CountWords { text }).expect("count-words under valgrind");
        assert_eq!(reply["count"], json!(7));
        assert_eq!(reply["last"]["letters"], json!(i % 50 + 1), "the nested struct under valgrind");
        let how = ways[i % ways.len()];
        assert!(qmp.execute(&PanicOn { how: how.into() }).is_err(), "panic-on {how} under valgrind");
        schema_kinds::round(&mut qmp, i);
    }
    let _ = qmp.execute(&harness::qapi::qmp::quit {});
    let status = vm.wait_exit(std::time::Duration::from_secs(300)).expect("QEMU exits after quit");
    assert!(status.success(), "QEMU exited with {status} under valgrind:\n{}", vm.stderr());
    let ours = [&["count_words", "panic_on", "qemu_monitor_layer", "qemu_hello_rs"], schema_kinds::FUNCTIONS]
        .concat();
    memcheck.check(&ours, "8,000 calls");

    // The C contract of the panicking handlers, under ASan, UBSan and LeakSanitizer.
    let tree = binary.ancestors().nth(3).expect("<tree>/install/bin/qemu-system-x86_64");
    let staticlib = tree.join("cargo/release/libqemu_hello_rs.a");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/panic.c");
    let run = c_contract::build_and_run(&tree.join("build"), &staticlib, &program, &[], true);
    eprintln!(
        "tests/c/panic.c: {} checks passed in {:.1} ms",
        String::from_utf8_lossy(&run.output.stderr).matches("\nok: ").count() + 1,
        run.took.as_secs_f64() * 1e3
    );

    let mut changed = copy.changed_files();
    changed.retain(|p| !p.starts_with(format!("qemu-patches/{version}/")));
    changed.sort();
    let mut expected: Vec<PathBuf> = [
        "qapi/count-words.json",
        "qapi/panic-on.hx",
        "qapi/panic-on.json",
        "qapi/query-vm-state.json",
        "qapi/query-say-hello.json",
        "qapi/say-hello.hx",
        "qapi/say-hello.json",
        "qapi/say-kinds.hx",
        "qapi/say-kinds.json",
        "src/commands/count_words.rs",
        "src/commands/query_vm_state.rs",
        "src/commands/panic_on.rs",
        "src/commands/query_say_hello.rs",
        "src/commands/say_hello.rs",
        "src/commands/say_kinds.rs",
        "tests/transcripts/query-say-hello.txt",
        "tests/transcripts/say-hello.txt",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    expected.extend(schema_kinds::files().into_iter().map(PathBuf::from));
    for name in KEYWORD_COMMANDS {
        expected.extend(
            [
                format!("qapi/{name}.json"),
                format!("src/commands/{name}.rs"),
                format!("tests/transcripts/{name}.txt"),
            ]
            .map(PathBuf::from),
        );
    }
    expected.push(PathBuf::from("qapi/match.hx"));
    expected.sort();
    assert_eq!(changed, expected, "the steps changed files they do not name");
}
