// SPDX-License-Identifier: GPL-2.0-or-later
//! What the layer refuses, by file, entity and member: constructs it does not carry,
//! names Rust cannot spell or the generated code already uses, and command functions
//! whose parameters do not bind to the schema's members.

use crate::diagnostic::{Diagnostic, Diagnostics, Part};
use crate::model::*;
use crate::names;

/// Everything a declaration says that the layer does not carry out yet, refused by name
/// (file, entity, member) rather than dropped: one line per finding. An `'if'` on a
/// command, event, struct, struct member, enum or enum value is carried (as `#[cfg]`,
/// see [`cfg`]).
pub fn check_supported(schema: &Schema) -> Result<(), Diagnostics> {
    check_supported_in(schema, Flavour::Monitor)
}

/// Which program a crate's commands are linked into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// QEMU's system emulators (`qemu-system-*`): QMP, HMP, events, the big lock, the VM.
    Monitor,
    /// QEMU's guest agent (`qemu-ga`), inside the guest: QMP commands only, no HMP,
    /// no events, no big lock, no VM.
    Agent,
}

/// [`check_supported`] for the program `flavour`: the agent also carries
/// `'success-response': false` (its own `guest-shutdown` uses it) and refuses events,
/// which qemu-ga does not send.
pub fn check_supported_in(schema: &Schema, flavour: Flavour) -> Result<(), Diagnostics> {
    let mut found = Diagnostics::default();
    let unsupported = |why: String| format!("{why} is not supported by the command layer yet");
    let members = |file: &str, owner: &str, ms: &[Member]| -> Vec<Diagnostic> {
        ms.iter()
            .filter_map(|m| {
                let c = m.ifcond.as_ref()?;
                Some(
                    Diagnostic::new(file, owner, unsupported(format!("'if': {c}")))
                        .at(Part::Member(m.name.clone())),
                )
            })
            .collect()
    };
    for c in &schema.commands {
        let what = format!("command '{}'", c.name);
        if names::NEVER_RAW.contains(&c.c_name.as_str()) {
            found.push(Diagnostic::new(
                &c.file,
                &what,
                unsupported(format!("a command named {:?}, which Rust cannot spell even raw,", c.name)),
            ));
        }
        if !c.success_response && flavour == Flavour::Monitor {
            found.push(Diagnostic::new(&c.file, &what, unsupported("'success-response': false".into())));
        }
        if !c.boxed {
            found.extend(members(&c.file, &what, &c.args));
        }
    }
    if flavour == Flavour::Agent {
        for e in &schema.events {
            found.push(Diagnostic::new(
                &e.file,
                format!("event '{}'", e.name),
                "is declared for the guest agent, which sends no events (qemu-ga has no event \
                 channel): declare it in a crate of monitor commands",
            ));
        }
    }
    for e in schema.events.iter().filter(|e| !e.boxed) {
        let what = format!("event '{}'", e.name);
        found.extend(members(&e.file, &what, &e.args));
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
            found.push(
                Diagnostic::new(
                    &c.file,
                    format!("command '{}'", c.name),
                    format!(
                        "QEMU's generated prototype qmp_{}(…, Error **errp) already has a parameter \
                         errp; rename the member, or make the command 'boxed': true",
                        c.name.replace(['-', '.'], "_")
                    ),
                )
                .at(Part::Member(m.name.clone())),
            );
        }
    }

    // A type whose Rust name the generated `qapi` module already uses for another item.
    let types = schema.structs.iter().map(|s| ("type", &s.name, &s.c_name, &s.file));
    let types = types.chain(schema.alternates.iter().map(|a| ("alternate", &a.name, &a.c_name, &a.file)));
    let types = types.chain(schema.enums.iter().map(|e| ("enum", &e.name, &e.c_name, &e.file)));
    for (kind, name, c_name, file) in types {
        if let Some((_, whose)) = TAKEN_TYPE_NAMES.iter().find(|(n, _)| n == c_name) {
            found.push(Diagnostic::new(
                file,
                format!("{kind} '{name}'"),
                format!(
                    "its Rust name {c_name} is {whose}, which the generated `qapi` module names; rename \
                     the type (QAPI's wire format does not carry type names)"
                ),
            ));
        }
    }
    found.into_result()
}

