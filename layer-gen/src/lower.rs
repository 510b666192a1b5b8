// SPDX-License-Identifier: GPL-2.0-or-later
//! Lowering: each schema type to the shape the generated Rust has. How a member crosses
//! the C boundary ([`Kind`]), which lists and types are built and which received,
//! unions' and alternates' branches, conditions as `cfg` predicates. The writers read
//! only this and the model.

use proc_macro2::TokenStream;

use crate::diagnostic::{Diagnostic, Part};
use crate::hx::HmpValue;
use crate::model::*;
use crate::names::{self, bindgen_field, rust_ident, variant_name};

/// How a value crosses the boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Str,
    Scalar(&'static str),
    /// A QAPI enum, by its C name: a C enum, a Rust enum generated in `qapi`.
    Enum(String),
    /// A QAPI struct, by its C name: a pointer in C; as an argument a
    /// `qapi::borrowed::` struct, as an event member the owned `qapi::` struct.
    Struct(String),
    /// A QAPI list, by its C name, and its element's kind: a pointer in C; as an
    /// argument a `Vec` of the elements, as an event member the owned `qapi::` list.
    List(String, Box<Kind>),
    /// QAPI's `any`: the layer's `Any`, a QObject in C.
    Any,
    /// A QAPI alternate, by its C name, and whether its received form borrows (has a
    /// lifetime): a pointer in C; as an argument a `qapi::borrowed::` enum, as an event
    /// member the owned `qapi::` enum.
    Alternate(String, bool),
}

/// The kind an HMP argument's value has in the arguments' QDict.
pub fn hmp_kind(v: HmpValue) -> Kind {
    match v {
        HmpValue::Str => Kind::Str,
        HmpValue::Int => Kind::Scalar("i64"),
        HmpValue::Number => Kind::Scalar("f64"),
        HmpValue::Bool => Kind::Scalar("bool"),
    }
}

/// The Rust (and bindgen) type of a QAPI built-in scalar.
pub(crate) fn scalar(ty: &str) -> Option<&'static str> {
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

pub(crate) fn kind(ty: &str, enums: &[Enum]) -> Option<Kind> {
    if ty == "str" {
        return Some(Kind::Str);
    }
    if ty == "any" {
        return Some(Kind::Any);
    }
    if let Some(e) = enums.iter().find(|e| e.name == ty) {
        return Some(Kind::Enum(e.c_name.clone()));
    }
    scalar(ty).map(Kind::Scalar)
}

/// The kind of a member a command takes or an event carries: a value, a struct (not a
/// union), or a list of either.
pub(crate) fn param_kind(m: &Member, schema: &Schema) -> Option<Kind> {
    type_kind(&m.ty, m.element.as_deref(), schema, 0)
}

/// The kind of type `ty` (a list of `element` when that is given); `depth` bounds the
/// walk through alternates inside lists inside alternates.
pub(crate) fn type_kind(ty: &str, element: Option<&str>, schema: &Schema, depth: usize) -> Option<Kind> {
    let single = |ty: &str| {
        kind(ty, &schema.enums)
            .or_else(|| {
                let s = schema.structs.iter().find(|s| s.name == ty)?;
                Some(Kind::Struct(s.c_name.clone()))
            })
            .or_else(|| {
                let a = schema.alternates.iter().find(|a| a.name == ty)?;
                Some(Kind::Alternate(a.c_name.clone(), alternate_borrows(a, schema, depth + 1)))
            })
    };
    match element {
        Some(e) => Some(Kind::List(ty.to_string(), Box::new(single(e)?))),
        None => single(ty),
    }
}

/// Whether alternate `a` as a command receives it borrows from QEMU's argument (has a
/// lifetime): one of its alternatives is a string, a struct, or a list of either.
pub(crate) fn alternate_borrows(a: &Alternate, schema: &Schema, depth: usize) -> bool {
    if depth > 8 {
        return true;
    }
    a.alternatives
        .iter()
        .filter(|v| v.ty != "null")
        .filter_map(|v| type_kind(&v.ty, v.element.as_deref(), schema, depth))
        .any(|k| borrows(&k))
}

/// Which types a schema's commands receive (`inputs`: borrowed for the call) and which
/// its commands return or its events carry (`outputs`: built in glib memory), by name.
pub(crate) struct Directions {
    inputs: std::collections::BTreeSet<String>,
    outputs: std::collections::BTreeSet<String>,
}

impl Directions {
    pub(crate) fn of(schema: &Schema) -> Directions {
        let names = |roots: Vec<&str>| reached_names(schema, &roots);
        let inputs = names(schema.commands.iter().flat_map(argument_roots).collect());
        let mut out_roots: Vec<&str> = schema.commands.iter().flat_map(return_roots).collect();
        out_roots.extend(schema.events.iter().flat_map(event_roots));
        Directions { inputs, outputs: names(out_roots) }
    }

