// SPDX-License-Identifier: GPL-2.0-or-later
//! The code a command crate's build.rs generates from its declarations in `qapi/`: for each command, the
//! `extern "C"` handler QEMU calls, which converts the arguments, calls the author's safe
//! function and reports its result; for HMP entries, the handler the dispatcher calls;
//! Rust forms of the schema's structs and a sender per event. Each handler is followed
//! by the compile-time proof that it has exactly bindgen's type for the C prototype.
//!
//! The generated text is kept plain so that a compile error in it reads well: each
//! argument sits on its own line with the command and member it comes from.

use std::fmt::Write;

use serde::Deserialize;

use crate::emit;
pub use crate::hx::{HmpArg, HmpEntry};

/// What `scripts/qapi-describe.py` reports (QEMU's own QAPI front end).
#[derive(Deserialize, Debug, Clone)]
pub struct Schema {
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub structs: Vec<Struct>,
    pub alternates: Vec<Alternate>,
    pub enums: Vec<Enum>,
}

/// A condition (`'if'`) as written in the schema, or null.
type IfCond = Option<serde_json::Value>;

#[derive(Deserialize, Debug, Clone)]
pub struct Command {
    pub name: String,
    pub c_name: String,
    pub file: String,
    /// Whether it comes from one of QEMU's own modules (which a crate's schema
    /// includes), not from the crate's declarations.
    #[serde(default)]
    pub qemu: bool,
    pub args: Vec<Member>,
    /// The type a `'boxed'` command takes whole (`args` are its members).
    #[serde(default)]
    pub arg_type: Option<String>,
    pub ret: Option<String>,
    /// The element type when `ret` is a list.
    #[serde(default)]
    pub ret_element: Option<String>,
    /// `'gen': false`: QEMU generates no marshaller (the handler takes the raw QDict).
    pub r#gen: bool,
    /// `'success-response': false` (the guest agent's).
    pub success_response: bool,
    pub boxed: bool,
    pub allow_oob: bool,
    pub coroutine: bool,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Event {
    pub name: String,
    pub c_name: String,
    pub file: String,
    /// Whether it comes from one of QEMU's own modules (which a crate's schema
    /// includes), not from the crate's declarations.
    #[serde(default)]
    pub qemu: bool,
    pub args: Vec<Member>,
    pub boxed: bool,
    /// The type a `'boxed'` event carries whole (`args` are its members).
    #[serde(default)]
    pub arg_type: Option<String>,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Struct {
    pub name: String,
    pub c_name: String,
    pub file: String,
    /// Whether it comes from one of QEMU's own modules (which a crate's schema
    /// includes), not from the crate's declarations.
    #[serde(default)]
    pub qemu: bool,
    /// QEMU's flat member list: the base's members first, as the C struct has them.
    pub members: Vec<Member>,
    pub base: Option<String>,
    /// A union's branches (by discriminator value); null for a plain struct.
    pub branches: Option<Vec<String>>,
    /// A union's discriminator: the C name of one of `members`, an enum.
    #[serde(default)]
    pub tag: Option<String>,
    /// A union's branches, one per value of the discriminator.
    #[serde(default)]
    pub variants: Option<Vec<Variant>>,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

/// One branch of a union: the discriminator's value, and the struct QEMU's C embeds in
/// the union `u` under `c_name` (none for a branch without members).
#[derive(Deserialize, Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub c_name: String,
    #[serde(rename = "type")]
    pub ty: Option<String>,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Alternate {
    pub name: String,
    #[serde(default)]
    pub c_name: String,
    pub file: String,
    #[serde(rename = "if", default)]
    pub ifcond: IfCond,
    #[serde(default)]
    pub alternatives: Vec<Alternative>,
    /// Whether it comes from one of QEMU's own modules (which a crate's schema
    /// includes), not from the crate's declarations.
    #[serde(default)]
    pub qemu: bool,
}

/// One alternative of an alternate: its type (`"null"` for JSON null), the QType its C
/// `type` holds for it, and its field of the C union `u`.
#[derive(Deserialize, Debug, Clone)]
pub struct Alternative {
    pub name: String,
    pub c_name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub element: Option<String>,
    pub qtype: String,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Enum {
    pub name: String,
    pub c_name: String,
    pub file: String,
    /// Whether it comes from one of QEMU's own modules (which a crate's schema
    /// includes), not from the crate's declarations.
    #[serde(default)]
    pub qemu: bool,
    /// The C name of its `__MAX` constant.
    pub max: String,
    pub values: Vec<EnumValue>,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct EnumValue {
    pub name: String,
    /// The C name of its constant.
    pub c_const: String,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Member {
    pub name: String,
    pub c_name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub optional: bool,
    /// Whether this release's C passes a `bool has_<member>` flag.
    pub has: bool,
    /// The element type when the member is a list.
    #[serde(default)]
    pub element: Option<String>,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

/// How a value crosses the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Scalar(&'static str),
    /// A QAPI enum, by its C name: a C enum, a Rust enum generated in `qapi`.
    Enum(&'static str),
    /// A QAPI struct, by its C name: a pointer in C; as an argument a
    /// `qapi::borrowed::` struct, as an event member the owned `qapi::` struct.
    Struct(&'static str),
    /// A QAPI list, by its C name, and its element's kind: a pointer in C; as an
    /// argument a `Vec` of the elements, as an event member the owned `qapi::` list.
    List(&'static str, &'static Kind),
    /// QAPI's `any`: the layer's `Any`, a QObject in C.
    Any,
    /// A QAPI alternate, by its C name, and whether its received form borrows (has a
    /// lifetime): a pointer in C; as an argument a `qapi::borrowed::` enum, as an event
    /// member the owned `qapi::` enum.
    Alternate(&'static str, bool),
}

/// A name the generator's kinds keep (the build script runs once; the name lives as
/// long as it does).
fn keep(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

/// The Rust (and bindgen) type of a QAPI built-in scalar.
fn scalar(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "int" | "int64" => "i64",
        "int8" => "i8",
        "int16" => "i16",
        "int32" => "i32",
        "uint8" => "u8",
        "uint16" => "u16",
        "uint32" => "u32",
        "uint64" | "size" => "u64",
        "number" => "f64",
        "bool" => "bool",
        _ => return None,
    })
}

fn kind(ty: &str, enums: &[Enum]) -> Option<Kind> {
    if ty == "str" {
        return Some(Kind::Str);
    }
    if ty == "any" {
        return Some(Kind::Any);
    }
    if let Some(e) = enums.iter().find(|e| e.name == ty) {
        return Some(Kind::Enum(keep(&e.c_name)));
    }
    scalar(ty).map(Kind::Scalar)
}

/// The kind of a member a command takes or an event carries: a value, a struct (not a
/// union), or a list of either.
fn param_kind(m: &Member, schema: &Schema) -> Option<Kind> {
    type_kind(&m.ty, m.element.as_deref(), schema, 0)
}

/// The kind of type `ty` (a list of `element` when that is given); `depth` bounds the
/// walk through alternates inside lists inside alternates.
fn type_kind(ty: &str, element: Option<&str>, schema: &Schema, depth: usize) -> Option<Kind> {
    let single = |ty: &str| {
        kind(ty, &schema.enums)
            .or_else(|| {
                let s = schema.structs.iter().find(|s| s.name == ty)?;
                Some(Kind::Struct(keep(&s.c_name)))
            })
            .or_else(|| {
                let a = schema.alternates.iter().find(|a| a.name == ty)?;
                Some(Kind::Alternate(keep(&a.c_name), alternate_borrows(a, schema, depth + 1)))
            })
    };
    match element {
        Some(e) => Some(Kind::List(keep(ty), Box::leak(Box::new(single(e)?)))),
        None => single(ty),
    }
}

/// Whether alternate `a` as a command receives it borrows from QEMU's argument (has a
/// lifetime): one of its alternatives is a string, a struct, or a list of either.
fn alternate_borrows(a: &Alternate, schema: &Schema, depth: usize) -> bool {
    if depth > 8 {
        return true;
    }
    a.alternatives
        .iter()
        .filter(|v| v.ty != "null")
        .filter_map(|v| type_kind(&v.ty, v.element.as_deref(), schema, depth))
        .any(emit::borrows)
}

/// What a command's or an event's C function takes: its members, or for a `'boxed'` one
/// the whole type as one member named `arg` (QEMU's parameter name).
pub fn call_members(boxed: bool, arg_type: &Option<String>, args: &[Member]) -> Vec<Member> {
    match (boxed, arg_type) {
        (true, Some(t)) => vec![Member {
            name: "arg".to_string(),
            c_name: "arg".to_string(),
            ty: t.clone(),
            optional: false,
            has: false,
            element: None,
            ifcond: None,
            features: Vec::new(),
        }],
        _ => args.to_vec(),
    }
}

/// What a command's function takes: [`call_members`], or for a `'gen': false` command
/// (whose handler QEMU calls with the raw arguments) one member `args` of type `any`.
pub fn command_members(c: &Command) -> Vec<Member> {
    if c.r#gen {
        return call_members(c.boxed, &c.arg_type, &c.args);
    }
    vec![Member {
        name: "args".to_string(),
        c_name: "args".to_string(),
        ty: "any".to_string(),
        optional: false,
        has: false,
        element: None,
        ifcond: None,
        features: Vec::new(),
    }]
}

/// The types a command's arguments name (a boxed command's type among them).
pub fn argument_roots(c: &Command) -> Vec<&str> {
    let mut roots = member_types(&c.args);
    roots.extend(c.arg_type.as_deref());
    roots
}

/// The types a command's return value names.
pub fn return_roots(c: &Command) -> Vec<&str> {
    c.ret.iter().chain(&c.ret_element).map(String::as_str).collect()
}

/// The types an event's members name (a boxed event's type among them).
pub fn event_roots(e: &Event) -> Vec<&str> {
    let mut roots = member_types(&e.args);
    roots.extend(e.arg_type.as_deref());
    roots
}

/// Which types a schema's commands receive (`inputs`: borrowed for the call) and which
/// its commands return or its events carry (`outputs`: built in glib memory), by name.
struct Directions {
    inputs: std::collections::BTreeSet<String>,
    outputs: std::collections::BTreeSet<String>,
}

impl Directions {
    fn of(schema: &Schema) -> Directions {
        let names = |roots: Vec<&str>| reached_names(schema, &roots);
        let inputs = names(schema.commands.iter().flat_map(argument_roots).collect());
        let mut out_roots: Vec<&str> = schema.commands.iter().flat_map(return_roots).collect();
        out_roots.extend(schema.events.iter().flat_map(event_roots));
        Directions { inputs, outputs: names(out_roots) }
    }

    /// Whether the type named `ty` is built for QEMU: returned or sent, or used nowhere
    /// (a declared struct keeps its owned form).
    fn built(&self, ty: &str) -> bool {
        self.outputs.contains(ty) || !self.inputs.contains(ty)
    }

    fn received(&self, ty: &str) -> bool {
        self.inputs.contains(ty)
    }
}

/// An element of a list the layer builds for QEMU: a value of a kind, or a schema struct
/// (by its C name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    Value(Kind),
    Struct(String),
}

/// A QAPI list type (`['Foo']`, C `FooList`) the layer builds (a command's return value,
/// an event's or a returned struct's member) or reads (an argument, or a member of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub c_name: String,
    pub elem: Elem,
    /// Built for QEMU: `qapi::<List>` and its `ListNode`.
    pub built: bool,
    /// Received from QEMU: its `ListRead`.
    pub received: bool,
}

impl List {
    /// The list of `element`s called `ty`; `None` when the layer cannot build such elements.
    fn new(ty: &str, element: &str, schema: &Schema) -> Option<List> {
        let elem = match type_kind(element, None, schema, 0)? {
            Kind::Struct(c) => Elem::Struct(c.to_string()),
            k => Elem::Value(k),
        };
        Some(List { c_name: ty.to_string(), elem, built: false, received: false })
    }
}

/// The lists the layer builds or reads: every list-typed struct member, command
/// argument, command return and event member.
fn lists(schema: &Schema) -> Result<Vec<List>, String> {
    let directions = Directions::of(schema);
    let mut out: Vec<List> = Vec::new();
    let mut add =
        |ty: &str, element: &str, place: String, built: bool, received: bool| -> Result<(), String> {
            let list = List::new(ty, element, schema).ok_or_else(|| {
                format!(
                    "{place}: a list of {element:?} is not supported by the command layer yet \
                 (lists of str, bool, int and its sized forms, number, an enum or a struct of qapi/)"
                )
            })?;
            match out.iter_mut().find(|l| l.c_name == list.c_name) {
                Some(l) => {
                    l.built |= built;
                    l.received |= received;
                }
                None => out.push(List { built, received, ..list }),
            }
            Ok(())
        };
    for s in &schema.structs {
        for m in &s.members {
            if let Some(e) = &m.element {
                let place = format!("{}: struct '{}', member '{}'", s.file, s.name, m.name);
                add(&m.ty, e, place, directions.built(&s.name), directions.received(&s.name))?;
            }
        }
    }
    for a in &schema.alternates {
        for v in &a.alternatives {
            if let Some(e) = &v.element {
                let place = format!("{}: alternate '{}', alternative '{}'", a.file, a.name, v.name);
                add(&v.ty, e, place, directions.built(&a.name), directions.received(&a.name))?;
            }
        }
    }
    for c in &schema.commands {
        if let (Some(t), Some(e)) = (&c.ret, &c.ret_element) {
            add(t, e, format!("{}: command '{}', return value", c.file, c.name), true, false)?;
        }
        for m in c.args.iter().filter(|_| !c.boxed) {
            if let Some(e) = &m.element {
                let place = format!("{}: command '{}', member '{}'", c.file, c.name, m.name);
                add(&m.ty, e, place, false, true)?;
            }
        }
    }
    for ev in schema.events.iter().filter(|e| !e.boxed) {
        for m in &ev.args {
            if let Some(e) = &m.element {
                add(&m.ty, e, format!("{}: event '{}', member '{}'", ev.file, ev.name, m.name), true, false)?;
            }
        }
    }
    Ok(out)
}

/// Rust's keywords (strict and reserved, edition 2024): a member with such a C name is a
/// raw identifier in Rust (`r#type`).
pub(crate) const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// The Rust identifier of a member whose C name is `c_name`: the name itself, raw when it
/// is a keyword. The four keywords that cannot be raw are refused.
pub fn rust_ident(c_name: &str) -> Result<String, String> {
    if emit::NEVER_RAW.contains(&c_name) {
        return Err(format!("the name {c_name:?} cannot be a Rust identifier, even a raw one"));
    }
    Ok(if RUST_KEYWORDS.contains(&c_name) { format!("r#{c_name}") } else { c_name.to_string() })
}

/// The name bindgen gives a C field called `c_name`: bindgen appends `_` to these
/// (`rust_mangle` in bindgen 0.72's ir/context.rs).
pub(crate) fn bindgen_field(c_name: &str) -> String {
    const MANGLED: &[&str] = &[
        "abstract", "alignof", "as", "async", "await", "become", "box", "break", "const", "continue",
        "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
        "in", "let", "loop", "macro", "match", "mod", "move", "mut", "offsetof", "override", "priv", "proc",
        "pub", "pure", "ref", "return", "Self", "self", "sizeof", "static", "struct", "super", "trait",
        "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
        "str", "bool", "f32", "f64", "usize", "isize", "u128", "i128", "u64", "i64", "u32", "i32", "u16",
        "i16", "u8", "i8", "_",
    ];
    if MANGLED.contains(&c_name) { format!("{c_name}_") } else { c_name.to_string() }
}

/// An HMP argument's name as a Rust identifier part: `-` becomes `_`.
fn hmp_c_name(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

/// A Rust enum variant's name for a QAPI enum value: `failed-writes` -> `FailedWrites`.
fn variant_name(value: &str) -> String {
    let mut out = String::new();
    for part in value.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) || out.is_empty() {
        out.insert(0, 'V');
    }
    out
}

/// This crate's `scripts/qapi-describe.py`, which reads a schema with QEMU's own front end.
pub fn describe_script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/qapi-describe.py")
}

/// The schema files (paths relative to `root`, the command crate) as the QAPI front end
/// of the QEMU source tree `src_dir` reads them, through [`describe_script`].
pub fn describe(
    root: &std::path::Path,
    src_dir: &std::path::Path,
    files: &[String],
) -> Result<Schema, String> {
    let script = describe_script();
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg(src_dir)
        .args(files)
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run python3 {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "QEMU's QAPI front end ({}) refused the declarations:\n{}",
            src_dir.join("scripts/qapi").display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let whole: Schema = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("scripts/qapi-describe.py: bad output: {e}"))?;
    Ok(if files == ["--qemu-schema"] { whole } else { crate_part(&whole) })
}

/// What a crate's build generates from its schema as QEMU's front end read it: its own
/// commands, events and types, and the types of QEMU's modules (which its files include)
/// that its own reach (QEMU's `RunState`, say); never QEMU's commands and events, whose
/// handlers are QEMU's.
fn crate_part(whole: &Schema) -> Schema {
    let own = |qemu: bool| !qemu;
    let mut roots: Vec<&str> = Vec::new();
    for c in whole.commands.iter().filter(|c| own(c.qemu)) {
        roots.extend(argument_roots(c));
        roots.extend(return_roots(c));
    }
    for e in whole.events.iter().filter(|e| own(e.qemu)) {
        roots.extend(event_roots(e));
    }
    roots.extend(whole.structs.iter().filter(|s| own(s.qemu)).map(|s| s.name.as_str()));
    roots.extend(whole.enums.iter().filter(|e| own(e.qemu)).map(|e| e.name.as_str()));
    roots.extend(whole.alternates.iter().filter(|a| own(a.qemu)).map(|a| a.name.as_str()));
    let mut part = reachable(whole, &roots);
    part.commands = whole.commands.iter().filter(|c| own(c.qemu)).cloned().collect();
    part.events = whole.events.iter().filter(|e| own(e.qemu)).cloned().collect();
    part
}

/// The types a list of members names (a member's type, and a list's element type).
pub fn member_types(members: &[Member]) -> Vec<&str> {
    members.iter().flat_map(|m| [Some(m.ty.as_str()), m.element.as_deref()]).flatten().collect()
}

/// The types a struct names: its members', and a union's branches.
pub fn struct_types(s: &Struct) -> Vec<&str> {
    let mut types = member_types(&s.members);
    types.extend(s.variants.iter().flatten().filter_map(|v| v.ty.as_deref()));
    types
}

/// The types a type names: a struct's members' and branches', an alternate's
/// alternatives' (and their lists' elements).
fn type_refs<'a>(schema: &'a Schema, name: &str) -> Vec<&'a str> {
    if let Some(s) = schema.structs.iter().find(|s| s.name == name) {
        return struct_types(s);
    }
    if let Some(a) = schema.alternates.iter().find(|a| a.name == name) {
        return a
            .alternatives
            .iter()
            .flat_map(|v| [Some(v.ty.as_str()), v.element.as_deref()])
            .flatten()
            .collect();
    }
    Vec::new()
}

/// The names of every type the types named `roots` reach, themselves included.
fn reached_names(whole: &Schema, roots: &[&str]) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().map(|s| s.to_string()).collect();
    while let Some(t) = todo.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        todo.extend(type_refs(whole, &t).into_iter().map(String::from));
    }
    seen
}

