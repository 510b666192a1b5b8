// SPDX-License-Identifier: GPL-2.0-or-later
//! The schema reader is faithful: what a declaration says either reaches the generated
//! code or stops the build with a line naming the file, the entity and the member. Runs
//! the generator (`qemu_monitor_layer_gen::pipeline`, as build.rs does) over small schemas read by QEMU's own
//! QAPI front end from the tree of `QEMU_BUILD_DIR` (set by `cargo xtask test`); no QEMU
//! is built or booted. Also: a struct's base members arrive first, as in QEMU's C; HMP
//! args_type letters are read as `monitor/hmp.c` stores them; member names that are Rust
//! keywords or the handler's own locals are escaped.

use qemu_monitor_layer_gen::diagnostic::Part;
use qemu_monitor_layer_gen::hx::{self, HmpEntry};
use qemu_monitor_layer_gen::{model, pipeline};

use std::path::{Path, PathBuf};

fn src_dir() -> PathBuf {
    let build =
        PathBuf::from(std::env::var_os("QEMU_BUILD_DIR").expect("cargo xtask test sets QEMU_BUILD_DIR"));
    let mak = std::fs::read_to_string(build.join("config-host.mak")).expect("a configured build tree");
    PathBuf::from(mak.lines().find_map(|l| l.strip_prefix("SRC_PATH=")).expect("SRC_PATH=").trim())
}

/// Reads `schema` (one file) with QEMU's front end and generates the glue for it.
fn generate(schema: &str) -> Result<pipeline::Generated, String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("case.json");
    std::fs::write(&file, schema).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = model::describe(root, &src_dir(), &[file.display().to_string()])?;
    pipeline::generate(&schema, &[], dir.path()).map_err(|d| d.to_string())
}

const REFUSED: &str = "
##
# @Kind:
#
# @a: a
#
# @b: b
##
{ 'enum': 'Kind', 'data': [ 'a', { 'name': 'b', 'if': 'CONFIG_LINUX' } ] }

##
# @Parcel:
#
# @x: x
##
{ 'struct': 'Parcel', 'data': { 'x': 'int' } }

##
# @Choice:
#
# @kind: which
##
{ 'union': 'Choice', 'base': { 'kind': 'Kind' }, 'discriminator': 'kind',
  'data': { 'a': 'Parcel', 'b': 'Parcel' } }

##
# @Either:
#
# @b: a bool
#
# @o: an object
##
{ 'alternate': 'Either', 'data': { 'b': 'bool', 'o': 'Parcel' } }

##
# @c-boxed:
##
{ 'command': 'c-boxed', 'data': 'Parcel', 'boxed': true }

##
# @c-gen:
##
{ 'command': 'c-gen', 'gen': false }

##
# @c-silent:
##
{ 'command': 'c-silent', 'success-response': false }

##
# @c-oob:
##
{ 'command': 'c-oob', 'allow-oob': true }

##
# @c-coroutine:
##
{ 'command': 'c-coroutine', 'coroutine': true }

##
# @c-if:
##
{ 'command': 'c-if', 'if': 'CONFIG_POSIX' }

##
# @Cond:
#
# @m: m
##
{ 'struct': 'Cond', 'data': { 'm': { 'type': 'str', 'if': 'CONFIG_LINUX' } } }

##
# @E_BOXED:
##
{ 'event': 'E_BOXED', 'data': 'Parcel', 'boxed': true }
";

#[test]
fn what_the_layer_does_not_carry_out_is_refused_by_name() {
    let err = match generate(REFUSED) {
        Ok(_) => panic!("the schema was accepted"),
        Err(e) => e,
    };
    // The guest agent's 'success-response': false is the one construct left.
    let expected = ["command 'c-silent': 'success-response': false is not supported"];
    for line in expected {
        let found = err.lines().find(|l| l.contains(line));
        let found = found.unwrap_or_else(|| panic!("no refusal {line:?} in:\n{err}"));
        assert!(found.contains("case.json: "), "the refusal names no file: {found}");
    }
    assert_eq!(err.lines().count(), expected.len(), "unexpected refusals:\n{err}");
}

