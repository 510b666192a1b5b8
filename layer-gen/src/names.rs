// SPDX-License-Identifier: GPL-2.0-or-later
//! How schema names become Rust and C names: identifiers (raw for keywords), bindgen's
//! field names, enum variants.

use proc_macro2::{Ident, Span};

/// An identifier; `r#name` makes a raw one, as does a Rust keyword (a command called
/// `type` is `crate::commands::r#type::r#type`). The four keywords that cannot be raw
/// never get here: the checks refuse them first.
pub fn id(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None if RUST_KEYWORDS.contains(&name) && !NEVER_RAW.contains(&name) => {
            Ident::new_raw(name, Span::call_site())
        }
        None => Ident::new(name, Span::call_site()),
    }
}

/// The keywords Rust has no raw form of.
pub(crate) const NEVER_RAW: &[&str] = &["self", "Self", "super", "crate"];

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
    if NEVER_RAW.contains(&c_name) {
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
pub(crate) fn hmp_c_name(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

/// A Rust enum variant's name for a QAPI enum value: `failed-writes` -> `FailedWrites`.
pub(crate) fn variant_name(value: &str) -> String {
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