/// The types of `whole` that the types named `roots` reach (themselves, their members'
/// types, lists' elements), in `whole`'s order; no commands or events.
pub fn reachable(whole: &Schema, roots: &[&str]) -> Schema {
    let seen = reached_names(whole, roots);
    Schema {
        commands: Vec::new(),
        events: Vec::new(),
        structs: whole.structs.iter().filter(|s| seen.contains(&s.name)).cloned().collect(),
        alternates: whole.alternates.iter().filter(|a| seen.contains(&a.name)).cloned().collect(),
        enums: whole.enums.iter().filter(|e| seen.contains(&e.name)).cloned().collect(),
    }
}

/// The QEMU modules (`run-state` for `qapi/run-state.json`) whose types `schema` uses
/// from QEMU: their generated headers go to bindgen too.
pub fn qemu_modules(schema: &Schema) -> Vec<String> {
    let files = schema.structs.iter().filter(|s| s.qemu).map(|s| &s.file);
    let files = files.chain(schema.enums.iter().filter(|e| e.qemu).map(|e| &e.file));
    let mut out: Vec<String> = files.filter_map(|f| module(f)).collect();
    out.sort();
    out.dedup();
    out
}

/// The module of a schema file, `qapi/<module>.json`.
pub fn module(file: &str) -> Option<String> {
    Some(file.strip_prefix("qapi/")?.strip_suffix(".json")?.to_string())
}

