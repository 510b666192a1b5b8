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

pub use crate::hx::{HmpArg, HmpEntry};

/// What `scripts/qapi-describe.py` reports (QEMU's own QAPI front end).
#[derive(Deserialize, Debug)]
pub struct Schema {
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub structs: Vec<Struct>,
    pub alternates: Vec<Alternate>,
    pub enums: Vec<Enum>,
}

/// A condition (`'if'`) as written in the schema, or null.
type IfCond = Option<serde_json::Value>;

#[derive(Deserialize, Debug)]
pub struct Command {
    pub name: String,
    pub c_name: String,
    pub file: String,
    pub args: Vec<Member>,
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

#[derive(Deserialize, Debug)]
pub struct Event {
    pub name: String,
    pub c_name: String,
    pub file: String,
    pub args: Vec<Member>,
    pub boxed: bool,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

#[derive(Deserialize, Debug)]
pub struct Struct {
    pub name: String,
    pub c_name: String,
    pub file: String,
    /// QEMU's flat member list: the base's members first, as the C struct has them.
    pub members: Vec<Member>,
    pub base: Option<String>,
    /// A union's branches (by discriminator value); null for a plain struct.
    pub branches: Option<Vec<String>>,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

#[derive(Deserialize, Debug)]
pub struct Alternate {
    pub name: String,
    pub file: String,
}

#[derive(Deserialize, Debug)]
pub struct Enum {
    pub name: String,
    pub c_name: String,
    pub file: String,
    /// The C name of its `__MAX` constant.
    pub max: String,
    pub values: Vec<EnumValue>,
    #[serde(rename = "if")]
    pub ifcond: IfCond,
    pub features: Vec<String>,
}

#[derive(Deserialize, Debug)]
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
    if let Some(e) = enums.iter().find(|e| e.name == ty) {
        // The build script runs once; the name lives as long as it does.
        return Some(Kind::Enum(Box::leak(e.c_name.clone().into_boxed_str())));
    }
    scalar(ty).map(Kind::Scalar)
}

/// An element of a list the layer builds for QEMU: a value of a kind, or a schema struct
/// (by its C name).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Elem {
    Value(Kind),
    Struct(String),
}

/// A QAPI list type (`['Foo']`, C `FooList`) the layer builds: a command's return value
/// or a struct member.
#[derive(Debug, Clone, PartialEq, Eq)]
struct List {
    c_name: String,
    elem: Elem,
}

impl List {
    /// The list of `element`s called `ty`; `None` when the layer cannot build such elements.
    fn new(ty: &str, element: &str, schema_enums: &[Enum], structs: &[Struct]) -> Option<List> {
        let elem = match kind(element, schema_enums) {
            Some(k) => Elem::Value(k),
            None => Elem::Struct(structs.iter().find(|s| s.name == element)?.c_name.clone()),
        };
        Some(List { c_name: ty.to_string(), elem })
    }

    /// The Rust type of an element, inside the generated `qapi` module.
    fn value_type(&self) -> String {
        match &self.elem {
            Elem::Value(Kind::Str) => "GStr".to_string(),
            Elem::Value(Kind::Scalar(t) | Kind::Enum(t)) => t.to_string(),
            Elem::Struct(t) => t.clone(),
        }
    }