/// Everything else in that schema reaches the generated code: the union and the
/// alternate as Rust enums, the boxed command and event taking their type whole, the
/// 'gen': false handler taking QEMU's raw dictionary, the 'if' member under `#[cfg]`,
/// the out-of-band and coroutine commands' handlers.
#[test]
fn every_other_construct_is_carried() {
    let schema =
        REFUSED.replace("##\n# @c-silent:\n##\n{ 'command': 'c-silent', 'success-response': false }\n", "");
    assert_ne!(schema, REFUSED);
    let generated = generate(&schema).unwrap_or_else(|e| panic!("refused: {e}"));
    let g = generated.glue.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "pub enum ChoiceBranch { /// `a` A(qapi::Parcel), /// `b` #[cfg(qemu_config = \"CONFIG_LINUX\")] B(qapi::Parcel), }",
        "pub enum Either { /// `b` B(bool), /// `o` O(qapi::Parcel), }",
        "(*c).type_ = bindings::QType::QTYPE_QBOOL;",
        "pub unsafe extern \"C\" fn qmp_c_boxed( arg_arg: *mut bindings::Parcel, errp: *mut *mut bindings::Error, )",
        "pub unsafe extern \"C\" fn qmp_c_gen( args: *mut bindings::QDict, ret_data: *mut *mut bindings::QObject,",
        "const _: bindings::QmpCommandFunc = Some(qmp_c_gen);",
        "pub fn send_e_boxed(arg: qapi::Parcel) -> Result<(), CommandError> {",
        "#[cfg(qemu_config = \"CONFIG_LINUX\")] pub m: GString,",
        "pub unsafe extern \"C\" fn qmp_c_oob(",
        "pub unsafe extern \"C\" fn qmp_c_coroutine(",
    ] {
        assert!(g.contains(needle), "no {needle} in:\n{}", generated.glue);
    }
}

/// A type named like an item the generated `qapi` module uses (Rust's `Box`, the
/// layer's `Scope`) would shadow it there; the build refuses it by name instead.
#[test]
fn a_command_named_after_a_keyword_is_called_by_its_raw_name() {
    let g = generate(
        "##\n# @type:\n##\n{ 'command': 'type' }\n\n##\n# @loop:\n#\n# @match: m\n##\n\
         { 'command': 'loop', 'data': { 'match': 'str' } }\n",
    )
    .unwrap_or_else(|e| panic!("refused: {e}"));
    for expected in ["crate::commands::r#type::r#type()", "crate::commands::r#loop::r#loop(arg_match)"] {
        let flat = g.glue.split_whitespace().collect::<String>();
        assert!(flat.contains(&expected.replace(' ', "")), "{expected} not in:\n{}", g.glue);
    }
    for expected in ["pub mod r#type;", "pub mod r#loop;"] {
        assert!(g.modules.contains(expected), "{expected} not in:\n{}", g.modules);
    }
    let err = match generate("##\n# @self:\n##\n{ 'command': 'self' }\n") {
        Ok(_) => panic!("a command named self was accepted"),
        Err(e) => e,
    };
    assert!(
        err.contains("command 'self': a command named \"self\", which Rust cannot spell even raw"),
        "{err}"
    );
}

#[test]
fn a_member_named_errp_is_refused_before_bindgen() {
    let err = match generate(
        "
##
# @c-errp:
#
# @errp: e
#
# @x: x
##
{ 'command': 'c-errp', 'data': { 'errp': 'str', 'x': 'int' } }

##
# @c-errp-boxed:
##
{ 'command': 'c-errp-boxed', 'data': 'ErrpArgs', 'boxed': true }

##
# @ErrpArgs:
#
# @errp: e
##
{ 'struct': 'ErrpArgs', 'data': { 'errp': 'str' } }
",
    ) {
        Ok(_) => panic!("the schema was accepted"),
        Err(e) => e,
    };
    let expected = "case.json: command 'c-errp', member 'errp': QEMU's generated prototype \
                    qmp_c_errp(…, Error **errp) already has a parameter errp";
    assert!(err.lines().any(|l| l.contains(expected)), "no refusal {expected:?} in:\n{err}");
    // The boxed command carries it as a struct field: only the first is refused.
    assert_eq!(err.lines().count(), 1, "unexpected refusals:\n{err}");
}