/// QEMU's own schema (`src_dir/qapi/qapi-schema.json` and every module it includes), as
/// its front end reads it; each entity's `file` is its module relative to `src_dir`.
pub fn describe_qemu(src_dir: &std::path::Path) -> Result<Schema, String> {
    describe(src_dir, src_dir, &["--qemu-schema".to_string()])
}

/// Everything a declaration says that the layer does not carry out yet, refused by name
/// (file, entity, member) rather than dropped: one line per finding. An `'if'` on a
/// command, event, struct, struct member, enum or enum value is carried (as `#[cfg]`,
/// see [`cfg`]).
pub fn check_supported(schema: &Schema) -> Result<(), String> {
    let mut found = Vec::new();
    let mut refuse = |file: &str, what: &str, why: String| {
        found.push(format!("{file}: {what}: {why} is not supported by the command layer yet"));
    };
    let ifc = |i: &IfCond| i.as_ref().map(|c| format!("'if': {c}"));
    let members = |file: &str, owner: &str, ms: &[Member], refuse: &mut dyn FnMut(&str, &str, String)| {
        for m in ms {
            let what = format!("{owner}, member '{}'", m.name);
            if let Some(why) = ifc(&m.ifcond) {
                refuse(file, &what, why);
            }
        }
    };
    for c in &schema.commands {
        let what = format!("command '{}'", c.name);
        if emit::NEVER_RAW.contains(&c.c_name.as_str()) {
            refuse(
                &c.file,
                &what,
                format!("a command named {:?}, which Rust cannot spell even raw,", c.name),
            );
        }
        let flags = [(!c.success_response, "'success-response': false")];
        for (_, why) in flags.iter().filter(|(on, _)| *on) {
            refuse(&c.file, &what, why.to_string());
        }
        if !c.boxed {
            members(&c.file, &what, &c.args, &mut refuse);
        }
    }
    for e in schema.events.iter().filter(|e| !e.boxed) {
        let what = format!("event '{}'", e.name);
        members(&e.file, &what, &e.args, &mut refuse);
    }
    // An 'if' on a struct's member is carried (`#[cfg]` on its field); QAPI allows none
    // on a command's or an event's own members.

    // A member QEMU's C generator turns into a parameter of the handler's prototype
    // beside its own `Error **errp`: C refuses the redefinition, in a header, naming
    // neither the schema file nor the command. (`has_`-prefixed names and C keywords
    // QAPI itself refuses or renames; a boxed command's members are fields of one
    // struct, and an event's sender has no `errp`.)
    for c in schema.commands.iter().filter(|c| !c.boxed) {
        for m in c.args.iter().filter(|m| m.c_name == "errp") {
            found.push(format!(
                "{}: command '{}', member '{}': QEMU's generated prototype qmp_{}(…, Error **errp) \
                 already has a parameter errp; rename the member, or make the command 'boxed': true",
                c.file,
                c.name,
                m.name,
                c.name.replace(['-', '.'], "_")
            ));
        }
    }

    // A type whose Rust name the generated `qapi` module already uses for another item.
    let types = schema.structs.iter().map(|s| ("type", &s.name, &s.c_name, &s.file));
    let types = types.chain(schema.alternates.iter().map(|a| ("alternate", &a.name, &a.c_name, &a.file)));
    let types = types.chain(schema.enums.iter().map(|e| ("enum", &e.name, &e.c_name, &e.file)));
    for (kind, name, c_name, file) in types {
        if let Some((_, whose)) = TAKEN_TYPE_NAMES.iter().find(|(n, _)| n == c_name) {
            found.push(format!(
                "{file}: {kind} '{name}': its Rust name {c_name} is {whose}, which the generated \
                 `qapi` module names; rename the type (QAPI's wire format does not carry type names)"
            ));
        }
    }
    if found.is_empty() { Ok(()) } else { Err(found.join("\n")) }
}