    /// `qapi::<List>`, an alias of the layer's `List` over the C node type: values are
    /// pushed into glib memory, and QEMU's `qapi_free_<List>` frees them (QEMU's
    /// marshaller after the command, or the list's `Drop` if it is never handed over).
    fn generate(&self, g: &mut String) {
        let value = match &self.elem {
            Elem::Value(Kind::Str) => "v.into_raw()",
            Elem::Value(Kind::Scalar(_)) => "v",
            Elem::Value(Kind::Enum(_)) => "v.to_c()",
            Elem::Struct(_) => "Ret::into_c(v)",
        };
        let _ = writeln!(
            g,
            "    /// QAPI list `{c}`: build it with `push` or `collect`.\n    \
             #[allow(non_camel_case_types)]\n    \
             pub type {c} = List<bindings::{c}>;\n\n    \
             // SAFETY: `next` is the node's own field, `set` stores a glib allocation or a\n    \
             // scalar, and qapi_free_{c} is QEMU's own free for this list.\n    \
             unsafe impl ListNode for bindings::{c} {{\n        \
             type Value = {ty};\n\n        \
             unsafe fn set(node: *mut Self, v: {ty}) {{\n            \
             // SAFETY: `node` is a zeroed node of ours (the trait's contract); a pointer\n            \
             // value takes a glib allocation, which qapi_free_{c} releases.\n            \
             unsafe {{ (*node).value = {value} }};\n        }}\n\n        \
             unsafe fn next(node: *mut Self) -> *mut *mut Self {{\n            \
             // SAFETY: `node` is a valid node (the trait's contract).\n            \
             unsafe {{ &raw mut (*node).next }}\n        }}\n\n        \
             unsafe fn free(list: *mut Self) {{\n            \
             // SAFETY: `list` is a list of ours, built in glib memory (the trait's contract).\n            \
             unsafe {{ bindings::qapi_free_{c}(list) }}\n        }}\n    }}\n",
            c = self.c_name,
            ty = self.value_type(),
        );
    }
}

/// The lists the layer must build: every list-typed struct member and command return.
fn lists(schema: &Schema) -> Result<Vec<List>, String> {
    let mut out: Vec<List> = Vec::new();
    let mut add = |ty: &str, element: &str, place: String| -> Result<(), String> {
        let list = List::new(ty, element, &schema.enums, &schema.structs).ok_or_else(|| {
            format!(
                "{place}: a list of {element:?} is not supported by the command layer yet \
                 (lists of str, bool, int and its sized forms, number, an enum or a struct of qapi/)"
            )
        })?;
        if !out.contains(&list) {
            out.push(list);
        }
        Ok(())
    };
    for s in &schema.structs {
        for m in &s.members {
            if let Some(e) = &m.element {
                add(&m.ty, e, format!("{}: struct '{}', member '{}'", s.file, s.name, m.name))?;
            }
        }
    }
    for c in &schema.commands {
        if let (Some(t), Some(e)) = (&c.ret, &c.ret_element) {
            add(t, e, format!("{}: command '{}', return value", c.file, c.name))?;
        }
    }
    Ok(out)
}

/// The Rust type a command function takes for a member of kind `k`.
fn rust_arg_type(k: Kind, optional: bool) -> String {
    let base = match k {
        Kind::Str => "&str".to_string(),
        Kind::Scalar(t) => t.to_string(),
        Kind::Enum(e) => format!("qapi::{e}"),
    };
    if optional { format!("Option<{base}>") } else { base }
}

/// Rust's keywords (strict and reserved, edition 2024): a member with such a C name is a
/// raw identifier in Rust (`r#type`).
const RUST_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// The Rust identifier of a member whose C name is `c_name`: the name itself, raw when it
/// is a keyword. The four keywords that cannot be raw are refused.
pub fn rust_ident(c_name: &str) -> Result<String, String> {
    if ["self", "Self", "super", "crate"].contains(&c_name) {
        return Err(format!("the name {c_name:?} cannot be a Rust identifier, even a raw one"));
    }
    Ok(if RUST_KEYWORDS.contains(&c_name) { format!("r#{c_name}") } else { c_name.to_string() })
}

/// The name bindgen gives a C field called `c_name`: bindgen appends `_` to these
/// (`rust_mangle` in bindgen 0.72's ir/context.rs).
fn bindgen_field(c_name: &str) -> String {
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

/// The generated handler's local for a member's converted value. Every member's local
/// starts with `arg_` and every `has_` flag's with `flag_`; the handler's own locals
/// (`scope`, `call`, `errp`, `mon`, `qdict`, `args`, `out`) start with neither, so no
/// member name can collide with them or with each other.
fn local(c_name: &str) -> String {
    format!("arg_{c_name}")
}

fn flag_local(c_name: &str) -> String {
    format!("flag_{c_name}")
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
    serde_json::from_slice(&out.stdout).map_err(|e| format!("scripts/qapi-describe.py: bad output: {e}"))
}

/// Everything a declaration says that the layer does not carry out yet, refused by name
/// (file, entity, member) rather than dropped: one line per finding.
pub fn check_supported(schema: &Schema) -> Result<(), String> {
    let mut found = Vec::new();
    let mut refuse = |file: &str, what: &str, why: String| {
        found.push(format!("{file}: {what}: {why} is not supported by the command layer yet"));
    };
    let ifc = |i: &IfCond| i.as_ref().map(|c| format!("'if': {c}"));
    let feat = |f: &[String]| (!f.is_empty()).then(|| format!("'features': {f:?}"));
    let members = |file: &str, owner: &str, ms: &[Member], refuse: &mut dyn FnMut(&str, &str, String)| {
        for m in ms {
            let what = format!("{owner}, member '{}'", m.name);
            for why in [ifc(&m.ifcond), feat(&m.features)].into_iter().flatten() {
                refuse(file, &what, why);
            }
        }
    };
    for c in &schema.commands {
        let what = format!("command '{}'", c.name);
        let flags = [
            (!c.r#gen, "'gen': false (QEMU would pass the handler the raw arguments)"),
            (!c.success_response, "'success-response': false"),
            (c.boxed, "'boxed': true"),
            (
                c.allow_oob,
                "'allow-oob': true (the handler would run without the BQL, in the monitor's I/O \
                 thread, where the layer's state and blocking output are not safe)",
            ),
            (c.coroutine, "'coroutine': true (the handler would run in a coroutine that may yield)"),
        ];
        for (_, why) in flags.iter().filter(|(on, _)| *on) {
            refuse(&c.file, &what, why.to_string());
        }
        for why in [ifc(&c.ifcond), feat(&c.features)].into_iter().flatten() {
            refuse(&c.file, &what, why);
        }
        members(&c.file, &what, &c.args, &mut refuse);
    }
    for e in &schema.events {
        let what = format!("event '{}'", e.name);
        if e.boxed {
            refuse(&e.file, &what, "'boxed': true".to_string());
        }
        for why in [ifc(&e.ifcond), feat(&e.features)].into_iter().flatten() {
            refuse(&e.file, &what, why);
        }
        members(&e.file, &what, &e.args, &mut refuse);
    }
    for t in &schema.structs {
        let what = format!("struct '{}'", t.name);
        if let Some(b) = &t.branches {
            refuse(&t.file, &format!("union '{}'", t.name), format!("a union (branches {b:?})"));
        }
        for why in [ifc(&t.ifcond), feat(&t.features)].into_iter().flatten() {
            refuse(&t.file, &what, why);
        }
        members(&t.file, &what, &t.members, &mut refuse);
    }
    for a in &schema.alternates {
        refuse(&a.file, &format!("alternate '{}'", a.name), "an alternate".to_string());
    }
    for e in &schema.enums {
        let what = format!("enum '{}'", e.name);
        for why in [ifc(&e.ifcond), feat(&e.features)].into_iter().flatten() {
            refuse(&e.file, &what, why);
        }
        for v in &e.values {
            for why in [ifc(&v.ifcond), feat(&v.features)].into_iter().flatten() {
                refuse(&e.file, &format!("{what}, value '{}'", v.name), why);
            }
        }
    }
    if found.is_empty() { Ok(()) } else { Err(found.join("\n")) }
}

/// Arguments bind to members by name: the command function's parameters must be named
/// after the members (`_name` for one it ignores), in the schema's order, so two members
/// of one type written the other way round are refused instead of silently swapped.
/// `expected` holds the members' Rust names; `skip` the leading parameters that are not
/// members (the monitor of an HMP handler).
fn check_params(
    root: &std::path::Path,
    module: &str,
    func: &str,
    what: &str,
    expected: &[(String, String)],
    skip: usize,
) -> Result<(), String> {
    use syn::ext::IdentExt;
    let rel = format!("src/commands/{module}.rs");
    // A missing file or a syntax error is the compiler's to report, with its own spans.
    let Ok(text) = std::fs::read_to_string(root.join(&rel)) else { return Ok(()) };
    let Ok(file) = syn::parse_file(&text) else { return Ok(()) };
    let Some(f) = file.items.iter().find_map(|i| match i {
        syn::Item::Fn(f) if f.sig.ident == func => Some(f),
        _ => None,
    }) else {
        return Err(format!(
            "{rel}: no `fn {func}` in this file: the command layer calls `crate::commands::{module}::{func}` \
             for {what}, and checks its parameters' names against the schema, so it must be defined here"
        ));
    };
    let wanted = || expected.iter().map(|(rust, _)| rust.as_str()).collect::<Vec<_>>().join(", ");
    let params: Vec<&syn::FnArg> = f.sig.inputs.iter().skip(skip).collect();
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
                i + 1 + skip,
                name.map_or("not a plain name".to_string(), |n| format!("named `{n}`")),
                wanted()
            ));
        }
    }
    Ok(())
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
    /// `OUT_DIR/glue.rs`, included at the end of `src/ffi.rs`.
    pub glue: String,
    /// `OUT_DIR/commands.rs`: the command modules, included by `src/lib.rs`.
    pub modules: String,
    pub allow: Allowlist,
}