#[test]
fn a_type_named_like_what_the_glue_uses_is_refused() {
    let err = match generate(
        "
##
# @Box:
#
# @x: x
##
{ 'struct': 'Box', 'data': { 'x': 'int' } }

##
# @Scope:
#
# @a: a
##
{ 'enum': 'Scope', 'data': [ 'a' ] }

##
# @c-taken:
#
# @b: b
#
# @s: s
##
{ 'command': 'c-taken', 'data': { 'b': 'Box', 's': 'Scope' } }
",
    ) {
        Ok(_) => panic!("the schema was accepted"),
        Err(e) => e,
    };
    let expected = [
        "case.json: type 'Box': its Rust name Box is Rust's Box, which the generated `qapi` module names",
        "case.json: enum 'Scope': its Rust name Scope is the layer's Scope, which the generated `qapi` module names",
    ];
    for line in expected {
        assert!(err.lines().any(|l| l.contains(line)), "no refusal {line:?} in:\n{err}");
    }
    assert_eq!(err.lines().count(), expected.len(), "unexpected refusals:\n{err}");
}

#[test]
fn base_members_come_first_and_keywords_are_escaped() {
    let generated = generate(
        "
##
# @Base:
#
# @type: a keyword
##
{ 'struct': 'Base', 'data': { 'type': 'str' } }

##
# @Derived:
#
# @args: a handler's local
##
{ 'struct': 'Derived', 'base': 'Base', 'data': { 'args': 'int' } }

##
# @c-locals:
#
# @type: t
#
# @mon: m
#
# @args: a
#
# @scope: s
#
# @call: c
##
{ 'command': 'c-locals', 'returns': 'Derived',
  'data': { 'type': 'str', '*mon': 'int', 'args': 'bool', 'scope': 'str', 'call': 'int' } }
",
    )
    .unwrap_or_else(|e| panic!("refused: {e}"));
    let g = &generated.glue;
    let derived = &g[g.find("pub struct Derived").expect("struct Derived")..];
    let derived = &derived[..derived.find("}\n").unwrap()];
    let (ty, args) =
        (derived.find("pub r#type: GString").expect("base member"), derived.find("pub args: i64").unwrap());
    assert!(ty < args, "the base's member comes first, as in C:\n{derived}");
    assert!(g.contains("(*c).type_ = self.r#type.into_raw();"), "bindgen's name for the C field:\n{g}");
    // The handler's parameters and locals: every member's is `arg_`/`flag_` prefixed.
    // (A member `errp` clashes in QEMU's C prototype instead, and is refused: below.)
    let handler = &g[g.find("pub unsafe extern \"C\" fn qmp_c_locals(").expect("the handler")..];
    let signature = handler[..handler.find('{').unwrap()].split_whitespace().collect::<Vec<_>>().join(" ");
    for p in [
        "arg_type: *const ::core::ffi::c_char",
        "flag_mon: bool, arg_mon: i64",
        "arg_args: bool",
        "arg_scope: *const",
        "arg_call: i64",
        "errp: *mut *mut bindings::Error",
    ] {
        assert!(signature.contains(p), "{p:?} not in {signature}");
    }
}

#[test]
fn a_name_rust_cannot_spell_is_refused() {
    let err = match generate(
        "##\n# @c-self:\n#\n# @self: s\n##\n{ 'command': 'c-self', 'data': { 'self': 'str' } }\n",
    ) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert!(
        err.contains("command 'c-self', member 'self': the name \"self\" cannot be a Rust identifier"),
        "{err}"
    );
}

fn hx_text(args_type: &str) -> String {
    format!(
        "    {{\n        .name       = \"k\",\n        .args_type  = \"{args_type}\",\n        \
         .params     = \"\",\n        .help       = \"k\",\n        .cmd        = hmp_k,\n    }},\n\nSRST\n``k``\n  K.\nERST\n"
    )
}

fn hx(args_type: &str) -> Result<HmpEntry, String> {
    hx::read("qapi/k.hx", &hx_text(args_type))
}

