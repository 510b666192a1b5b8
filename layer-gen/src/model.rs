// SPDX-License-Identifier: GPL-2.0-or-later
//! The schema as QEMU's own QAPI front end reads it (`scripts/qapi-describe.py`): the
//! first stage of the generator, which every later one reads and none writes.

use serde::Deserialize;

/// What `scripts/qapi-describe.py` reports (QEMU's own QAPI front end).
#[derive(Deserialize, Debug, Clone)]
pub struct Schema {
    pub commands: Vec<Command>,
    pub events: Vec<Event>,
    pub structs: Vec<Struct>,
    pub alternates: Vec<Alternate>,
    pub enums: Vec<Enum>,
    /// The doc comments of the crate's own definitions (none for QEMU's schema).
    #[serde(default)]
    pub docs: Vec<Doc>,
}

/// The doc comment of one of the crate's definitions, as QEMU's front end read it.
#[derive(Deserialize, Debug, Clone)]
pub struct Doc {
    /// The definition it documents (`hello-world`, `HelloWorldInfo`).
    pub symbol: String,
    /// Its schema file, relative to the crate (`qapi/hello-world.json`).
    pub file: String,
    /// The line the comment starts on.
    pub line: u32,
    /// Each documented member: its name and its text, each run of whitespace one space.
    pub members: Vec<(String, String)>,
    /// Each example's text: its `->` (sent) and `<-` (received) messages.
    pub examples: Vec<String>,
}

/// One message of an example: sent by the client (`->`) or received from QEMU (`<-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `->`: from the client.
    Sent,
    /// `<-`: from QEMU.
    Received,
}

/// The messages of an example's text (see [`Doc::examples`]), each a JSON value that may
/// span lines; prose before the first message is left out. An error names the message
/// that is not JSON.
pub fn example_messages(text: &str) -> Result<Vec<(Direction, serde_json::Value)>, String> {
    let mut messages: Vec<(Direction, String)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("->") {
            messages.push((Direction::Sent, rest.to_string()));
        } else if let Some(rest) = line.strip_prefix("<-") {
            messages.push((Direction::Received, rest.to_string()));
        } else if let Some((_, current)) = messages.last_mut() {
            current.push(' ');
            current.push_str(line);
        }
    }
    messages
        .into_iter()
        .map(|(d, text)| {
            serde_json::from_str(&text)
                .map(|v| (d, v))
                .map_err(|e| format!("the example's message is not JSON ({e}): {}", text.trim()))
        })
        .collect()
}

/// A condition (`'if'`) as written in the schema, or null.
pub type IfCond = Option<serde_json::Value>;

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
pub(crate) fn type_refs<'a>(schema: &'a Schema, name: &str) -> Vec<&'a str> {
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
pub(crate) fn reached_names(whole: &Schema, roots: &[&str]) -> std::collections::BTreeSet<String> {
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
        docs: Vec::new(),
    }
}

/// Whether a value of struct `from` can hold a `to` (through struct members and lists).
pub(crate) fn reaches(schema: &Schema, from: &str, to: &str) -> bool {
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

/// Every entity and member of `schema` that has features, by the name
/// [`write::features`] looks it up by: `command`, `command.member`, `EVENT`,
/// `EVENT.member`, `Struct`, `Struct.member`, `Enum`, `Enum.value`.
pub(crate) fn features_of(schema: &Schema) -> Vec<(String, Vec<String>)> {
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
    // `-B`: no bytecode cache written beside the script (in the crate's source: a build
    // changes nothing outside its OUT_DIR).
    let out = std::process::Command::new("python3")
        .arg("-B")
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
pub(crate) fn crate_part(whole: &Schema) -> Schema {
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
    part.docs = whole.docs.clone();
    part
}

/// QEMU's own schema (`src_dir/qapi/qapi-schema.json` and every module it includes), as
/// its front end reads it; each entity's `file` is its module relative to `src_dir`.
pub fn describe_qemu(src_dir: &std::path::Path) -> Result<Schema, String> {
    describe(src_dir, src_dir, &["--qemu-schema".to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_example_with_prose_a_multi_line_message_and_an_event_reads() {
        let text = "Prose first.\n-> { \"execute\": \"x\",\n     \"arguments\": { \"a\": 1 } }\n\n\
                    <- { \"return\": {} }\n<- { \"event\": \"E\" }";
        let m = example_messages(text).unwrap();
        assert_eq!(
            m,
            vec![
                (Direction::Sent, json!({"execute": "x", "arguments": {"a": 1}})),
                (Direction::Received, json!({"return": {}})),
                (Direction::Received, json!({"event": "E"})),
            ]
        );
    }

    #[test]
    fn a_message_that_is_not_json_is_named() {
        let e = example_messages("-> { \"execute\": ... }").unwrap_err();
        assert!(
            e.starts_with("the example's message is not JSON") && e.ends_with("{ \"execute\": ... }"),
            "{e}"
        );
    }
}

/// A small schema the stages' unit tests share: a command of every scalar kind, queries
/// returning a struct, a list of structs and a string, one the layer refuses (an enum),
/// a struct and an enum.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// `text` with each run of whitespace one space, as generated code is compared.
    pub(crate) fn flat(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Every one of `needles` is in `text`, whitespace aside.
    pub(crate) fn has_all(text: &str, needles: &[&str]) {
        let flat = flat(text);
        for n in needles {
            assert!(flat.contains(n), "no {n} in:\n{text}");
        }
    }

    pub(crate) fn member(name: &str, ty: &str, optional: bool) -> serde_json::Value {
        let element = ty.strip_suffix("List").filter(|_| ty != "strList").map(String::from);
        let element = if ty == "strList" { Some("str".to_string()) } else { element };
        serde_json::json!({ "name": name, "c_name": name.replace('-', "_"), "type": ty, "optional": optional,
                            "has": false, "element": element, "if": null, "features": [] })
    }

    pub(crate) fn command(
        name: &str,
        args: Vec<serde_json::Value>,
        ret: Option<(&str, Option<&str>)>,
    ) -> serde_json::Value {
        serde_json::json!({ "name": name, "c_name": name.replace('-', "_"), "file": "qapi/x.json", "args": args,
                            "ret": ret.map(|r| r.0), "ret_element": ret.and_then(|r| r.1), "gen": true,
                            "success_response": true, "boxed": false, "allow_oob": false, "coroutine": false,
                            "if": null, "features": [] })
    }

    pub(crate) fn schema() -> Schema {
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
}