pub fn generate(schema: &Schema, hmp: &[HmpEntry], root: &std::path::Path) -> Result<Generated, String> {
    let mut g = String::from("// @generated by build.rs from the declarations in qapi/; do not edit.\n\n");
    let mut modules =
        String::from("// @generated by build.rs: one module per command, src/commands/<command>.rs.\n");
    check_supported(schema)?;
    let mut allow = Allowlist::default();
    let mut module_names = Vec::new();
    let mut add_module = |m: &str, modules: &mut String| {
        if !module_names.iter().any(|n| n == m) {
            module_names.push(m.to_string());
            let path = root.join("src/commands").join(format!("{m}.rs"));
            // The compiler, not a grep, keeps `unsafe` out of a command file.
            let _ = writeln!(
                modules,
                "#[path = {:?}]\n#[forbid(unsafe_code)]\npub mod {m};",
                path.display().to_string()
            );
        }
    };

    // Types: QAPI structs as Rust structs that the layer turns into glib-allocated C.
    let _ = writeln!(
        g,
        "/// Rust forms of the schema's types and a sender per event.\npub mod qapi {{\n    #[allow(unused_imports)]\n    use super::*;\n"
    );
    for e in &schema.enums {
        gen_enum(&mut g, e);
        allow.types.push(e.c_name.clone());
        allow.enums.push(e.c_name.clone());
    }
    let lists = lists(schema)?;
    for s in &schema.structs {
        gen_struct(&mut g, s, &schema.enums, &lists)?;
        allow.types.push(s.c_name.clone());
    }
    for l in &lists {
        l.generate(&mut g);
        allow.types.push(l.c_name.clone());
        allow.functions.push(format!("qapi_free_{}", l.c_name));
    }
    for e in &schema.events {
        gen_event(&mut g, e, &schema.enums)?;
        allow.functions.push(format!("qapi_event_send_{}", e.c_name));
    }
    g.push_str("}\n\n");

    for c in &schema.commands {
        add_module(&c.c_name, &mut modules);
        let expected = c
            .args
            .iter()
            .map(|m| Ok((rust_ident(&m.c_name)?, m.name.clone())))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|e| format!("{}: command '{}': {e}", c.file, c.name))?;
        check_params(root, &c.c_name, &c.c_name, &format!("command '{}'", c.name), &expected, 0)?;
        gen_qmp(&mut g, c, schema, &lists)?;
        allow.functions.push(format!("qmp_{}", c.c_name));
    }
    for h in hmp {
        let twin = schema.commands.iter().find(|c| format!("hmp_{}", c.c_name) == h.cmd);
        match twin {
            Some(c) => gen_hmp_twin(&mut g, h, c, &schema.enums)?,
            None => {
                add_module(&h.module, &mut modules);
                let expected = h
                    .args
                    .iter()
                    .map(|a| Ok((rust_ident(&hmp_c_name(&a.name))?, a.name.clone())))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(|e| format!("{}: HMP entry '{}': {e}", h.file, h.name))?;
                check_params(root, &h.module, &h.cmd, &format!("HMP '{}'", h.name), &expected, 1)?;
                gen_hmp(&mut g, h)?;
            }
        }
        allow.functions.push(h.cmd.clone());
    }
    Ok(Generated { glue: g, modules, allow })
}