/// The names the generated `qapi` module uses for Rust's and the layer's own items. A
/// schema type of such a name would shadow the item there (and turn the generated code
/// into compile errors that name neither), so the build refuses it by name. QEMU's own
/// schema has none (`cargo xtask coverage`).
pub(crate) const TAKEN_TYPE_NAMES: &[(&str, &str)] = &[
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

/// Arguments bind to members by name: the command function's parameters must be named
/// after the members (`_name` for one it ignores), in the schema's order, so two members
/// of one type written the other way round are refused instead of silently swapped.
/// `expected` holds the members' Rust names; `skip` the leading parameters that are not
/// members (the monitor of an HMP handler). Returns whether the function asks for the
/// call's BQL token: a first parameter (after those skipped) of type `Bql<'_>`.
pub(crate) fn check_params(
    commands: &std::path::Path,
    module: &str,
    func: &str,
    what: &str,
    expected: &[(String, String)],
    skip: usize,
) -> Result<bool, Diagnostic> {
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
        return Err(Diagnostic::new(
            rel,
            format!("fn {func}"),
            format!(
                "not in this file: the command layer calls `crate::commands::{module}::{func}` for \
                 {what}, and checks its parameters' names against the schema, so it must be defined here"
            ),
        ));
    };
    let wanted = || expected.iter().map(|(rust, _)| rust.as_str()).collect::<Vec<_>>().join(", ");
    let takes_bql = f.sig.inputs.iter().nth(skip).is_some_and(is_bql_token);
    let params: Vec<&syn::FnArg> = f.sig.inputs.iter().skip(skip + usize::from(takes_bql)).collect();
    if params.len() != expected.len() {
        return Err(Diagnostic::new(
            rel,
            format!("fn {func}"),
            format!(
                "takes {} parameter(s) for the members of {what}, which has {}: ({})",
                params.len(),
                expected.len(),
                wanted()
            ),
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
            return Err(Diagnostic::new(
                rel,
                format!("fn {func}"),
                format!(
                    "{}, but {what}, member '{member}' comes there; parameters bind to members by \
                     name, in the schema's order: ({})",
                    name.map_or("not a plain name".to_string(), |n| format!("named `{n}`")),
                    wanted()
                ),
            )
            .at(Part::Parameter(i + 1 + skip + usize::from(takes_bql))));
        }
    }
    Ok(takes_bql)
}

/// Whether a parameter is the BQL token: its type is `Bql<…>` (by any path).
pub(crate) fn is_bql_token(p: &syn::FnArg) -> bool {
    let syn::FnArg::Typed(t) = p else { return false };
    matches!(&*t.ty, syn::Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "Bql"))
}

/// An `'allow-oob'` command gets no BQL token: QEMU may run it in the monitor's I/O
/// thread, without the lock, while the main loop runs. Without the token it cannot
/// reach what only the lock's holder may (`BqlRefCell`, `print_line`, `vm::`): the
/// compiler says so wherever it tries.
pub(crate) fn refuse_token_out_of_band(module: &str, command: &str) -> Diagnostic {
    Diagnostic::new(
        format!("src/commands/{module}.rs"),
        format!("fn {module}"),
        format!(
            "takes a `Bql` token, but command '{command}' is allow-oob: QEMU may run it out of \
             band, in the monitor's I/O thread without the BQL, so it gets no token; an \
             out-of-band command answers through its return value only"
        ),
    )
}

/// A guest agent command's function that takes the big lock's token: qemu-ga has no
/// big lock (nor a VM, a monitor or a chardev, which are reached through it).
pub(crate) fn refuse_token_in_agent(module: &str, command: &str) -> Diagnostic {
    Diagnostic::new(
        format!("src/commands/{module}.rs"),
        format!("fn {module}"),
        format!(
            "takes a `Bql` token, but command '{command}' runs in the guest agent, which has \
             no big lock, no VM and no monitor; keep state in a `std::sync::Mutex` or an \
             atomic instead"
        ),
    )
}