/// The names the generated `qapi` module uses for Rust's and the layer's own items. A
/// schema type of such a name would shadow the item there (and turn the generated code
/// into compile errors that name neither), so the build refuses it by name. QEMU's own
/// schema has none (`cargo xtask coverage`).
const TAKEN_TYPE_NAMES: &[(&str, &str)] = &[
    ("Box", "Rust's Box"),
    ("Default", "Rust's Default"),
    ("Err", "Rust's Result::Err"),
    ("None", "Rust's Option::None"),
    ("Ok", "Rust's Result::Ok"),
    ("Option", "Rust's Option"),
    ("Result", "Rust's Result"),
    ("Some", "Rust's Option::Some"),
    ("Vec", "Rust's Vec"),
    ("Any", "the layer's Any (QAPI's 'any')"),
    ("Arg", "the layer's trait Arg"),
    ("CommandError", "the layer's CommandError"),
    ("GString", "the layer's GString"),
    ("HmpArgs", "the layer's HmpArgs"),
    ("List", "the layer's List"),
    ("ListNode", "the layer's trait ListNode"),
    ("ListRead", "the layer's trait ListRead"),
    ("Monitor", "the layer's Monitor"),
    ("Optional", "the layer's Optional"),
    ("OptionalEnum", "the generated OptionalEnum"),
    ("QemuEnum", "the layer's trait QemuEnum"),
    ("Required", "the layer's Required"),
    ("Ret", "the layer's trait Ret"),
    ("Scope", "the layer's Scope"),
];