fn member_kind(owner: &str, file: &str, m: &Member, enums: &[Enum]) -> Result<Kind, String> {
    kind(&m.ty, enums).ok_or_else(|| {
        format!(
            "{file}: {owner}, member '{}': type {:?} is not supported by the command layer yet \
             (supported: str, bool, int and its sized forms, number, an enum of qapi/; \
             lists of those or of structs as struct members and return values)",
            m.name, m.ty
        )
    })
}

/// A QAPI enum as a Rust enum: its values by name, to and from QEMU's C enum (by the C
/// constants' names, so each release's spelling and a 'prefix' are QEMU's own), and the
/// `Arg` conversions a command function's parameter uses. The count is proven against
/// QEMU's `__MAX` constant.
fn gen_enum(g: &mut String, e: &Enum) {
    let name = &e.c_name;
    let variants: Vec<String> = e.values.iter().map(|v| variant_name(&v.name)).collect();
    let mut decl = String::new();
    let mut names = String::new();
    let mut to_c = String::new();
    for (v, variant) in e.values.iter().zip(&variants) {
        let _ = writeln!(decl, "        /// `{}`\n        {variant},", v.name);
        let _ = writeln!(names, "                Self::{variant} => {:?},", v.name);
        let _ = writeln!(to_c, "                Self::{variant} => bindings::{name}::{},", v.c_const);
    }
    let all = variants.iter().map(|v| format!("Self::{v}")).collect::<Vec<_>>().join(", ");
    let n = variants.len();
    let _ = writeln!(
        g,
        "    /// QAPI enum `{qapi}` ({file}).\n    \
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n    pub enum {name} {{\n{decl}    }}\n\n    \
         impl {name} {{\n        \
         /// Every value, in the schema's order.\n        \
         pub const ALL: [{name}; {n}] = [{all}];\n\n        \
         /// The value's name in the schema (and on the wire).\n        \
         pub const fn name(self) -> &'static str {{\n            match self {{\n{names}            }}\n        }}\n\n        \
         /// The value called `name`, as QMP spells it.\n        \
         pub fn from_name(name: &str) -> Option<{name}> {{\n            \
         Self::ALL.into_iter().find(|v| v.name() == name)\n        }}\n\n        \
         /// QEMU's C value.\n        \
         pub(crate) const fn to_c(self) -> bindings::{name} {{\n            match self {{\n{to_c}            }}\n        }}\n\n        \
         fn of_c(c: bindings::{name}) -> Option<{name}> {{\n            \
         Self::ALL.into_iter().find(|v| v.to_c() == c)\n        }}\n    }}\n\n    \
         // Proof: as many values as QEMU's enum.\n    \
         const _: () = assert!(bindings::{name}::{max}.0 as usize == {n});\n\n    \
         impl<'a> Arg<'a, Required<bindings::{name}>> for {name} {{\n        \
         unsafe fn from_c(c: Required<bindings::{name}>, _: &'a Scope, member: &'static str) -> Result<Self, CommandError> {{\n            \
         Self::of_c(c.0).ok_or_else(|| CommandError::new(format_args!(\"Parameter '{{member}}' has no value {{}}\", c.0.0)))\n        \
         }}\n    }}\n\n    \
         impl<'a> Arg<'a, Optional<(bool, bindings::{name})>> for Option<{name}> {{\n        \
         unsafe fn from_c(c: Optional<(bool, bindings::{name})>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {{\n            \
         let (has, value) = c.0;\n            \
         // SAFETY: forwarded; an enum value carries no pointer.\n            \
         if has {{ unsafe {{ Arg::from_c(Required(value), scope, member) }}.map(Some) }} else {{ Ok(None) }}\n        \
         }}\n    }}\n\n    \
         impl<'a> Arg<'a, Required<*const c_char>> for {name} {{\n        \
         unsafe fn from_c(c: Required<*const c_char>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {{\n            \
         // SAFETY: forwarded from our contract (HMP passes an enum as its name).\n            \
         let text: &'a str = unsafe {{ Arg::from_c(c, scope, member) }}?;\n            \
         Self::from_name(text).ok_or_else(|| CommandError::new(format_args!(\"Parameter '{{member}}' does not accept value '{{text}}'\")))\n        \
         }}\n    }}\n\n    \
         impl<'a> Arg<'a, Optional<*const c_char>> for Option<{name}> {{\n        \
         unsafe fn from_c(c: Optional<*const c_char>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {{\n            \
         if c.0.is_null() {{\n                return Ok(None);\n            }}\n            \
         // SAFETY: forwarded from our contract.\n            \
         unsafe {{ Arg::from_c(Required(c.0), scope, member) }}.map(Some)\n        \
         }}\n    }}\n",
        qapi = e.name,
        file = e.file,
        max = e.max,
    );
}