    /// Whether the type named `ty` is built for QEMU: returned or sent, or used nowhere
    /// (a declared struct keeps its owned form).
    pub(crate) fn built(&self, ty: &str) -> bool {
        self.outputs.contains(ty) || !self.inputs.contains(ty)
    }

    pub(crate) fn received(&self, ty: &str) -> bool {
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
    pub(crate) fn new(ty: &str, element: &str, schema: &Schema) -> Option<List> {
        let elem = match type_kind(element, None, schema, 0)? {
            Kind::Struct(c) => Elem::Struct(c.to_string()),
            k => Elem::Value(k),
        };
        Some(List { c_name: ty.to_string(), elem, built: false, received: false })
    }
}

/// The lists the layer builds or reads: every list-typed struct member, command
/// argument, command return and event member.
pub(crate) fn lists(schema: &Schema) -> Result<Vec<List>, Vec<Diagnostic>> {
    let directions = Directions::of(schema);
    let mut out: Vec<List> = Vec::new();
    let mut refused = Vec::new();
    // `place`: the file, entity and part a refused list is refused at.
    let mut add = |ty: &str, element: &str, place: (&str, String, Part), built: bool, received: bool| {
        let Some(list) = List::new(ty, element, schema) else {
            let (file, entity, part) = place;
            refused.push(
                Diagnostic::new(
                    file,
                    entity,
                    format!(
                        "a list of {element:?} is not supported by the command layer yet (lists of \
                         str, bool, int and its sized forms, number, an enum or a struct of qapi/)"
                    ),
                )
                .at(part),
            );
            return;
        };
        match out.iter_mut().find(|l| l.c_name == list.c_name) {
            Some(l) => {
                l.built |= built;
                l.received |= received;
            }
            None => out.push(List { built, received, ..list }),
        }
    };
    for s in &schema.structs {
        for m in &s.members {
            if let Some(e) = &m.element {
                let place = (s.file.as_str(), format!("struct '{}'", s.name), Part::Member(m.name.clone()));
                add(&m.ty, e, place, directions.built(&s.name), directions.received(&s.name));
            }
        }
    }
    for a in &schema.alternates {
        for v in &a.alternatives {
            if let Some(e) = &v.element {
                let place =
                    (a.file.as_str(), format!("alternate '{}'", a.name), Part::Alternative(v.name.clone()));
                add(&v.ty, e, place, directions.built(&a.name), directions.received(&a.name));
            }
        }
    }
    for c in &schema.commands {
        if let (Some(t), Some(e)) = (&c.ret, &c.ret_element) {
            let place = (c.file.as_str(), format!("command '{}'", c.name), Part::ReturnValue);
            add(t, e, place, true, false);
        }
        for m in c.args.iter().filter(|_| !c.boxed) {
            if let Some(e) = &m.element {
                let place = (c.file.as_str(), format!("command '{}'", c.name), Part::Member(m.name.clone()));
                add(&m.ty, e, place, false, true);
            }
        }
    }
    for ev in schema.events.iter().filter(|e| !e.boxed) {
        for m in &ev.args {
            if let Some(e) = &m.element {
                let place = (ev.file.as_str(), format!("event '{}'", ev.name), Part::Member(m.name.clone()));
                add(&m.ty, e, place, true, false);
            }
        }
    }
    if refused.is_empty() { Ok(out) } else { Err(refused) }
}

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
                        let op = names::id(op);
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

/// A refusal of `owner`'s member `m` (in `file`) saying `why`.
pub(crate) fn refuse_member(owner: &str, file: &str, m: &Member, why: impl Into<String>) -> Diagnostic {
    Diagnostic::new(file, owner, why).at(Part::Member(m.name.clone()))
}

pub(crate) fn unsupported(owner: &str, file: &str, m: &Member) -> Diagnostic {
    refuse_member(
        owner,
        file,
        m,
        format!(
            "type {:?} is not supported by the command layer yet (supported: str, bool, int and its \
             sized forms, number, an enum or a struct of qapi/, and lists of those)",
            m.ty
        ),
    )
}

pub(crate) fn member_kind(owner: &str, file: &str, m: &Member, enums: &[Enum]) -> Result<Kind, Diagnostic> {
    kind(&m.ty, enums).ok_or_else(|| unsupported(owner, file, m))
}

/// The members of a command, an event or a received struct, with their kinds and Rust
/// names.
pub(crate) fn params<'a>(
    owner: &str,
    file: &str,
    members: &'a [Member],
    schema: &Schema,
) -> Result<Vec<Param<'a>>, Diagnostic> {
    members
        .iter()
        .map(|m| {
            let kind = param_kind(m, schema).ok_or_else(|| unsupported(owner, file, m))?;
            let rust = rust_ident(&m.c_name).map_err(|e| refuse_member(owner, file, m, e))?;
            let cfg = cfg(&m.ifcond).map_err(|e| refuse_member(owner, file, m, e))?;
            Ok(Param { member: m, kind, rust, cfg })
        })
        .collect()
}