/// The Rust predicate of a QAPI condition (`'if'`): `'CONFIG_X'` is
/// `qemu_config = "CONFIG_X"`, set by the build script for every macro the configured
/// tree's `config-host.h` defines (what QEMU's generated `#if defined(...)` tests);
/// `all`, `any` and `not` are Rust's. `None` without a condition.
pub fn cfg(ifcond: &IfCond) -> Result<Option<proc_macro2::TokenStream>, String> {
    fn pred(v: &serde_json::Value) -> Result<proc_macro2::TokenStream, String> {
        use serde_json::Value;
        match v {
            Value::String(name) => Ok(quote::quote!(qemu_config = #name)),
            Value::Object(o) if o.len() == 1 => {
                let (op, arg) = o.iter().next().expect("one entry");
                match (op.as_str(), arg) {
                    ("not", a) => {
                        let a = pred(a)?;
                        Ok(quote::quote!(not(#a)))
                    }
                    ("all" | "any", Value::Array(list)) => {
                        let list = list.iter().map(pred).collect::<Result<Vec<_>, _>>()?;
                        let op = emit::id(op);
                        Ok(quote::quote!(#op(#(#list),*)))
                    }
                    _ => Err(format!("an 'if' the layer cannot read: {v}")),
                }
            }
            _ => Err(format!("an 'if' the layer cannot read: {v}")),
        }
    }
    ifcond.as_ref().map(pred).transpose()
}

/// `tokens` (items) each under `#[cfg(pred)]`; the comment markers stay as they are.
fn under(
    pred: Option<proc_macro2::TokenStream>,
    tokens: proc_macro2::TokenStream,
) -> Result<proc_macro2::TokenStream, String> {
    let Some(pred) = pred else { return Ok(tokens) };
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("the generator wrote Rust that does not parse: {e}"))?;
    for item in &mut file.items {
        if matches!(item, syn::Item::Macro(_)) {
            continue;
        }
        let attrs = match item {
            syn::Item::Const(i) => &mut i.attrs,
            syn::Item::Enum(i) => &mut i.attrs,
            syn::Item::Fn(i) => &mut i.attrs,
            syn::Item::Impl(i) => &mut i.attrs,
            syn::Item::Struct(i) => &mut i.attrs,
            syn::Item::Type(i) => &mut i.attrs,
            syn::Item::Mod(i) => &mut i.attrs,
            syn::Item::Static(i) => &mut i.attrs,
            syn::Item::Use(i) => &mut i.attrs,
            other => {
                return Err(format!("the generator cannot put under a condition: {}", quote::quote!(#other)));
            }
        };
        // After the doc comment, so that it reads as the first line of the item.
        let at = attrs.iter().take_while(|a| a.path().is_ident("doc")).count();
        attrs.insert(at, syn::parse_quote!(#[cfg(#pred)]));
    }
    let items = file.items;
    Ok(quote::quote!(#(#items)*))
}

/// Arguments bind to members by name: the command function's parameters must be named
/// after the members (`_name` for one it ignores), in the schema's order, so two members
/// of one type written the other way round are refused instead of silently swapped.
/// `expected` holds the members' Rust names; `skip` the leading parameters that are not
/// members (the monitor of an HMP handler). Returns whether the function asks for the
/// call's BQL token: a first parameter (after those skipped) of type `Bql<'_>`.
fn check_params(
    commands: &std::path::Path,
    module: &str,
    func: &str,
    what: &str,
    expected: &[(String, String)],
    skip: usize,
) -> Result<bool, String> {
    use syn::ext::IdentExt;
    let rel = format!("src/commands/{module}.rs");
    // A missing file or a syntax error is the compiler's to report, with its own spans.
    let Ok(text) = std::fs::read_to_string(commands.join(format!("{module}.rs"))) else { return Ok(false) };
    let Ok(file) = syn::parse_file(&text) else { return Ok(false) };
    let Some(f) = file.items.iter().find_map(|i| match i {
        // `fn r#type` is the function of the command `type`.
        syn::Item::Fn(f) if f.sig.ident.unraw() == func => Some(f),
        _ => None,
    }) else {
        return Err(format!(
            "{rel}: no `fn {func}` in this file: the command layer calls `crate::commands::{module}::{func}` \
             for {what}, and checks its parameters' names against the schema, so it must be defined here"
        ));
    };
    let wanted = || expected.iter().map(|(rust, _)| rust.as_str()).collect::<Vec<_>>().join(", ");
    let takes_bql = f.sig.inputs.iter().nth(skip).is_some_and(is_bql_token);
    let params: Vec<&syn::FnArg> = f.sig.inputs.iter().skip(skip + usize::from(takes_bql)).collect();
    if params.len() != expected.len() {
        return Err(format!(
            "{rel}: fn {func} takes {} parameter(s) for the members of {what}, which has {}: ({})",
            params.len(),
            expected.len(),
            wanted()
        ));
    }
    for (i, (p, (rust, member))) in params.iter().zip(expected).enumerate() {
        let name = match p {
            syn::FnArg::Typed(t) => match &*t.pat {
                syn::Pat::Ident(id) => Some(id.ident.unraw().to_string()),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        };
        let bare = rust.strip_prefix("r#").unwrap_or(rust);
        let ok = name.as_deref().is_some_and(|n| n == bare || n.strip_prefix('_') == Some(bare));
        if !ok {
            return Err(format!(
                "{rel}: fn {func}, parameter {}: {}, but {what}, member '{member}' comes there; \
                 parameters bind to members by name, in the schema's order: ({})",
                i + 1 + skip + usize::from(takes_bql),
                name.map_or("not a plain name".to_string(), |n| format!("named `{n}`")),
                wanted()
            ));
        }
    }
    Ok(takes_bql)
}

/// Whether a parameter is the BQL token: its type is `Bql<…>` (by any path).
fn is_bql_token(p: &syn::FnArg) -> bool {
    let syn::FnArg::Typed(t) = p else { return false };
    matches!(&*t.ty, syn::Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "Bql"))
}

/// An `'allow-oob'` command gets no BQL token: QEMU may run it in the monitor's I/O
/// thread, without the lock, while the main loop runs. Without the token it cannot
/// reach what only the lock's holder may (`BqlRefCell`, `print_line`, `vm::`): the
/// compiler says so wherever it tries.
fn refuse_token_out_of_band(module: &str, command: &str) -> String {
    format!(
        "src/commands/{module}.rs: fn {module} takes a `Bql` token, but command '{command}' is \
         allow-oob: QEMU may run it out of band, in the monitor's I/O thread without the BQL, \
         so it gets no token; an out-of-band command answers through its return value only"
    )
}

/// What the generated code needs bindgen to declare.
#[derive(Default)]
pub struct Allowlist {
    pub functions: Vec<String>,
    pub types: Vec<String>,
    /// C enums bindgen renders as newtypes (one distinct Rust type each).
    pub enums: Vec<String>,
}

pub struct Generated {
    /// `OUT_DIR/glue.rs`, which the command crate includes with `commands!()`.
    pub glue: String,
    /// `OUT_DIR/commands.rs`: the command modules, included by `src/lib.rs`.
    pub modules: String,
    pub allow: Allowlist,
}

/// The glue for `schema` and the HMP entries `hmp`; the command functions are the files
/// `<command>.rs` in `commands` (a crate's `src/commands`).
pub fn generate(schema: &Schema, hmp: &[HmpEntry], commands: &std::path::Path) -> Result<Generated, String> {
    let mut modules = String::from(
        "// @generated by qemu-monitor-layer-build: one module per command, src/commands/<command>.rs.\n",
    );
    check_supported(schema)?;
    let mut allow = Allowlist::default();
    let mut module_names = Vec::new();
    let mut add_module = |m: &str, condition: Option<proc_macro2::TokenStream>, modules: &mut String| {
        if !module_names.iter().any(|n| n == m) {
            module_names.push(m.to_string());
            let path = commands.join(format!("{m}.rs"));
            // As rustfmt writes it (the names inside are macro names: no spaces, no commas).
            let cfg = condition
                .map(|p| format!("#[cfg({})]\n", p.to_string().replace(" (", "(").replace(" ,", ",")))
                .unwrap_or_default();
            // The compiler, not a grep, keeps `unsafe` out of a command file.
            let _ = writeln!(
                modules,
                "{cfg}#[path = {:?}]\n#[forbid(unsafe_code)]\npub mod {};",
                path.display().to_string(),
                emit::id(m)
            );
        }
    };

    // Types: QAPI structs as Rust structs that the layer turns into glib-allocated C.
    let mut types = Vec::new();
    for e in &schema.enums {
        let variants: Vec<String> = e.values.iter().map(|v| variant_name(&v.name)).collect();
        let conditions = e.values.iter().map(|v| cfg(&v.ifcond)).collect::<Result<Vec<_>, _>>()?;
        types.push(under(cfg(&e.ifcond)?, emit::enumeration(e, &variants, &conditions))?);
        allow.types.push(e.c_name.clone());
        allow.enums.push(e.c_name.clone());
    }
    let lists = lists(schema)?;
    let directions = Directions::of(schema);
    let mut borrowed = Vec::new();
    for s in &schema.structs {
        let union = union_shape(s, schema)?;
        if directions.built(&s.name) {
            let fields = fields(s, schema, &lists)?;
            types.push(under(cfg(&s.ifcond)?, emit::structure(s, &fields, union.as_ref()))?);
            allow.functions.push(format!("qapi_free_{}", s.c_name));
        }
        if directions.received(&s.name) {
            let own: Vec<Member> =
                s.members.iter().filter(|m| s.tag.as_ref() != Some(&m.c_name)).cloned().collect();
            let members = params(&format!("struct '{}'", s.name), &s.file, &own, schema)?;
            let members: Vec<(emit::Param, bool)> = members
                .into_iter()
                .map(|p| {
                    let recursive = matches!(p.kind, Kind::Struct(_) | Kind::Alternate(..))
                        && reaches(schema, &p.member.ty, &s.name);
                    (p, recursive)
                })
                .collect();
            borrowed.push(under(cfg(&s.ifcond)?, emit::borrowed(s, &members, union.as_ref()))?);
        }
        allow.types.push(s.c_name.clone());
    }
    for l in &lists {
        // A list is declared under its element's condition, as QEMU's C declares it.
        let element = match &l.elem {
            Elem::Struct(c) => schema.structs.iter().find(|s| &s.c_name == c).and_then(|s| s.ifcond.clone()),
            Elem::Value(Kind::Enum(c)) => {
                schema.enums.iter().find(|e| e.c_name == *c).and_then(|e| e.ifcond.clone())
            }
            Elem::Value(_) => None,
        };
        if l.built {
            types.push(under(cfg(&element)?, emit::list(l))?);
            allow.functions.push(format!("qapi_free_{}", l.c_name));
        }
        if l.received {
            types.push(under(cfg(&element)?, emit::list_read(l))?);
        }
        allow.types.push(l.c_name.clone());
    }
    for a in &schema.alternates {
        let shape = alternate_shape(a, schema)?;
        if directions.built(&a.name) {
            types.push(under(cfg(&a.ifcond)?, emit::alternate(&shape))?);
            allow.functions.push(format!("qapi_free_{}", a.c_name));
        }
        if directions.received(&a.name) {
            borrowed.push(under(cfg(&a.ifcond)?, emit::alternate_received(&shape))?);
        }
        allow.types.push(a.c_name.clone());
        if !allow.enums.iter().any(|e| e == "QType") {
            allow.types.push("QType".to_string());
            allow.enums.push("QType".to_string());
        }
    }
    for e in &schema.events {
        let members = call_members(e.boxed, &e.arg_type, &e.args);
        let params = params(&format!("event '{}'", e.name), &e.file, &members, schema)?;
        types.push(under(cfg(&e.ifcond)?, emit::event(e, &params))?);
        allow.functions.push(format!("qapi_event_send_{}", e.c_name));
    }
    types.push(emit::borrowed_module(borrowed));
    types.push(emit::features(&features_of(schema)));
    let mut items = vec![emit::qapi_module(types)];

    // The commands whose functions take the call's BQL token (their HMP twins pass it).
    let mut with_bql: Vec<String> = Vec::new();
    for c in &schema.commands {
        add_module(&c.c_name, cfg(&c.ifcond)?, &mut modules);
        let owner = format!("command '{}'", c.name);
        let members = command_members(c);
        let params = params(&owner, &c.file, &members, schema)?;
        let expected: Vec<(String, String)> =
            params.iter().map(|p| (p.rust.clone(), p.member.name.clone())).collect();
        let bql = check_params(commands, &c.c_name, &c.c_name, &owner, &expected, 0)?;
        if bql && c.allow_oob {
            return Err(refuse_token_out_of_band(&c.c_name, &c.name));
        }
        if bql {
            with_bql.push(c.name.clone());
        }
        if c.r#gen {
            let (ret, c_ret) = return_type(c, schema, &lists)?;
            items.push(under(cfg(&c.ifcond)?, emit::qmp(c, &params, ret, c_ret, bql))?);
        } else {
            items.push(under(cfg(&c.ifcond)?, emit::qmp_raw(c))?);
            allow.types.push("QmpCommandFunc".to_string());
        }
        allow.functions.push(format!("qmp_{}", c.c_name));
    }
    for h in hmp {
        let twin = schema.commands.iter().find(|c| format!("hmp_{}", c.c_name) == h.cmd);
        match twin {
            Some(c) => items.push(hmp_twin(h, c, &schema.enums, with_bql.contains(&c.name))?),
            None => {
                add_module(&h.module, None, &mut modules);
                let mut expected = Vec::new();
                let mut converts = Vec::new();
                let mut names = Vec::new();
                for a in &h.args {
                    let rust = rust_ident(&hmp_c_name(&a.name))
                        .map_err(|e| format!("{}: HMP entry '{}': {e}", h.file, h.name))?;
                    expected.push((rust, a.name.clone()));
                    let name = emit::local(&hmp_c_name(&a.name));
                    converts.push(emit::hmp_convert(h, a, &name));
                    names.push(name);
                }
                let bql =
                    check_params(commands, &h.module, &h.cmd, &format!("HMP '{}'", h.name), &expected, 1)?;
                let what = format!("implemented by `crate::commands::{}::{}`", h.module, h.cmd);
                items.push(emit::hmp(h, &what, emit::hmp_body(h, converts, names, bql)));
            }
        }
        allow.functions.push(h.cmd.clone());
    }
    let glue = emit::render(
        "@generated by qemu-monitor-layer-build from the declarations in qapi/; do not edit.",
        quote::quote!(#(#items)*),
    )?;
    Ok(Generated { glue, modules, allow })
}

/// Every entity and member of `schema` that has features, by the name
/// [`emit::features`] looks it up by: `command`, `command.member`, `EVENT`,
/// `EVENT.member`, `Struct`, `Struct.member`, `Enum`, `Enum.value`.
fn features_of(schema: &Schema) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut add = |name: String, f: &[String]| {
        if !f.is_empty() {
            out.push((name, f.to_vec()));
        }
    };
    for c in &schema.commands {
        add(c.name.clone(), &c.features);
        c.args.iter().for_each(|m| add(format!("{}.{}", c.name, m.name), &m.features));
    }
    for e in &schema.events {
        add(e.name.clone(), &e.features);
        e.args.iter().for_each(|m| add(format!("{}.{}", e.name, m.name), &m.features));
    }
    for t in &schema.structs {
        add(t.name.clone(), &t.features);
        t.members.iter().for_each(|m| add(format!("{}.{}", t.name, m.name), &m.features));
    }
    for e in &schema.enums {
        add(e.name.clone(), &e.features);
        e.values.iter().for_each(|v| add(format!("{}.{}", e.name, v.name), &v.features));
    }
    out
}

/// What a command function returns (in `Ok`), and the C type QEMU's prototype returns.
fn return_type(
    c: &Command,
    schema: &Schema,
    lists: &[List],
) -> Result<(proc_macro2::TokenStream, Option<proc_macro2::TokenStream>), String> {
    let list = lists.iter().find(|l| c.ret_element.is_some() && c.ret.as_ref() == Some(&l.c_name));
    let c_name = match (&c.ret, list) {
        (None, _) => return Ok((quote::quote!(()), None)),
        // Only a schema that lists the command in its 'command-returns-exceptions' pragma
        // may return a string (QEMU's human-monitor-command, ringbuf-read).
        (Some(t), _) if t == "str" => return Ok((quote::quote!(GString), Some(quote::quote!(*mut c_char)))),
        (Some(t), _) if t == "any" => {
            return Ok((quote::quote!(Any), Some(quote::quote!(*mut bindings::QObject))));
        }
        (Some(t), Some(_)) => t.clone(),
        (Some(t), None) => match schema.structs.iter().find(|s| &s.name == t) {
            Some(s) => s.c_name.clone(),
            None => {
                return Err(format!(
                    "{}: command '{}': returning {t:?} is not supported by the command layer yet \
                     (return a struct, a list, or a string where the schema allows it)",
                    c.file, c.name
                ));
            }
        },
    };
    let t = emit::id(&c_name);
    Ok((quote::quote!(qapi::#t), Some(quote::quote!(*mut bindings::#t))))
}

/// The function a command's declaration asks for, as `cargo xtask new-command` writes it
/// into `src/commands/<command>.rs`: parameters named after the members in schema order,
/// each of the exact type the generated handler passes (`&str`, the scalar, the enum;
/// `Option<_>` when optional), the return type, and a body that answers "not implemented
/// yet". `command` is the QMP name.
pub fn signature(schema: &Schema, command: &str) -> Result<String, String> {
    check_supported(schema)?;
    let c = schema
        .commands
        .iter()
        .find(|c| c.name == command)
        .ok_or_else(|| format!("the declarations in qapi/ have no command '{command}'"))?;
    let owner = format!("command '{}'", c.name);
    let members = command_members(c);
    let params = params(&owner, &c.file, &members, schema)?;
    let ret = if c.r#gen { return_type(c, schema, &lists(schema)?)?.0 } else { quote::quote!(Option<Any>) };
    let f = emit::id(&c.c_name);
    let decls = params.iter().map(|p| {
        let name: proc_macro2::TokenStream = p.rust.parse().expect("a Rust identifier");
        let ty = emit::crossing(p.kind).arg;
        if p.member.optional { quote::quote!(#name: Option<#ty>) } else { quote::quote!(#name: #ty) }
    });
    let stub = format!("{command} is not implemented yet");
    let doc = if c.r#gen {
        format!(" Implements `{command}` ({}): one parameter per member, in order.", c.file)
    } else {
        format!(
            " Implements `{command}` ({}), declared `'gen': false`: the arguments as QMP sent\n \
             them (a dict), and what to return (`None`: `{{}}`).",
            c.file
        )
    };
    let many = (params.len() > 7).then(|| quote::quote!(#[allow(clippy::too_many_arguments)]));
    let item = quote::quote! {
        #[doc = #doc]
        #many
        pub fn #f(#(#decls),*) -> Result<#ret, CommandError> {
            Err(CommandError::new(#stub))
        }
    };
    let file = syn::parse2::<syn::File>(item).map_err(|e| format!("the signature of {command}: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

fn unsupported(owner: &str, file: &str, m: &Member) -> String {
    format!(
        "{file}: {owner}, member '{}': type {:?} is not supported by the command layer yet \
         (supported: str, bool, int and its sized forms, number, an enum or a struct of qapi/, \
         and lists of those)",
        m.name, m.ty
    )
}

fn member_kind(owner: &str, file: &str, m: &Member, enums: &[Enum]) -> Result<Kind, String> {
    kind(&m.ty, enums).ok_or_else(|| unsupported(owner, file, m))
}

/// The members of a command, an event or a received struct, with their kinds and Rust
/// names.
fn params<'a>(
    owner: &str,
    file: &str,
    members: &'a [Member],
    schema: &Schema,
) -> Result<Vec<emit::Param<'a>>, String> {
    members
        .iter()
        .map(|m| {
            let kind = param_kind(m, schema).ok_or_else(|| unsupported(owner, file, m))?;
            let rust =
                rust_ident(&m.c_name).map_err(|e| format!("{file}: {owner}, member '{}': {e}", m.name))?;
            let cfg = cfg(&m.ifcond).map_err(|e| format!("{file}: {owner}, member '{}': {e}", m.name))?;
            Ok(emit::Param { member: m, kind, rust, cfg })
        })
        .collect()
}

/// A returned struct's members as the generator writes them.
fn fields(s: &Struct, schema: &Schema, lists: &[List]) -> Result<Vec<emit::Field>, String> {
    let owner = format!("struct '{}'", s.name);
    s.members
        .iter()
        .filter(|m| s.tag.as_ref() != Some(&m.c_name))
        .map(|m| {
            let rust = rust_ident(&m.c_name)
                .map_err(|e| format!("{}: {owner}, member '{}': {e}", s.file, m.name))?;
            let list = lists.iter().find(|l| m.element.is_some() && l.c_name == m.ty);
            let nested = schema.structs.iter().map(|t| (&t.name, &t.c_name));
            let nested =
                nested.chain(schema.alternates.iter().map(|a| (&a.name, &a.c_name))).find(|t| t.0 == &m.ty);
            let ty = match (list, nested) {
                (Some(l), _) => emit::FieldType::List(l.c_name.clone()),
                // A struct (or an alternate) inside a struct: a pointer in C, an owned
                // value in Rust (boxed when it can contain the struct it is in, or it
                // would have no size).
                (None, Some((name, c_name))) => {
                    emit::FieldType::Struct { c_name: c_name.clone(), boxed: reaches(schema, name, &s.name) }
                }
                (None, None) => emit::FieldType::Value(member_kind(&owner, &s.file, m, &schema.enums)?),
            };
            Ok(emit::Field {
                name: m.name.clone(),
                optional: m.optional,
                rust,
                c: bindgen_field(&m.c_name),
                has: m.has.then(|| m.c_name.clone()),
                ty,
                cfg: cfg(&m.ifcond).map_err(|e| format!("{}: {owner}, member '{}': {e}", s.file, m.name))?,
            })
        })
        .collect()
}

/// A union's shape for the generator: its discriminator and branches; `None` for a
/// plain struct. The branch enum is `<Union>Branch`, refused if the schema has a type of
/// that name.
fn union_shape(s: &Struct, schema: &Schema) -> Result<Option<emit::Union>, String> {
    let (Some(tag), Some(variants)) = (&s.tag, &s.variants) else { return Ok(None) };
    let what = format!("{}: union '{}'", s.file, s.name);
    let tag_member = s
        .members
        .iter()
        .find(|m| &m.c_name == tag)
        .ok_or_else(|| format!("{what}: no discriminator member {tag:?}"))?;
    let tag_enum = schema
        .enums
        .iter()
        .find(|e| e.name == tag_member.ty)
        .ok_or_else(|| format!("{what}: the discriminator's type {:?} is not an enum", tag_member.ty))?;
    let name = format!("{}Branch", s.c_name);
    let taken = schema.structs.iter().map(|t| &t.c_name).chain(schema.enums.iter().map(|e| &e.c_name));
    if taken.into_iter().any(|n| n == &name) {
        return Err(format!(
            "{what}: its branch enum would be named {name}, which the schema's own type has"
        ));
    }
    let variants = variants
        .iter()
        .map(|v| {
            let branch = match &v.ty {
                None => None,
                Some(t) => {
                    let b =
                        schema.structs.iter().find(|b| &b.name == t).ok_or_else(|| {
                            format!("{what}: branch '{}' has type {t:?}, not a struct", v.name)
                        })?;
                    Some((bindgen_field(&v.c_name), b.c_name.clone()))
                }
            };
            // The branch exists where it and its discriminator value both do.
            let value_if = tag_enum.values.iter().find(|e| e.name == v.name).and_then(|e| e.ifcond.clone());
            let ifcond = match (&v.ifcond, value_if) {
                (Some(a), Some(b)) if *a != b => Some(serde_json::json!({ "all": [a, b] })),
                (Some(a), _) => Some(a.clone()),
                (None, b) => b,
            };
            Ok(emit::UnionVariant {
                value: v.name.clone(),
                rust: variant_name(&v.name),
                recursive: v.ty.as_ref().is_some_and(|t| reaches(schema, t, &s.name)),
                branch,
                cfg: cfg(&ifcond)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Some(emit::Union {
        name,
        union: s.name.clone(),
        tag_member: tag_member.name.clone(),
        tag_field: bindgen_field(tag),
        tag_enum: tag_enum.c_name.clone(),
        variants,
    }))
}

/// An alternate's shape for the generator: each alternative's kind (none for JSON null),
/// QType and field of the C union.
fn alternate_shape(a: &Alternate, schema: &Schema) -> Result<emit::AlternateShape, String> {
    let what = format!("{}: alternate '{}'", a.file, a.name);
    let alternatives = a
        .alternatives
        .iter()
        .map(|v| {
            let kind = if v.ty == "null" {
                None
            } else {
                Some(type_kind(&v.ty, v.element.as_deref(), schema, 0).ok_or_else(|| {
                    format!(
                        "{what}: alternative '{}' has type {:?}, which the layer does not carry",
                        v.name, v.ty
                    )
                })?)
            };
            Ok(emit::AlternativeShape {
                value: v.name.clone(),
                rust: variant_name(&v.name),
                field: bindgen_field(&v.c_name),
                qtype: v.qtype.clone(),
                recursive: reaches(schema, &v.ty, &a.name),
                kind,
                cfg: cfg(&v.ifcond)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(emit::AlternateShape {
        name: a.name.clone(),
        c_name: a.c_name.clone(),
        file: a.file.clone(),
        borrows: alternate_borrows(a, schema, 0),
        alternatives,
    })
}

/// Whether a value of struct `from` can hold a `to` (through struct members and lists).
fn reaches(schema: &Schema, from: &str, to: &str) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(t) = todo.pop() {
        if t == to {
            return true;
        }
        if !seen.insert(t.clone()) {
            continue;
        }
        todo.extend(type_refs(schema, &t).into_iter().map(String::from));
    }
    false
}

/// The HMP twin of QMP `c`: the same function, its arguments read from the dispatcher's
/// QDict; each HMP argument must be the member of the same name, kind and optionality.
fn hmp_twin(
    h: &HmpEntry,
    c: &Command,
    enums: &[Enum],
    bql: bool,
) -> Result<proc_macro2::TokenStream, String> {
    if c.ret.is_some() {
        return Err(format!(
            "{}: HMP entry '{}' calls {} directly, but QMP '{}' returns a value the monitor cannot \
             print by itself: name the handler differently (e.g. hmp_info_...) and write it in \
             src/commands/{}.rs",
            h.file, h.name, h.cmd, c.name, h.module
        ));
    }
    let mut converts = Vec::new();
    let mut names = Vec::new();
    for m in &c.args {
        let a = h.args.iter().find(|a| a.name == m.name).ok_or_else(|| {
            format!(
                "{}: HMP entry '{}' lacks QMP '{}' member '{}' in its args_type",
                h.file, h.name, c.name, m.name
            )
        })?;
        let k = member_kind(&format!("command '{}'", c.name), &c.file, m, enums)?;
        // HMP passes an enum as its name (args_type `s`).
        let same = a.kind == k || (matches!(k, Kind::Enum(_)) && a.kind == Kind::Str);
        if !same || a.optional != m.optional {
            return Err(format!(
                "{}: HMP entry '{}': argument '{}' must have the QMP member's type ({}{})",
                h.file,
                h.name,
                a.name,
                m.ty,
                if m.optional { ", optional" } else { "" }
            ));
        }
        // The twin reads the enum by name, through the member's own kind's `Arg`.
        let a = HmpArg { kind: k, ..a.clone() };
        let name = emit::local(&m.c_name);
        converts.push(emit::hmp_convert(h, &a, &name));
        names.push(name);
    }
    if let Some(extra) = h.args.iter().find(|a| !c.args.iter().any(|m| m.name == a.name)) {
        return Err(format!(
            "{}: HMP entry '{}': argument '{}' is not a member of QMP '{}'",
            h.file, h.name, extra.name, c.name
        ));
    }
    let what = format!("the twin of QMP `{}`, `crate::commands::{m}::{m}`", c.name, m = c.c_name);
    Ok(emit::hmp(h, &what, emit::hmp_twin_body(c, converts, names, bql)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, ty: &str, optional: bool) -> serde_json::Value {
        let element = ty.strip_suffix("List").filter(|_| ty != "strList").map(String::from);
        let element = if ty == "strList" { Some("str".to_string()) } else { element };
        serde_json::json!({ "name": name, "c_name": name.replace('-', "_"), "type": ty, "optional": optional,
                            "has": false, "element": element, "if": null, "features": [] })
    }

    fn command(
        name: &str,
        args: Vec<serde_json::Value>,
        ret: Option<(&str, Option<&str>)>,
    ) -> serde_json::Value {
        serde_json::json!({ "name": name, "c_name": name.replace('-', "_"), "file": "qapi/x.json", "args": args,
                            "ret": ret.map(|r| r.0), "ret_element": ret.and_then(|r| r.1), "gen": true,
                            "success_response": true, "boxed": false, "allow_oob": false, "coroutine": false,
                            "if": null, "features": [] })
    }

    fn schema() -> Schema {
        serde_json::from_value(serde_json::json!({
            "commands": [
                command("say-kinds", vec![member("flag", "bool", false), member("opt", "str", true),
                    member("type", "str", false), member("size", "size", true), member("style", "Style", true),
                    member("count", "int32", false), member("ratio", "number", false),
                    member("_ignored", "str", true)], None),
                command("query-things", vec![], Some(("ThingList", Some("Thing")))),
                command("query-one", vec![member("name", "str", false)], Some(("Thing", None))),
                command("query-bad", vec![], Some(("Style", None))),
                command("query-text", vec![], Some(("str", None))),
            ],
            "events": [],
            "structs": [{ "name": "Thing", "c_name": "Thing", "file": "qapi/x.json",
                          "members": [member("style", "Style", false)], "base": null, "branches": null,
                          "if": null, "features": [] }],
            "alternates": [],
            "enums": [{ "name": "Style", "c_name": "Style", "file": "qapi/x.json", "max": "STYLE__MAX",
                        "values": [{ "name": "plain", "c_const": "STYLE_PLAIN", "if": null, "features": [] }],
                        "if": null, "features": [] }],
        }))
        .expect("a schema")
    }

    /// The signature `cargo xtask new-command` writes: exactly the types the generated
    /// handler passes, parameters named after members, raw identifiers for keywords.
    #[test]
    fn signatures_have_the_types_the_handler_passes() {
        let s = schema();
        let kinds = signature(&s, "say-kinds").unwrap();
        let flat = kinds.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(
                "#[allow(clippy::too_many_arguments)] pub fn say_kinds( flag: bool, opt: Option<&str>, r#type: &str, \
                 size: Option<u64>, style: Option<qapi::Style>, count: i32, ratio: f64, _ignored: Option<&str>, \
                 ) -> Result<(), CommandError> { Err(CommandError::new(\"say-kinds is not implemented yet\")) }"
            ),
            "{kinds}"
        );
        assert!(kinds.starts_with("/// Implements `say-kinds` (qapi/x.json)"), "{kinds}");
        let things = signature(&s, "query-things").unwrap();
        assert!(
            things.contains("pub fn query_things() -> Result<qapi::ThingList, CommandError> {"),
            "{things}"
        );
        let one = signature(&s, "query-one").unwrap();
        assert!(one.contains("pub fn query_one(name: &str) -> Result<qapi::Thing, CommandError> {"), "{one}");
        let text = signature(&s, "query-text").unwrap();
        assert!(text.contains("pub fn query_text() -> Result<GString, CommandError> {"), "{text}");
        let bad = signature(&s, "query-bad").unwrap_err();
        assert!(bad.contains("command 'query-bad': returning \"Style\" is not supported"), "{bad}");
        let missing = signature(&s, "nothing").unwrap_err();
        assert_eq!(missing, "the declarations in qapi/ have no command 'nothing'");
    }

    /// `'if'` on a command and on an enum value is `#[cfg]`, with the enum's length (proven
    /// against QEMU's `__MAX`) counting the conditional value only where it exists.
    #[test]
    fn conditions_are_cfg() {
        let mut s = schema();
        s.commands.retain(|c| c.name != "query-bad");
        s.commands[1].ifcond = Some(serde_json::json!({ "all": ["CONFIG_A", { "not": "CONFIG_B" }] }));
        s.enums[0].values.push(serde_json::from_value(serde_json::json!(
            { "name": "loud", "c_const": "STYLE_LOUD", "if": { "any": ["CONFIG_C", "CONFIG_D"] }, "features": [] }
        )).unwrap());
        let generated = generate(&s, &[], std::path::Path::new("/nonexistent")).unwrap();
        let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let glue = flat(&generated.glue);
        for needle in [
            "#[cfg(all(qemu_config = \"CONFIG_A\", not(qemu_config = \"CONFIG_B\")))] #[unsafe(no_mangle)] pub unsafe extern \"C\" fn qmp_query_things(",
            "#[cfg(any(qemu_config = \"CONFIG_C\", qemu_config = \"CONFIG_D\"))] Loud,",
            "pub const ALL: [Style; 0 + 1 + (cfg!(any(qemu_config = \"CONFIG_C\", qemu_config = \"CONFIG_D\")) as usize)]",
            "#[cfg(any(qemu_config = \"CONFIG_C\", qemu_config = \"CONFIG_D\"))] Self::Loud => bindings::Style::STYLE_LOUD,",
        ] {
            assert!(glue.contains(needle), "no {needle} in:\n{}", generated.glue);
        }
        assert!(
            flat(&generated.modules)
                .contains("#[cfg(all(qemu_config = \"CONFIG_A\", not(qemu_config = \"CONFIG_B\")))] #[path"),
            "{}",
            generated.modules
        );
        let bad = cfg(&Some(serde_json::json!({ "xor": ["A"] }))).unwrap_err();
        assert!(bad.contains("an 'if' the layer cannot read"), "{bad}");
    }

    /// A struct inside a struct is an owned value, boxed where it can contain its owner.
    #[test]
    fn nested_structs_are_owned_and_boxed_when_recursive() {
        let mut s = schema();
        s.commands.retain(|c| c.name != "query-bad");
        let node = |name: &str, members: Vec<serde_json::Value>| -> Struct {
            serde_json::from_value(serde_json::json!({ "name": name, "c_name": name, "file": "qapi/x.json",
                "members": members, "base": null, "branches": null, "if": null, "features": [] }))
            .unwrap()
        };
        s.structs.push(node("Tree", vec![member("leaf", "Thing", false), member("parent", "Tree", true)]));
        let glue = generate(&s, &[], std::path::Path::new("/nonexistent")).unwrap().glue;
        let flat = glue.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            "pub leaf: qapi::Thing,",
            "pub parent: Option<Box<qapi::Tree>>,",
            "(*c).leaf = Ret::into_c(self.leaf);",
        ] {
            assert!(flat.contains(needle), "no {needle} in:\n{glue}");
        }
    }

    /// Structs and lists as arguments are borrowed for the call (`qapi::borrowed::`,
    /// `Vec`); a boxed command takes its type whole as `arg`; an event's struct and list
    /// members are the owned `qapi::` forms, freed once QEMU's sender returns.
    #[test]
    fn structs_and_lists_cross_in_both_directions() {
        let mut s = schema();
        s.commands.retain(|c| c.name != "query-bad");
        let set = serde_json::json!([member("things", "ThingList", false), member("names", "strList", true)]);
        s.commands.push(
            serde_json::from_value(command("set-things", serde_json::from_value(set).unwrap(), None))
                .unwrap(),
        );
        let mut boxed: Command =
            serde_json::from_value(command("set-thing", vec![member("style", "Style", false)], None))
                .unwrap();
        boxed.boxed = true;
        boxed.arg_type = Some("Thing".to_string());
        s.commands.push(boxed);
        s.events.push(
            serde_json::from_value(serde_json::json!({ "name": "THING_SEEN", "c_name": "thing_seen",
                "file": "qapi/x.json", "args": [member("thing", "Thing", false), member("all", "ThingList", true)],
                "boxed": false, "if": null, "features": [] }))
            .unwrap(),
        );
        let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let set = flat(&signature(&s, "set-things").unwrap());
        assert!(
            set.contains(
                "pub fn set_things( things: Vec<qapi::borrowed::Thing<'_>>, names: Option<Vec<&str>>, ) -> Result<(), CommandError>"
            ),
            "{set}"
        );
        let one = flat(&signature(&s, "set-thing").unwrap());
        assert!(
            one.contains("pub fn set_thing(arg: qapi::borrowed::Thing<'_>) -> Result<(), CommandError>"),
            "{one}"
        );
        let glue = flat(&generate(&s, &[], std::path::Path::new("/nonexistent")).unwrap().glue);
        for needle in [
            // Thing is received (set-things, set-thing) and built (query-things, the event).
            "pub struct Thing<'a> { /// `style` pub style: qapi::Style, /// Nothing here borrows;",
            "pub _borrow: ::core::marker::PhantomData<&'a ()>, }",
            "unsafe impl ListRead for bindings::ThingList { type C = *mut bindings::Thing;",
            "unsafe impl ListRead for bindings::strList { type C = *const c_char;",
            "unsafe impl ListNode for bindings::ThingList {",
            "pub unsafe extern \"C\" fn qmp_set_thing( arg_arg: *mut bindings::Thing, errp: *mut *mut bindings::Error, )",
            "pub fn send_thing_seen( thing: qapi::Thing, all: Option<qapi::ThingList>, ) -> Result<(), CommandError> {",
            "if let Some(v) = &all { if let Some(f) = Ret::fault(v) { return Err(f.in_member(\"all\").refuse_event(\"THING_SEEN\")); } }",
            "unsafe { bindings::qapi_free_Thing(thing) };",
        ] {
            assert!(glue.contains(needle), "no {needle} in:\n{glue}");
        }
        // A list only received has no `qapi::` alias nor a `ListNode`.
        assert!(!glue.contains("ListNode for bindings::strList"), "{glue}");
    }

    /// Features are carried, not refused: `qapi::features(name)` gives them to a command.
    #[test]
    fn features_are_visible_to_commands() {
        let mut s = schema();
        s.commands.retain(|c| c.name != "query-bad");
        s.commands[0].features = vec!["deprecated".into()];
        s.commands[0].args[1].features = vec!["unstable".into(), "deprecated".into()];
        s.enums[0].values[0].features = vec!["unstable".into()];
        let glue = generate(&s, &[], std::path::Path::new("/nonexistent")).unwrap().glue;
        let flat = glue.split_whitespace().collect::<Vec<_>>().join(" ");
        for arm in [
            "\"say-kinds\" => &[\"deprecated\"],",
            "\"say-kinds.opt\" => &[\"unstable\", \"deprecated\"],",
            "\"Style.plain\" => &[\"unstable\"],",
            "_ => &[],",
        ] {
            assert!(flat.contains(arm), "no {arm} in:\n{glue}");
        }
    }
}