fn gen_struct(g: &mut String, s: &Struct, enums: &[Enum], lists: &[List]) -> Result<(), String> {
    let owner = format!("struct '{}'", s.name);
    let _ = writeln!(g, "    /// QAPI struct `{}` ({}), returned to QEMU in glib memory.", s.name, s.file);
    if let Some(base) = &s.base {
        // QEMU's C struct has the base's members first, as the flat member list does.
        let _ = writeln!(g, "    ///\n    /// Its first members are those of its base, `{base}`.");
    }
    let _ = writeln!(g, "    #[derive(Debug)]\n    pub struct {} {{", s.c_name);
    let mut fill = String::new();
    for m in &s.members {
        let field =
            &rust_ident(&m.c_name).map_err(|e| format!("{}: {owner}, member '{}': {e}", s.file, m.name))?;
        let cfield = bindgen_field(&m.c_name);
        // The Rust field's type, and the C value it becomes in `into_c`.
        let list = lists.iter().find(|l| m.element.is_some() && l.c_name == m.ty);
        let (ty, value) = match (list, m.optional) {
            (Some(l), false) => (l.c_name.clone(), format!("self.{field}.into_raw()")),
            (Some(l), true) => (
                format!("Option<{}>", l.c_name),
                format!("self.{field}.map_or(ptr::null_mut(), List::into_raw)"),
            ),
            (None, optional) => match (member_kind(&owner, &s.file, m, enums)?, optional) {
                (Kind::Str, false) => ("GStr".to_string(), format!("self.{field}.into_raw()")),
                (Kind::Str, true) => (
                    "Option<GStr>".to_string(),
                    format!("self.{field}.map_or(ptr::null_mut(), GStr::into_raw)"),
                ),
                (Kind::Scalar(t), false) => (t.to_string(), format!("self.{field}")),
                (Kind::Scalar(t), true) => {
                    (format!("Option<{t}>"), format!("self.{field}.unwrap_or_default()"))
                }
                (Kind::Enum(t), false) => (t.to_string(), format!("self.{field}.to_c()")),
                // An absent member keeps the zeroed value; QEMU reads only the flag.
                (Kind::Enum(t), true) => {
                    (format!("Option<{t}>"), format!("self.{field}.map_or((*c).{cfield}, {t}::to_c)"))
                }
            },
        };
        let _ = writeln!(g, "        /// `{}`{}", m.name, if m.optional { " (optional)" } else { "" });
        let _ = writeln!(g, "        pub {field}: {ty},");
        if m.has {
            let _ = writeln!(fill, "                (*c).has_{} = self.{field}.is_some();", m.c_name);
        }
        let _ = writeln!(fill, "                (*c).{cfield} = {value};");
    }
    let _ = writeln!(
        g,
        "    }}\n\n    \
         // SAFETY: the struct and every string and list in it come from glib's allocator\n    \
         // (`g_new0`, `GStr`, `List`), as qapi_free_{name} expects.\n    \
         unsafe impl Ret for {name} {{\n        type C = *mut bindings::{name};\n        \
         fn into_c(self) -> *mut bindings::{name} {{\n            let c = g_new0::<bindings::{name}>();\n            \
         // SAFETY: `c` is zeroed, exclusively ours and sized for the struct; each string\n            \
         // member takes a glib allocation, which QEMU's qapi_free_{name} releases.\n            \
         unsafe {{\n{fill}            }}\n            c\n        }}\n        \
         fn failed() -> *mut bindings::{name} {{\n            ptr::null_mut()\n        }}\n    }}\n",
        name = s.c_name
    );
    Ok(())
}