#[test]
fn hmp_args_type_letters_read_as_monitor_hmp_c_stores_them() {
    let entry = hx("a:s,b:S?,c:F,d:B?,e:i,f:l?,g:M,h:o?,t:T,u:T?,v:b,x:-x,y:-ys").unwrap();
    // The fields the series, the package and the tests read.
    assert_eq!(
        (entry.name.as_str(), entry.cmd.as_str(), entry.help.as_str(), entry.params.as_str()),
        ("k", "hmp_k", "k", "")
    );
    assert!(!entry.info && entry.module == "k", "{entry:?}");
    assert!(entry.table.starts_with("    {\n") && entry.table.ends_with("},"), "{:?}", entry.table);
    assert_eq!(entry.doc, "  K.\n");
    let got: Vec<String> =
        entry.args.iter().map(|a| format!("{}={:?}/{}", a.name, a.value, a.optional)).collect();
    assert_eq!(
        got,
        [
            "a=Str/false",
            "b=Str/true",
            "c=Str/false",
            "d=Str/true",
            "e=Int/false",
            "f=Int/true",
            "g=Int/false",
            "h=Int/true",
            "t=Number/false",
            "u=Number/true",
            "v=Bool/false",
            // A flag is false when not given; an option with a string is absent then.
            "x=Bool/false",
            "y=Str/true",
        ]
    );
    let two = hx::read("qapi/k.hx", &format!("{}{}", hx_text(""), hx_text("a:s").replace("\"k\"", "\"k2\"")));
    let err = two.expect_err("two entries in one file accepted");
    assert!(err.contains("qapi/k.hx: 2 HMP entries; a file holds one"), "{err}");
    for bad in ["o:O", "f:/", "n:i.", "w:b?", "z:-", "z:-xy", "q:q"] {
        let err = hx(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
        assert!(
            err.contains("qapi/k.hx: HMP entry \"k\": args_type") && err.contains("is not supported"),
            "{err}"
        );
    }
}

/// The generator goes on past what it refuses: two commands whose functions do not bind
/// to their members are both named in one build's report, each once, in schema order.
#[test]
fn every_refusal_is_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("case.json");
    let schema = "
##
# @c-one:
# @a: a
##
{ 'command': 'c-one', 'data': { 'a': 'str' } }

##
# @c-two:
# @b: b
##
{ 'command': 'c-two', 'data': { 'b': 'int' } }
";
    std::fs::write(&file, schema).unwrap();
    std::fs::write(dir.path().join("c_one.rs"), "pub fn c_one(x: &str) {}\n").unwrap();
    std::fs::write(dir.path().join("c_two.rs"), "pub fn c_two() {}\n").unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = model::describe(root, &src_dir(), &[file.display().to_string()]).unwrap();
    let err = match pipeline::generate(&schema, &[], dir.path()) {
        Ok(_) => panic!("both commands were accepted"),
        Err(e) => e,
    };
    // Each names its file, entity and part as data, and prints one line.
    let found: Vec<(&str, &str, Option<&Part>)> =
        err.iter().map(|d| (d.file.as_str(), d.entity.as_str(), d.part.as_ref())).collect();
    assert_eq!(
        found,
        [
            ("src/commands/c_one.rs", "fn c_one", Some(&Part::Parameter(1))),
            ("src/commands/c_two.rs", "fn c_two", None),
        ],
        "{err}"
    );
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("src/commands/c_one.rs: fn c_one, parameter 1: named `x`"), "{text}");
    assert!(lines[1].starts_with("src/commands/c_two.rs: fn c_two: takes 0 parameter(s)"), "{text}");
}

/// Doc comments reach the tests and the driver through the same front end as the types:
/// members' texts and examples, in the doc syntax of this release (7.2 has no
/// `.. qmp-example::`; the declarations are adapted and read back the same).
#[test]
fn doc_comments_are_read_by_the_front_end_in_every_release() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("documented.json");
    std::fs::write(
        &file,
        "##\n# @documented-thing:\n#\n# Does a thing.\n#\n# @text: the text,\n#        on two lines\n#\n\
         # Since: 7.2\n#\n# .. qmp-example::\n#\n#     -> { \"execute\": \"documented-thing\",\n\
         #          \"arguments\": { \"text\": \"x\" } }\n#     <- { \"return\": {} }\n#\n\
         # .. qmp-example::\n#\n#     -> { \"execute\": \"documented-thing\", \"arguments\": { \"text\": \"\" } }\n\
         #     <- { \"error\": { \"class\": \"GenericError\", \"desc\": \"empty\" } }\n##\n\
         { 'command': 'documented-thing', 'data': { 'text': 'str' } }\n",
    )
    .unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = model::describe(root, &src_dir(), &[file.display().to_string()]).unwrap();
    assert_eq!(schema.docs.len(), 1, "{:?}", schema.docs);
    let doc = &schema.docs[0];
    assert_eq!((doc.symbol.as_str(), doc.line), ("documented-thing", 1));
    assert_eq!(doc.members, [("text".to_string(), "the text, on two lines".to_string())]);
    assert_eq!(doc.examples.len(), 2, "{:?}", doc.examples);
    let first = model::example_messages(&doc.examples[0]).unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].0, model::Direction::Sent);
    assert_eq!(first[0].1["arguments"]["text"], "x");
    let second = model::example_messages(&doc.examples[1]).unwrap();
    assert_eq!(second[1].1["error"]["desc"], "empty");
}