/// What a command function returns (in `Ok`), and the C type QEMU's prototype returns.
pub(crate) fn return_type(
    c: &Command,
    schema: &Schema,
    lists: &[List],
) -> Result<(proc_macro2::TokenStream, Option<proc_macro2::TokenStream>), Diagnostic> {
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
                return Err(Diagnostic::new(
                    &c.file,
                    format!("command '{}'", c.name),
                    format!(
                        "returning {t:?} is not supported by the command layer yet (return a struct, \
                         a list, or a string where the schema allows it)"
                    ),
                ));
            }
        },
    };
    let t = names::id(&c_name);
    Ok((quote::quote!(qapi::#t), Some(quote::quote!(*mut bindings::#t))))
}

/// One member of a returned struct: its Rust field and the statement that fills the C
/// struct `c` from `self`.
pub struct Field {
    pub name: String,
    pub optional: bool,
    /// The Rust field's name (raw when a keyword) and the bindgen field's.
    pub rust: String,
    pub c: String,
    /// The C struct has a `has_<member>` flag (QEMU < 8.0, or a scalar).
    pub has: Option<String>,
    pub ty: FieldType,
    /// The member's `'if'` as a `cfg` predicate: the field and its C field exist only
    /// where it holds.
    pub cfg: Option<TokenStream>,
}

/// What a returned struct's member holds.
pub enum FieldType {
    /// A value of a kind.
    Value(Kind),
    /// A list, by its C name.
    List(String),
    /// A struct (a pointer in C), by its C name; `boxed` when it can contain the struct
    /// it is a member of.
    Struct { c_name: String, boxed: bool },
}

/// One member as a handler or a sender passes it: its Rust name, kind and C parameters.
pub struct Param<'a> {
    pub member: &'a Member,
    pub kind: Kind,
    /// The Rust identifier (raw when a keyword).
    pub rust: String,
    /// The member's `'if'` as a `cfg` predicate (only a struct's members have one).
    pub cfg: Option<TokenStream>,
}

/// A union's shape: its discriminator and its branches.
pub struct Union {
    /// The branch enum's name (`<Union>Branch`).
    pub name: String,
    /// The union's schema name.
    pub union: String,
    /// The discriminator: its member's name, the bindgen field, the enum's C name.
    pub tag_member: String,
    pub tag_field: String,
    pub tag_enum: String,
    pub variants: Vec<UnionVariant>,
}

/// One branch of a union.
pub struct UnionVariant {
    /// The discriminator's value, and the Rust variant (of the branch enum and of the
    /// discriminator's enum alike).
    pub value: String,
    pub rust: String,
    /// The bindgen field of `u` and the branch struct's C name; none for a branch
    /// without members.
    pub branch: Option<(String, String)>,
    /// The branch struct can contain the union (it is boxed).
    pub recursive: bool,
    pub cfg: Option<TokenStream>,
}

/// An alternate's shape: its alternatives.
pub struct AlternateShape {
    pub name: String,
    pub c_name: String,
    pub file: String,
    /// Its received form borrows (has a lifetime).
    pub borrows: bool,
    pub alternatives: Vec<AlternativeShape>,
}

/// One alternative: its name and Rust variant, its field of the C union `u`, the QType
/// constant the C `type` holds for it, its kind (none for JSON null).
pub struct AlternativeShape {
    pub value: String,
    pub rust: String,
    pub field: String,
    pub qtype: String,
    pub kind: Option<Kind>,
    /// It can contain the alternate (it is boxed).
    pub recursive: bool,
    pub cfg: Option<TokenStream>,
}

/// Whether a value of kind `k` borrows from QEMU's memory (a string, a struct, a list of
/// either).
pub fn borrows(k: &Kind) -> bool {
    match k {
        Kind::Str | Kind::Struct(_) => true,
        Kind::Alternate(_, borrows) => *borrows,
        Kind::List(_, elem) => borrows(elem),
        Kind::Scalar(_) | Kind::Enum(_) | Kind::Any => false,
    }
}

/// A returned struct's members as the generator writes them.
pub(crate) fn fields(s: &Struct, schema: &Schema, lists: &[List]) -> Result<Vec<Field>, Diagnostic> {
    let owner = format!("struct '{}'", s.name);
    s.members
        .iter()
        .filter(|m| s.tag.as_ref() != Some(&m.c_name))
        .map(|m| {
            let rust = rust_ident(&m.c_name).map_err(|e| refuse_member(&owner, &s.file, m, e))?;
            let list = lists.iter().find(|l| m.element.is_some() && l.c_name == m.ty);
            let nested = schema.structs.iter().map(|t| (&t.name, &t.c_name));
            let nested =
                nested.chain(schema.alternates.iter().map(|a| (&a.name, &a.c_name))).find(|t| t.0 == &m.ty);
            let ty = match (list, nested) {
                (Some(l), _) => FieldType::List(l.c_name.clone()),
                // A struct (or an alternate) inside a struct: a pointer in C, an owned
                // value in Rust (boxed when it can contain the struct it is in, or it
                // would have no size).
                (None, Some((name, c_name))) => {
                    FieldType::Struct { c_name: c_name.clone(), boxed: reaches(schema, name, &s.name) }
                }
                (None, None) => FieldType::Value(member_kind(&owner, &s.file, m, &schema.enums)?),
            };
            Ok(Field {
                name: m.name.clone(),
                optional: m.optional,
                rust,
                c: bindgen_field(&m.c_name),
                has: m.has.then(|| m.c_name.clone()),
                ty,
                cfg: cfg(&m.ifcond).map_err(|e| refuse_member(&owner, &s.file, m, e))?,
            })
        })
        .collect()
}

/// A union's shape for the generator: its discriminator and branches; `None` for a
/// plain struct. The branch enum is `<Union>Branch`, refused if the schema has a type of
/// that name.
pub(crate) fn union_shape(s: &Struct, schema: &Schema) -> Result<Option<Union>, Diagnostic> {
    let (Some(tag), Some(variants)) = (&s.tag, &s.variants) else { return Ok(None) };
    let refuse = |why: String| Diagnostic::new(&s.file, format!("union '{}'", s.name), why);
    let tag_member = s
        .members
        .iter()
        .find(|m| &m.c_name == tag)
        .ok_or_else(|| refuse(format!("no discriminator member {tag:?}")))?;
    let tag_enum = schema
        .enums
        .iter()
        .find(|e| e.name == tag_member.ty)
        .ok_or_else(|| refuse(format!("the discriminator's type {:?} is not an enum", tag_member.ty)))?;
    let name = format!("{}Branch", s.c_name);
    let taken = schema.structs.iter().map(|t| &t.c_name).chain(schema.enums.iter().map(|e| &e.c_name));
    if taken.into_iter().any(|n| n == &name) {
        return Err(refuse(format!(
            "its branch enum would be named {name}, which the schema's own type has"
        )));
    }
    let variants = variants
        .iter()
        .map(|v| {
            let branch = match &v.ty {
                None => None,
                Some(t) => {
                    let b = schema.structs.iter().find(|b| &b.name == t).ok_or_else(|| {
                        refuse(format!("has type {t:?}, not a struct")).at(Part::Branch(v.name.clone()))
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
            Ok(UnionVariant {
                value: v.name.clone(),
                rust: variant_name(&v.name),
                recursive: v.ty.as_ref().is_some_and(|t| reaches(schema, t, &s.name)),
                branch,
                cfg: cfg(&ifcond).map_err(|e| refuse(e).at(Part::Branch(v.name.clone())))?,
            })
        })
        .collect::<Result<Vec<_>, Diagnostic>>()?;
    Ok(Some(Union {
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
pub(crate) fn alternate_shape(a: &Alternate, schema: &Schema) -> Result<AlternateShape, Diagnostic> {
    let refuse = |v: &Alternative, why: String| {
        Diagnostic::new(&a.file, format!("alternate '{}'", a.name), why).at(Part::Alternative(v.name.clone()))
    };
    let alternatives = a
        .alternatives
        .iter()
        .map(|v| {
            let kind = if v.ty == "null" {
                None
            } else {
                Some(type_kind(&v.ty, v.element.as_deref(), schema, 0).ok_or_else(|| {
                    refuse(v, format!("has type {:?}, which the layer does not carry", v.ty))
                })?)
            };
            Ok(AlternativeShape {
                value: v.name.clone(),
                rust: variant_name(&v.name),
                field: bindgen_field(&v.c_name),
                qtype: v.qtype.clone(),
                recursive: reaches(schema, &v.ty, &a.name),
                kind,
                cfg: cfg(&v.ifcond).map_err(|e| refuse(v, e))?,
            })
        })
        .collect::<Result<Vec<_>, Diagnostic>>()?;
    Ok(AlternateShape {
        name: a.name.clone(),
        c_name: a.c_name.clone(),
        file: a.file.clone(),
        borrows: alternate_borrows(a, schema, 0),
        alternatives,
    })
}