fn gen_event(g: &mut String, e: &Event, enums: &[Enum]) -> Result<(), String> {
    let owner = format!("event '{}'", e.name);
    let mut params = Vec::new();
    let mut prep = String::new();
    let mut args = Vec::new();
    let mut c_params = Vec::new();
    for m in &e.args {
        let k = member_kind(&owner, &e.file, m, enums)?;
        let name = &rust_ident(&m.c_name)
            .map_err(|err| format!("{}: {owner}, member '{}': {err}", e.file, m.name))?;
        params.push(format!("{name}: {}", rust_arg_type(k, m.optional)));
        c_params.extend(c_params_of(m, k).into_iter().map(|(_, t)| t));
        match (k, m.optional) {
            (Kind::Str, false) => {
                let _ = writeln!(prep, "        let {name} = GStr::new({name});");
                args.push(format!("{name}.as_ptr()"));
            }
            (Kind::Str, true) => {
                let _ = writeln!(prep, "        let {name} = {name}.map(GStr::new);");
                if m.has {
                    args.push(format!("{name}.is_some()"));
                }
                args.push(format!("{name}.as_ref().map_or(ptr::null(), GStr::as_ptr)"));
            }
            (Kind::Scalar(_), false) => args.push(name.clone()),
            (Kind::Scalar(_), true) => {
                args.push(format!("{name}.is_some()"));
                args.push(format!("{name}.unwrap_or_default()"));
            }
            (Kind::Enum(_), false) => args.push(format!("{name}.to_c()")),
            (Kind::Enum(t), true) => {
                args.push(format!("{name}.is_some()"));
                args.push(format!("{name}.map_or(bindings::{t}(0), qapi::{t}::to_c)"));
            }
        }
    }
    let f = format!("qapi_event_send_{}", e.c_name);
    let _ = writeln!(
        g,
        "    /// Sends the QMP event `{name}` ({file}) to every QMP monitor.\n    \
         pub fn send_{c}({params}) {{\n{prep}        \
         // SAFETY: the strings are NUL-terminated and live until the call returns; the\n        \
         // generated sender copies what it keeps.\n        \
         unsafe {{ bindings::{f}({args}) }}\n    }}\n\n    \
         const _: () = {{\n        let _: unsafe extern \"C\" fn({c_params}) = bindings::{f};\n    }};\n",
        name = e.name,
        file = e.file,
        c = e.c_name,
        params = params.join(", "),
        args = args.join(", "),
        c_params = c_params.join(", "),
    );
    Ok(())
}

/// The C parameters (the handler's name for it, type) a member is passed as.
fn c_params_of(m: &Member, k: Kind) -> Vec<(String, String)> {
    let mut v = Vec::new();
    if m.has {
        v.push((flag_local(&m.c_name), "bool".to_string()));
    }
    let ty = match k {
        Kind::Str => "*const ::core::ffi::c_char".to_string(),
        Kind::Scalar(t) => t.to_string(),
        Kind::Enum(t) => format!("bindings::{t}"),
    };
    v.push((local(&m.c_name), ty));
    v
}

fn gen_qmp(g: &mut String, c: &Command, schema: &Schema, lists: &[List]) -> Result<(), String> {
    let owner = format!("command '{}'", c.name);
    let mut params = Vec::new();
    let mut convert = String::new();
    let mut call_args = String::new();
    for m in &c.args {
        let k = member_kind(&owner, &c.file, m, &schema.enums)?;
        for (n, t) in c_params_of(m, k) {
            params.push(format!("{n}: {t}"));
        }
        let name = &local(&m.c_name);
        let flag = flag_local(&m.c_name);
        let c_value = match (k, m.optional, m.has) {
            (Kind::Str, true, true) => {
                // QEMU < 8.0 flags an optional string; the layer takes NULL as absent.
                let _ =
                    writeln!(convert, "        let {name} = if {flag} {{ {name} }} else {{ ptr::null() }};");
                format!("Optional({name})")
            }
            (Kind::Str, true, false) => format!("Optional({name})"),
            (Kind::Scalar(_) | Kind::Enum(_), true, _) => format!("Optional(({flag}, {name}))"),
            (_, false, _) => format!("Required({name})"),
        };
        let _ = writeln!(
            convert,
            "        // SAFETY: `{name}` is as QAPI passes it (this function's contract), lent\n        \
             // for a borrow of `scope`, which ends with this call.\n        \
             let {name} = unsafe {{ Arg::from_c({c_value}, &scope, {member:?}) }}?; // command '{cmd}', member '{member}'",
            member = m.name,
            cmd = c.name,
        );
        let _ = writeln!(call_args, "            {name}, // command '{}', member '{}'", c.name, m.name);
    }
    let list = lists.iter().find(|l| c.ret_element.is_some() && c.ret.as_ref() == Some(&l.c_name));
    let (ret, c_ret) = match (&c.ret, list) {
        (None, _) => ("()".to_string(), String::new()),
        (Some(t), Some(_)) => (format!("qapi::{t}"), format!(" -> *mut bindings::{t}")),
        (Some(t), None) => match schema.structs.iter().find(|s| &s.name == t) {
            Some(s) => (format!("qapi::{}", s.c_name), format!(" -> *mut bindings::{}", s.c_name)),
            None => {
                return Err(format!(
                    "{}: {owner}: returning {t:?} is not supported by the command layer yet \
                     (return a struct or a list)",
                    c.file
                ));
            }
        },
    };
    params.push("errp: *mut *mut bindings::Error".to_string());
    let f = format!("qmp_{}", c.c_name);
    let _ = writeln!(
        g,
        "/// QMP `{name}`, declared in {file}; implemented by\n\
         /// `crate::commands::{m}::{m}`.\n///\n/// # Safety\n\
         /// QAPI's marshaller calls it with the arguments the schema declares (strings\n\
         /// NUL-terminated and valid for the call) and an `errp` QEMU's error rules allow.\n\
         #[unsafe(no_mangle)]\n\
         pub unsafe extern \"C\" fn {f}({params}){c_ret} {{\n    \
         let scope = Scope::new();\n    \
         let _ = &scope;\n    \
         let call = || -> Result<{ret}, CommandError> {{\n{convert}        \
         crate::commands::{m}::{m}(\n{call_args}        )\n    }};\n    \
         // SAFETY: `errp` is as QAPI passes it (this function's contract).\n    \
         unsafe {{ reply(call(), errp, c{f:?}) }}\n}}\n\n\
         // Proof: `{f}` has exactly the type of QEMU's prototype, as bindgen reads it.\n\
         const _: () = {{\n    let _ = [{f}, bindings::{f}];\n}};\n",
        name = c.name,
        file = c.file,
        m = c.c_name,
        params = params.join(", "),
    );
    Ok(())
}

/// The conversion of one HMP argument from the dispatcher's QDict.
fn hmp_convert(h: &HmpEntry, a: &HmpArg, name: &str) -> String {
    let key = format!("c{:?}", a.name);
    // How monitor/hmp.c stores each args_type (see `hx::read`).
    let get = match a.kind {
        // An enum is a name in HMP (args_type `s`); its `Arg` impl looks the name up.
        Kind::Str | Kind::Enum(_) => "str",
        Kind::Scalar("bool") => "bool",
        Kind::Scalar("f64") => "double",
        Kind::Scalar(_) => "int",
    };
    let c_value = match (a.kind, a.optional) {
        (Kind::Str | Kind::Enum(_), true) => format!("Optional(args.str({key}))"),
        (Kind::Str | Kind::Enum(_), false) => format!("Required(args.str({key}))"),
        (_, true) => format!("Optional(args.{get}({key}))"),
        (_, false) => format!("Required(args.{get}({key}).1)"),
    };
    format!(
        "        // SAFETY: the dictionary's strings are NUL-terminated and live for the call,\n        \
         // lent for a borrow of `scope`, which ends with it.\n        \
         let {name} = unsafe {{ Arg::from_c({c_value}, &scope, {member:?}) }}?; // HMP '{cmd}', argument '{member}'\n",
        member = a.name,
        cmd = h.name,
    )
}

fn hmp_export(g: &mut String, h: &HmpEntry, doc: &str, body: &str) {
    let f = &h.cmd;
    let _ = writeln!(
        g,
        "/// HMP `{name}`, declared in {file}; {doc}.\n///\n/// # Safety\n\
         /// The HMP dispatcher calls it with the calling monitor and the arguments it parsed\n\
         /// according to `args_type`, both valid for the call.\n\
         #[unsafe(no_mangle)]\n\
         pub unsafe extern \"C\" fn {f}(mon: *mut bindings::Monitor, qdict: *const bindings::QDict) {{\n    \
         // SAFETY: `qdict` is the dispatcher's argument dictionary (this function's contract).\n    \
         let args = unsafe {{ HmpArgs::new(qdict) }};\n    \
         let _ = &args;\n    \
         let scope = Scope::new();\n    \
         let _ = &scope;\n{body}    \
         // SAFETY: `mon` is the calling monitor (this function's contract).\n    \
         unsafe {{ hmp_reply(mon, call(), c{f:?}) }}\n}}\n\n\
         // Proof: `{f}` has exactly the type of QEMU's prototype, as bindgen reads it.\n\
         const _: () = {{\n    let _ = [{f}, bindings::{f}];\n}};\n",
        name = h.name,
        file = h.file,
    );
}

fn gen_hmp_twin(g: &mut String, h: &HmpEntry, c: &Command, enums: &[Enum]) -> Result<(), String> {
    if c.ret.is_some() {
        return Err(format!(
            "{}: HMP entry '{}' calls {} directly, but QMP '{}' returns a value the monitor cannot \
             print by itself: name the handler differently (e.g. hmp_info_...) and write it in \
             src/commands/{}.rs",
            h.file, h.name, h.cmd, c.name, h.module
        ));
    }
    let mut body = String::from("    let call = || -> Result<(), CommandError> {\n");
    let mut call_args = String::new();
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
        body.push_str(&hmp_convert(h, a, &local(&m.c_name)));
        let _ = writeln!(
            call_args,
            "            {}, // command '{}', member '{}'",
            local(&m.c_name),
            c.name,
            m.name
        );
    }
    if let Some(extra) = h.args.iter().find(|a| !c.args.iter().any(|m| m.name == a.name)) {
        return Err(format!(
            "{}: HMP entry '{}': argument '{}' is not a member of QMP '{}'",
            h.file, h.name, extra.name, c.name
        ));
    }
    let _ = write!(body, "        crate::commands::{m}::{m}(\n{call_args}        )\n    }};\n", m = c.c_name);
    hmp_export(
        g,
        h,
        &format!("the twin of QMP `{}`, `crate::commands::{m}::{m}`", c.name, m = c.c_name),
        &body,
    );
    Ok(())
}

fn gen_hmp(g: &mut String, h: &HmpEntry) -> Result<(), String> {
    let mut body = String::from("    let call = || -> Result<(), CommandError> {\n");
    let mut call_args = String::new();
    for a in &h.args {
        body.push_str(&hmp_convert(h, a, &local(&hmp_c_name(&a.name))));
        let _ = writeln!(
            call_args,
            "            {}, // HMP '{}', argument '{}'",
            local(&hmp_c_name(&a.name)),
            h.name,
            a.name
        );
    }
    let _ = write!(
        body,
        "        // SAFETY: `mon` is the calling monitor, valid for the call.\n        \
         let mut out = unsafe {{ Monitor::new(mon) }};\n        \
         crate::commands::{m}::{f}(\n            &mut out,\n{call_args}        )\n    }};\n",
        m = h.module,
        f = h.cmd,
    );
    hmp_export(g, h, &format!("implemented by `crate::commands::{}::{}`", h.module, h.cmd), &body);
    Ok(())
}
