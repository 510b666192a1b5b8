// SPDX-License-Identifier: GPL-2.0-or-later
//! The writers: syntax trees of the handlers QEMU calls, the schema's types, event
//! senders and HMP handlers, from the model and its lowering, and their printing.
//!
//! The generated text is kept plain so that a compile error in it reads well: each
//! argument sits on its own line with the command and member it comes from.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use crate::hx::HmpEntry;
use crate::lower::*;
use crate::model::*;
use crate::names::{self, id};

/// The condition (a QAPI `'if'`, as a `cfg` predicate) every item a writer writes for
/// an entity is under: `#[cfg(...)]` right after the item's doc comment, as QEMU's C has
/// the entity under `#if`. Nothing for an entity without one.
#[derive(Clone, Debug, Default)]
pub struct Cond(pub Option<TokenStream>);

impl quote::ToTokens for Cond {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        if let Some(p) = &self.0 {
            tokens.extend(quote!(#[cfg(#p)]));
        }
    }
}

/// A comment's text as the literal a marker macro carries: prettyplease prints a literal
/// whole, so a marker is never wrapped, and [`render`] reads the text back from it.
fn marker(text: &str) -> Literal {
    Literal::string(text)
}

/// A comment on its own line(s) where it stands (a statement or an item).
pub(crate) fn comment(text: &str) -> TokenStream {
    let n = marker(text);
    quote!(__comment!(#n);)
}

/// A comment at the end of the previous statement's last line.
pub(crate) fn trailing(text: &str) -> TokenStream {
    let n = marker(text);
    quote!(__trailing!(#n);)
}

/// `#[doc = ".."]` for each line of `text` (`///` once printed).
pub(crate) fn doc(text: &str) -> TokenStream {
    let lines = text.lines().map(|l| format!(" {l}"));
    quote!(#(#[doc = #lines])*)
}

/// How a value of one kind crosses the boundary: everything the generator knows about
/// a kind, in one place.
pub struct Crossing {
    /// The type a command function takes for a required member (`Option<_>` of it when
    /// the member is optional), and an event sender.
    pub arg: TokenStream,
    /// The type QAPI's C passes (a handler's parameter, an event sender's).
    pub c: TokenStream,
    /// The owned type a returned struct or a list holds (strings in glib memory).
    pub owned: TokenStream,
    /// An owned value `v` as its C value, handed to QEMU (which frees it).
    pub to_c: fn(TokenStream) -> TokenStream,
    /// An optional owned value `v` as its C value; `zero` is the C field's zeroed value.
    pub to_c_optional: fn(TokenStream, TokenStream) -> TokenStream,
    /// The `HmpArgs` getter for what monitor/hmp.c stores (an enum is its name).
    pub hmp_get: Ident,
    /// What in an owned value, given by reference as `v`, cannot reach the client
    /// unchanged (`Option<Fault>`); none for a kind whose every value can.
    pub fault: Option<fn(TokenStream) -> TokenStream>,
}

/// `Ret::fault` of a value given by reference: strings, `any`, structs, alternates, lists.
pub(crate) fn ret_fault(v: TokenStream) -> TokenStream {
    quote!(Ret::fault(#v))
}

/// The table: str, a built-in scalar, an enum of the schema.
pub fn crossing(k: &Kind) -> Crossing {
    match k {
        Kind::Str => Crossing {
            arg: quote!(&str),
            c: quote!(*const ::core::ffi::c_char),
            owned: quote!(GString),
            to_c: |v| quote!(#v.into_raw()),
            to_c_optional: |v, _| quote!(#v.map_or(ptr::null_mut(), GString::into_raw)),
            hmp_get: id("str"),
            fault: Some(ret_fault),
        },
        Kind::Scalar(t) => {
            let ty = id(t);
            Crossing {
                arg: quote!(#ty),
                c: quote!(#ty),
                owned: quote!(#ty),
                to_c: |v| v,
                // An absent member keeps the default; QEMU reads only the flag.
                to_c_optional: |v, _| quote!(#v.unwrap_or_default()),
                hmp_get: id(match *t {
                    "bool" => "bool",
                    "f64" => "double",
                    _ => "int",
                }),
                // JSON has no NaN or infinity.
                fault: (*t == "f64").then_some((|v| quote!(Fault::of_number(*#v))) as fn(_) -> _),
            }
        }
        Kind::Enum(e) => {
            let e = id(e);
            Crossing {
                arg: quote!(qapi::#e),
                c: quote!(bindings::#e),
                owned: quote!(qapi::#e),
                to_c: |v| quote!(#v.to_c()),
                to_c_optional: |v, zero| quote!(#v.map_or(#zero, |e| e.to_c())),
                hmp_get: id("str"),
                fault: None,
            }
        }
        Kind::Struct(s) => {
            let s = id(s);
            Crossing {
                arg: quote!(qapi::borrowed::#s<'_>),
                c: quote!(*mut bindings::#s),
                owned: quote!(qapi::#s),
                to_c: |v| quote!(Ret::into_c(#v)),
                to_c_optional: |v, _| quote!(#v.map_or(ptr::null_mut(), Ret::into_c)),
                hmp_get: id("str"),
                fault: Some(ret_fault),
            }
        }
        Kind::Alternate(a, borrows) => {
            let a = id(a);
            let lifetime = borrows.then(|| quote!(<'_>));
            Crossing {
                arg: quote!(qapi::borrowed::#a #lifetime),
                c: quote!(*mut bindings::#a),
                owned: quote!(qapi::#a),
                to_c: |v| quote!(Ret::into_c(#v)),
                to_c_optional: |v, _| quote!(#v.map_or(ptr::null_mut(), Ret::into_c)),
                hmp_get: id("str"),
                fault: Some(ret_fault),
            }
        }
        Kind::Any => Crossing {
            arg: quote!(Any),
            c: quote!(*mut bindings::QObject),
            owned: quote!(Any),
            to_c: |v| quote!(Ret::into_c(#v)),
            to_c_optional: |v, _| quote!(#v.map_or(ptr::null_mut(), Ret::into_c)),
            hmp_get: id("str"),
            fault: Some(ret_fault),
        },
        Kind::List(l, elem) => {
            let element = crossing(elem).arg;
            let l = id(l);
            Crossing {
                arg: quote!(Vec<#element>),
                c: quote!(*mut bindings::#l),
                owned: quote!(qapi::#l),
                to_c: |v| quote!(#v.into_raw()),
                to_c_optional: |v, _| quote!(#v.map_or(ptr::null_mut(), List::into_raw)),
                hmp_get: id("str"),
                fault: Some(ret_fault),
            }
        }
    }
}

/// The type a received struct's field holds for a member of kind `k` (borrowing for
/// `'a`).
pub(crate) fn received_type(k: &Kind) -> TokenStream {
    match k {
        Kind::Str => quote!(&'a str),
        Kind::Struct(s) => {
            let s = id(s);
            quote!(qapi::borrowed::#s<'a>)
        }
        Kind::List(_, elem) => {
            let element = received_type(elem);
            quote!(Vec<#element>)
        }
        Kind::Alternate(a, true) => {
            let a = id(a);
            quote!(qapi::borrowed::#a<'a>)
        }
        other => crossing(other).arg,
    }
}

/// The C value an argument handler or a received struct passes to `Arg::from_c` for a
/// member whose C value is `value` and whose `has_` flag (when this release's C has one)
/// is `flag`.
pub(crate) fn arg_c_value(p: &Param, value: TokenStream, flag: TokenStream) -> TokenStream {
    match (&p.kind, p.member.optional, p.member.has) {
        // QEMU < 8.0 flags an optional pointer; the layer takes NULL as absent.
        (Kind::Str, true, true) => quote!(Optional(if #flag { #value } else { ptr::null() })),
        (Kind::Str, true, false) => quote!(Optional(#value)),
        (Kind::Struct(_) | Kind::Alternate(..) | Kind::List(..) | Kind::Any, true, true) => {
            quote!(Optional(if #flag { #value } else { ptr::null_mut() }))
        }
        (Kind::Struct(_) | Kind::Alternate(..) | Kind::List(..) | Kind::Any, true, false) => {
            quote!(Optional(#value))
        }
        (Kind::Scalar(_), true, _) => quote!(Optional((#flag, #value))),
        (Kind::Enum(_), true, _) => quote!(qapi::OptionalEnum((#flag, #value))),
        (_, false, _) => quote!(Required(#value)),
    }
}

/// prettyplease's lines with each comment marker on one line: a marker whose text is
/// long is printed as `__comment!(`, the literal, `);` on lines of their own.
fn one_line_markers(printed: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    for line in printed.lines() {
        let text = line.trim();
        match &mut open {
            Some(marker) if text == ");" => {
                marker.push_str(");");
                lines.push(std::mem::take(marker));
                open = None;
            }
            Some(marker) => marker.push_str(text),
            None if text == "__comment!(" || text == "__trailing!(" => open = Some(line.to_string()),
            None => lines.push(line.to_string()),
        }
    }
    lines.extend(open);
    lines
}

/// The generated Rust as text: printed by prettyplease, the comment markers made
/// comments, headed by `header`.
pub fn render(header: &str, tokens: TokenStream) -> Result<String, String> {
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("the generator wrote Rust that does not parse: {e}"))?;
    let printed = prettyplease::unparse(&file);
    let mut out: Vec<String> = vec![format!("// {header}"), String::new()];
    let text_of = |lit: &str| -> Result<String, String> {
        syn::parse_str::<syn::LitStr>(lit)
            .map(|l| l.value())
            .map_err(|e| format!("a bad comment marker {lit}: {e}"))
    };
    for line in &one_line_markers(&printed) {
        let text = line.trim_start();
        let indent = &line[..line.len() - text.len()];
        // A blank line between items (and before a comment above the next one).
        let after_item = out.last().is_some_and(|l| {
            let t = l.trim_start();
            (t == "}" || t == "};") && l.len() - t.len() == indent.len()
        });
        if after_item && !text.starts_with(['}', ')']) && !text.starts_with("__trailing!") {
            out.push(String::new());
        }
        if let Some(n) = text.strip_prefix("__comment!(").and_then(|r| r.strip_suffix(");")) {
            out.extend(text_of(n)?.lines().map(|l| format!("{indent}// {l}")));
        } else if let Some(n) = text.strip_prefix("__trailing!(").and_then(|r| r.strip_suffix(");")) {
            // The statement before it on one line, so that the comment sits beside all of
            // it (a compile error's snippet shows the command and member).
            let mut start = out.len().saturating_sub(1);
            while start > 0 && out[start].len() - out[start].trim_start().len() > indent.len() {
                start -= 1;
            }
            let closing = out.get(start).is_some_and(|l| l.trim_start().starts_with(['}', ')', ']']));
            if closing {
                start = start.saturating_sub(1);
                while start > 0 && out[start].len() - out[start].trim_start().len() > indent.len() {
                    start -= 1;
                }
            }
            let joined: Vec<String> = out.drain(start..).map(|l| l.trim().to_string()).collect();
            let joined = joined.join(" ").replace("( ", "(").replace(" )", ")");
            out.push(format!("{indent}{joined} // {}", text_of(n)?));
        } else if text.contains("__comment!") || text.contains("__trailing!") {
            return Err(format!("a comment marker prettyplease did not print on a line of its own: {line}"));
        } else {
            out.push(line.to_string());
        }
    }
    Ok(out.join("\n") + "\n")
}

/// `qapi::<List>`, an alias of the layer's `List` over the C node type: values are pushed
/// into glib memory, and QEMU's `qapi_free_<List>` frees them (QEMU's marshaller after
/// the command, or the list's `Drop` if it is never handed over).
pub fn list(l: &List, cond: &Cond) -> TokenStream {
    let c = id(&l.c_name);
    let free = id(&format!("qapi_free_{}", l.c_name));
    let (value, set, check) = match &l.elem {
        Elem::Value(k) => {
            let x = crossing(k);
            (x.owned, (x.to_c)(quote!(v)), x.fault.map(|g| g(quote!(v))))
        }
        Elem::Struct(s) => {
            let s = id(s);
            (quote!(qapi::#s), quote!(Ret::into_c(v)), Some(ret_fault(quote!(v))))
        }
    };
    let fault = check.map(|check| quote!(fn fault(v: &#value) -> Option<Fault> { #check }));
    let d = doc(&format!("QAPI list `{}`: build it with `push` or `collect`.", l.c_name));
    let safety = comment(&format!(
        "SAFETY: `next` is the node's own field, `set` stores a glib allocation or a\n\
         scalar, and {free} is QEMU's own free for this list."
    ));
    let set_safety = comment(&format!(
        "SAFETY: `node` is a zeroed node of ours (the trait's contract); a pointer\n\
         value takes a glib allocation, which {free} releases."
    ));
    let next_safety = comment("SAFETY: `node` is a valid node (the trait's contract).");
    let free_safety =
        comment("SAFETY: `list` is a list of ours, built in glib memory (the trait's contract).");
    quote! {
        #d
        #cond
        #[allow(non_camel_case_types)]
        pub type #c = List<bindings::#c>;
        #safety
        #cond
        unsafe impl ListNode for bindings::#c {
            type Value = #value;
            unsafe fn set(node: *mut Self, v: #value) {
                #set_safety
                unsafe { (*node).value = #set };
            }
            unsafe fn next(node: *mut Self) -> *mut *mut Self {
                #next_safety
                unsafe { &raw mut (*node).next }
            }
            unsafe fn free(list: *mut Self) {
                #free_safety
                unsafe { bindings::#free(list) }
            }
            #fault
        }
    }
}

/// A QAPI enum as a Rust enum: its values by name, to and from QEMU's C enum (by the C
/// constants' names, so each release's spelling and a 'prefix' are QEMU's own), and the
/// `Arg` conversions a command function's parameter uses. The count is proven against
/// QEMU's `__MAX` constant.
pub fn enumeration(
    e: &Enum,
    variants: &[String],
    conditions: &[Option<TokenStream>],
    cond: &Cond,
) -> TokenStream {
    let name = id(&e.c_name);
    let max = id(&e.max);
    let vs: Vec<Ident> = variants.iter().map(|v| id(v)).collect();
    // A value under an `'if'` exists, in C as in Rust, only where its condition holds;
    // the count below is proven against QEMU's `__MAX` with the same conditions.
    let cfgs: Vec<TokenStream> =
        conditions.iter().map(|c| c.as_ref().map(|p| quote!(#[cfg(#p)])).unwrap_or_default()).collect();
    let counts: Vec<TokenStream> =
        conditions.iter().map(|c| c.as_ref().map_or(quote!(1), |p| quote!((cfg!(#p) as usize)))).collect();
    let n = if conditions.iter().all(Option::is_none) {
        let n = Literal::usize_unsuffixed(vs.len());
        quote!(#n)
    } else {
        quote!(0 #(+ #counts)*)
    };
    let docs: Vec<TokenStream> = e.values.iter().map(|v| doc(&format!("`{}`", v.name))).collect();
    let wire: Vec<&str> = e.values.iter().map(|v| v.name.as_str()).collect();
    let consts: Vec<Ident> = e.values.iter().map(|v| id(&v.c_const)).collect();
    let d = doc(&format!("QAPI enum `{}` ({}).", e.name, e.file));
    let proof = comment("Proof: as many values as QEMU's enum.");
    let fwd_enum = comment("SAFETY: forwarded; an enum value carries no pointer.");
    let fwd_name = comment("SAFETY: forwarded from our contract (HMP passes an enum as its name).");
    let fwd = comment("SAFETY: forwarded from our contract.");
    // QEMU's own enum (from a module the schema includes): what the layer's accessors of
    // QEMU's state return it through.
    let qapi_name = &e.name;
    let qemu_enum = e.qemu.then(|| {
        quote! {
            #cond
            impl QemuEnum for #name {
                const NAME: &'static str = #qapi_name;
                fn from_c_value(c: u32) -> Option<Self> {
                    Self::of_c(bindings::#name(c as _))
                }
            }
        }
    });
    quote! {
        #d
        #cond
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum #name {
            #(#docs #cfgs #vs,)*
        }

        #cond
        impl #name {
            /// Every value, in the schema's order.
            pub const ALL: [#name; #n] = [#(#cfgs Self::#vs),*];

            /// The value's name in the schema (and on the wire).
            pub const fn name(self) -> &'static str {
                match self {
                    #(#cfgs Self::#vs => #wire,)*
                }
            }

            /// The value called `name`, as QMP spells it.
            pub fn from_name(name: &str) -> Option<#name> {
                Self::ALL.into_iter().find(|v| v.name() == name)
            }

            /// QEMU's C value.
            pub(crate) const fn to_c(self) -> bindings::#name {
                match self {
                    #(#cfgs Self::#vs => bindings::#name::#consts,)*
                }
            }

            fn of_c(c: bindings::#name) -> Option<#name> {
                Self::ALL.into_iter().find(|v| v.to_c() == c)
            }
        }

        #proof
        #cond
        const _: () = assert!(bindings::#name::#max.0 as usize == #n);

        #qemu_enum

        #cond
        impl<'a> Arg<'a, Required<bindings::#name>> for #name {
            unsafe fn from_c(c: Required<bindings::#name>, _: &'a Scope, member: &'static str) -> Result<Self, CommandError> {
                Self::of_c(c.0).ok_or_else(|| CommandError::new(format_args!("Parameter '{member}' has no value {}", c.0.0)))
            }
        }

        #cond
        impl<'a> Arg<'a, OptionalEnum<(bool, bindings::#name)>> for Option<#name> {
            unsafe fn from_c(c: OptionalEnum<(bool, bindings::#name)>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {
                let (has, value) = c.0;
                if !has {
                    return Ok(None);
                }
                #fwd_enum
                unsafe { Arg::from_c(Required(value), scope, member) }.map(Some)
            }
        }

        #cond
        impl<'a> Arg<'a, Required<*const c_char>> for #name {
            unsafe fn from_c(c: Required<*const c_char>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {
                #fwd_name
                let text: &'a str = unsafe { Arg::from_c(c, scope, member) }?;
                Self::from_name(text).ok_or_else(|| CommandError::new(format_args!("Parameter '{member}' does not accept value '{text}'")))
            }
        }

        #cond
        impl<'a> Arg<'a, OptionalEnum<*const c_char>> for Option<#name> {
            unsafe fn from_c(c: OptionalEnum<*const c_char>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {
                if c.0.is_null() {
                    return Ok(None);
                }
                #fwd
                unsafe { Arg::from_c(Required(c.0), scope, member) }.map(Some)
            }
        }
    }
}

/// A QAPI struct as a Rust struct that `Ret` turns into glib-allocated C.
pub fn structure(s: &Struct, fields: &[Field], union: Option<&Union>, cond: &Cond) -> TokenStream {
    let name = id(&s.c_name);
    let mut text = format!("QAPI struct `{}` ({}), returned to QEMU in glib memory.", s.name, s.file);
    if let Some(u) = union {
        text.push_str(&format!(
            "\n\nA union: its discriminator `{}` is the variant of `u`, `qapi::{}`.",
            u.tag_member, u.name
        ));
    }
    if let Some(base) = &s.base {
        // QEMU's C struct has the base's members first, as the flat member list does.
        text.push_str(&format!("\n\nIts first members are those of its base, `{base}`."));
    }
    let d = doc(&text);
    let mut decls = Vec::new();
    let mut fill = Vec::new();
    let mut faults = Vec::new();
    for f in fields {
        let field = id(&f.rust);
        let cfield = id(&f.c);
        let this = quote!(self.#field);
        let check = match &f.ty {
            FieldType::List(_) | FieldType::Struct { boxed: false, .. } => Some(ret_fault(quote!(v))),
            FieldType::Struct { boxed: true, .. } => Some(ret_fault(quote!(&**v))),
            FieldType::Value(k) => crossing(k).fault.map(|g| g(quote!(v))),
        };
        if let Some(check) = check {
            let member = f.name.as_str();
            faults.push(member_fault(
                this.clone(),
                f.optional,
                &f.cfg,
                check,
                quote!(Some(f.in_member(#member))),
            ));
        }
        let (ty, value) = match (&f.ty, f.optional) {
            (FieldType::List(list), false) => {
                let list = id(list);
                (quote!(qapi::#list), quote!(#this.into_raw()))
            }
            (FieldType::List(list), true) => {
                let list = id(list);
                (quote!(Option<qapi::#list>), quote!(#this.map_or(ptr::null_mut(), List::into_raw)))
            }
            (FieldType::Struct { c_name, boxed }, optional) => {
                let t = id(c_name);
                let (ty, take) = if *boxed {
                    (quote!(Box<qapi::#t>), quote!(|v: Box<qapi::#t>| Ret::into_c(*v)))
                } else {
                    (quote!(qapi::#t), quote!(Ret::into_c))
                };
                if optional {
                    (quote!(Option<#ty>), quote!(#this.map_or(ptr::null_mut(), #take)))
                } else if *boxed {
                    (ty, quote!(Ret::into_c(*#this)))
                } else {
                    (ty, quote!(Ret::into_c(#this)))
                }
            }
            (FieldType::Value(k), optional) => {
                let x = crossing(k);
                let owned = x.owned;
                if optional {
                    (quote!(Option<#owned>), (x.to_c_optional)(this, quote!((*c).#cfield)))
                } else {
                    (owned, (x.to_c)(this))
                }
            }
        };
        let fd = doc(&format!("`{}`{}", f.name, if f.optional { " (optional)" } else { "" }));
        let cfg = cfg_attr(&f.cfg);
        decls.push(quote!(#fd #cfg pub #field: #ty,));
        if let Some(has) = &f.has {
            let has = id(&format!("has_{has}"));
            fill.push(quote!(#cfg { (*c).#has = self.#field.is_some(); }));
        }
        fill.push(quote!(#cfg { (*c).#cfield = #value; }));
    }
    let mut branch_enum = TokenStream::new();
    if let Some(u) = union {
        let (enum_decl, arms, fault_arms) = union_owned(u, cond);
        branch_enum = enum_decl;
        let ud = doc("The branch, which sets the discriminator.");
        let branch = id(&u.name);
        decls.push(quote!(#ud pub u: qapi::#branch,));
        fill.push(quote!(match self.u { #(#arms)* }));
        // A branch's members sit beside the struct's own in JSON: no member of its own.
        faults.push(quote!(match &self.u { #(#fault_arms)* }));
    }
    let free = format!("qapi_free_{}", s.c_name);
    let safety = comment(&format!(
        "SAFETY: the struct and every string, list and struct in it come from glib's allocator\n\
         (`g_new0`, `GString`, `List`), as {free} expects."
    ));
    let fill_safety = comment(&format!(
        "SAFETY: `c` is zeroed, exclusively ours and sized for the struct; each string\n\
         member takes a glib allocation, which QEMU's {free} releases."
    ));
    let ret = ret_in_glib(&name, cond, safety, fill_safety, quote!(#(#fill)*), quote!(#(#faults)* None));
    quote! {
        #d
        #cond
        #[derive(Debug)]
        pub struct #name {
            #(#decls)*
        }

        #ret

        #branch_enum
    }
}

pub(crate) fn cfg_attr(c: &Option<TokenStream>) -> TokenStream {
    c.as_ref().map(|p| quote!(#[cfg(#p)])).unwrap_or_default()
}

/// The owned branch enum, the arms that fill the C union from `self.u`, and the arms
/// that return the branch's fault (matching `&self.u`).
pub(crate) fn union_owned(u: &Union, cond: &Cond) -> (TokenStream, Vec<TokenStream>, Vec<TokenStream>) {
    let name = id(&u.name);
    let tag_field = id(&u.tag_field);
    let tag_enum = id(&u.tag_enum);
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut fault_arms = Vec::new();
    for v in &u.variants {
        let cfg = cfg_attr(&v.cfg);
        let rust = id(&v.rust);
        let vd = doc(&format!("`{}`", v.value));
        match &v.branch {
            Some((field, branch)) => {
                let field = id(field);
                let branch = id(branch);
                let (ty, value, check) = if v.recursive {
                    (quote!(Box<qapi::#branch>), quote!(g_unbox(Ret::into_c(*v))), ret_fault(quote!(&**v)))
                } else {
                    (quote!(qapi::#branch), quote!(g_unbox(Ret::into_c(v))), ret_fault(quote!(v)))
                };
                fault_arms.push(quote! {
                    #cfg
                    qapi::#name::#rust(v) => if let Some(f) = #check { return Some(f); },
                });
                variants.push(quote!(#vd #cfg #rust(#ty),));
                arms.push(quote! {
                    #cfg
                    qapi::#name::#rust(v) => {
                        (*c).#tag_field = qapi::#tag_enum::#rust.to_c();
                        (*c).u.#field = #value;
                    }
                });
            }
            None => {
                variants.push(quote!(#vd #cfg #rust,));
                arms.push(quote! {
                    #cfg
                    qapi::#name::#rust => (*c).#tag_field = qapi::#tag_enum::#rust.to_c(),
                });
                fault_arms.push(quote!(#cfg qapi::#name::#rust => {}));
            }
        }
    }
    let d = doc(&format!(
        "The branches of QAPI union `{}`, one per value of its discriminator `{}`.",
        u.union, u.tag_member
    ));
    let decl = quote! {
        #d
        #cond
        #[derive(Debug)]
        pub enum #name {
            #(#variants)*
        }
    };
    (decl, arms, fault_arms)
}

/// The C parameters (name, type) a member is passed as: the `has_` flag, then the value.
pub fn c_params(p: &Param) -> Vec<(Ident, TokenStream)> {
    let mut v = Vec::new();
    if p.member.has {
        v.push((flag_local(&p.member.c_name), quote!(bool)));
    }
    v.push((local(&p.member.c_name), crossing(&p.kind).c));
    v
}

/// The generated handler's local for a member's converted value. Every member's local
/// starts with `arg_` and every `has_` flag's with `flag_`; the handler's own locals
/// (`scope`, `call`, `errp`, `mon`, `qdict`, `args`, `out`) start with neither, so no
/// member name can collide with them or with each other.
pub fn local(c_name: &str) -> Ident {
    id(&format!("arg_{c_name}"))
}

pub(crate) fn flag_local(c_name: &str) -> Ident {
    id(&format!("flag_{c_name}"))
}

/// Sends the QMP event: the sender takes what a command function would (`&str`, scalars,
/// enums) and the owned `qapi::` structs and lists a command returns, copies strings
/// into NUL-terminated glib memory for the call, builds structs and lists in glib memory
/// and frees them with QEMU's `qapi_free_*` once QEMU's sender (which keeps nothing)
/// returns; it is proven against bindgen's prototype of QEMU's sender.
pub fn event(e: &Event, params: &[Param], cond: &Cond) -> TokenStream {
    let sender = id(&format!("send_{}", e.c_name));
    let f = id(&format!("qapi_event_send_{}", e.c_name));
    let mut decl = Vec::new();
    let mut prep = Vec::new();
    let mut args = Vec::new();
    let mut c_types = Vec::new();
    let mut after = Vec::new();
    let mut checks = Vec::new();
    for p in params {
        let name = id(&p.rust);
        let x = crossing(&p.kind);
        let owned = matches!(p.kind, Kind::Struct(_) | Kind::Alternate(..) | Kind::List(..) | Kind::Any);
        // A string is taken as `&str` here, not as the `GString` a struct holds.
        let check =
            if p.kind == Kind::Str { Some(quote!(Fault::of_text(v))) } else { x.fault.map(|g| g(quote!(v))) };
        if let Some(check) = check {
            let (member, event) = (p.member.name.as_str(), e.name.as_str());
            let placed = quote!(Err(f.in_member(#member).refuse_event(#event)));
            checks.push(member_fault(quote!(#name), p.member.optional, &None, check, placed));
        }
        let arg = if owned { x.owned } else { x.arg };
        decl.push(if p.member.optional { quote!(#name: Option<#arg>) } else { quote!(#name: #arg) });
        c_types.extend(c_params(p).into_iter().map(|(_, t)| t));
        let free_safety =
            comment("SAFETY: built by `Ret::into_c` in glib memory, and QEMU's sender kept nothing.");
        match (&p.kind, p.member.optional) {
            (Kind::Struct(s) | Kind::Alternate(s, _), false) => {
                let free = id(&format!("qapi_free_{s}"));
                prep.push(quote!(let #name = Ret::into_c(#name);));
                args.push(quote!(#name));
                after.push(quote!(#free_safety unsafe { bindings::#free(#name) };));
            }
            (Kind::Struct(s) | Kind::Alternate(s, _), true) => {
                let free = id(&format!("qapi_free_{s}"));
                prep.push(quote!(let #name = #name.map(Ret::into_c);));
                if p.member.has {
                    args.push(quote!(#name.is_some()));
                }
                args.push(quote!(#name.unwrap_or(ptr::null_mut())));
                after.push(
                    quote!(if let Some(#name) = #name { #free_safety unsafe { bindings::#free(#name) } }),
                );
            }
            (Kind::Any, false) => {
                prep.push(quote!(let #name = Ret::into_c(#name);));
                args.push(quote!(#name));
                let release = comment(
                    "SAFETY: our reference, from `Ret::into_c`; QEMU's sender took its own if it kept the value.",
                );
                after.push(quote!(#release unsafe { Any::release(#name) };));
            }
            (Kind::Any, true) => {
                prep.push(quote!(let #name = #name.map(Ret::into_c);));
                if p.member.has {
                    args.push(quote!(#name.is_some()));
                }
                args.push(quote!(#name.unwrap_or(ptr::null_mut())));
                let release = comment(
                    "SAFETY: our reference, from `Ret::into_c`; QEMU's sender took its own if it kept the value.",
                );
                after.push(quote!(if let Some(#name) = #name { #release unsafe { Any::release(#name) } }));
            }
            // The list stays ours, and its `Drop` frees it after the call.
            (Kind::List(..), false) => args.push(quote!(#name.as_ptr())),
            (Kind::List(..), true) => {
                if p.member.has {
                    args.push(quote!(#name.is_some()));
                }
                args.push(quote!(#name.as_ref().map_or(ptr::null_mut(), List::as_ptr)));
            }
            (Kind::Str, false) => {
                prep.push(quote!(let #name = GString::new(#name);));
                args.push(quote!(#name.as_ptr()));
            }
            (Kind::Str, true) => {
                prep.push(quote!(let #name = #name.map(GString::new);));
                if p.member.has {
                    args.push(quote!(#name.is_some()));
                }
                args.push(quote!(#name.as_ref().map_or(ptr::null(), GString::as_ptr)));
            }
            (k, false) => args.push((crossing(k).to_c)(quote!(#name))),
            (k, true) => {
                args.push(quote!(#name.is_some()));
                let zero = match k {
                    Kind::Enum(t) => {
                        let t = id(t);
                        quote!(bindings::#t(0))
                    }
                    _ => quote!(Default::default()),
                };
                args.push((crossing(k).to_c_optional)(quote!(#name), zero));
            }
        }
    }
    let d = doc(&format!(
        "Sends the QMP event `{}` ({}) to every QMP monitor; or, when a member holds what\n\
         cannot reach a client unchanged (a string with a NUL byte, a number that is not\n\
         finite), sends nothing and returns the error naming it.",
        e.name, e.file
    ));
    let safety = comment(
        "SAFETY: the strings are NUL-terminated, and they, the structs and the lists live\n\
         until the call returns; the generated sender copies what it keeps.",
    );
    let many = (decl.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    quote! {
        #d
        #cond
        #many
        pub fn #sender(#(#decl),*) -> Result<(), CommandError> {
            #(#checks)*
            #(#prep)*
            #safety
            unsafe { bindings::#f(#(#args),*) };
            #(#after)*
            Ok(())
        }

        #cond
        const _: () = {
            let _: unsafe extern "C" fn(#(#c_types),*) = bindings::#f;
        };
    }
}

/// The compile-time proof that handler `f` has exactly the type of QEMU's prototype.
pub(crate) fn proof(f: &Ident, cond: &Cond) -> TokenStream {
    let c = comment(&format!("Proof: `{f}` has exactly the type of QEMU's prototype, as bindgen reads it."));
    quote! {
        #c
        #cond
        const _: () = {
            let _ = [#f, bindings::#f];
        };
    }
}

/// QMP `c`'s handler: converts the arguments, calls the author's function and completes
/// the call with its result (`ret`: the Rust type it returns, `c_ret` QEMU's).
/// The BQL token a handler makes for its function (`bql`), when the function takes it.
pub(crate) fn bql_token(bql: bool) -> (TokenStream, Vec<Ident>) {
    if !bql {
        return (TokenStream::new(), Vec::new());
    }
    let safety = comment(
        "SAFETY: QEMU calls this handler under the BQL (a QMP command without\n\
         'allow-oob', or an HMP command) and nothing the command reaches releases it;\n\
         the token lives no longer than `scope`, this call.",
    );
    (quote! { #safety let bql = unsafe { Bql::assume_held(&scope) }; }, vec![id("bql")])
}

pub fn qmp(
    c: &Command,
    params: &[Param],
    ret: TokenStream,
    c_ret: Option<TokenStream>,
    bql: bool,
    cond: &Cond,
) -> TokenStream {
    let f = id(&format!("qmp_{}", c.c_name));
    let m = id(&c.c_name);
    let mut c_decl = Vec::new();
    let mut convert = Vec::new();
    let (token, mut call_args) = bql_token(bql);
    for p in params {
        for (n, t) in c_params(p) {
            c_decl.push(quote!(#n: #t));
        }
        let name = local(&p.member.c_name);
        let flag = flag_local(&p.member.c_name);
        let c_value = arg_c_value(p, quote!(#name), quote!(#flag));
        let member = p.member.name.as_str();
        convert.push(comment(&format!(
            "SAFETY: `{name}` is as QAPI passes it (this function's contract), lent\n\
             for a borrow of `scope`, which ends with this call."
        )));
        convert.push(quote!(let #name = unsafe { Arg::from_c(#c_value, &scope, #member) }?;));
        convert.push(trailing(&format!("command '{}', member '{member}'", c.name)));
        call_args.push(name);
    }
    c_decl.push(quote!(errp: *mut *mut bindings::Error));
    let c_ret = c_ret.map(|t| quote!(-> #t));
    let d = doc(&format!(
        "QMP `{}`, declared in {}; implemented by\n`crate::commands::{m}::{m}`.\n\n# Safety\n\
         QAPI's marshaller calls it with the arguments the schema declares (strings\n\
         NUL-terminated and valid for the call) and an `errp` QEMU's error rules allow.",
        c.name, c.file
    ));
    let name = Literal::c_string(&std::ffi::CString::new(f.to_string()).unwrap_or_default());
    let cmd_name = c.name.as_str();
    let safety = comment("SAFETY: `errp` is as QAPI passes it (this function's contract).");
    let proof = proof(&f, cond);
    quote! {
        #d
        #cond
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn #f(#(#c_decl),*) #c_ret {
            let scope = Scope::new();
            let _ = &scope;
            let call = || -> Result<#ret, CommandError> {
                #(#convert)*
                #token
                crate::commands::#m::#m(#(#call_args),*)
            };
            #safety
            unsafe { reply(#cmd_name, guard(#cmd_name, call), errp, #name) }
        }

        #proof
    }
}

/// The conversion of one HMP argument from the dispatcher's QDict into `name`.
pub fn hmp_convert(h: &HmpEntry, member: &str, optional: bool, kind: &Kind, name: &Ident) -> TokenStream {
    let key = Literal::c_string(&std::ffi::CString::new(member).unwrap_or_default());
    let get = crossing(kind).hmp_get;
    let c_value = match (get == "str", optional) {
        (true, true) if matches!(kind, Kind::Enum(_)) => quote!(qapi::OptionalEnum(args.str(#key))),
        (true, true) => quote!(Optional(args.str(#key))),
        (true, false) => quote!(Required(args.str(#key))),
        (false, true) => quote!(Optional(args.#get(#key))),
        (false, false) => quote!(Required(args.#get(#key).1)),
    };
    let safety = comment(
        "SAFETY: the dictionary's strings are NUL-terminated and live for the call,\n\
         lent for a borrow of `scope`, which ends with it.",
    );
    let note = trailing(&format!("HMP '{}', argument '{member}'", h.name));
    quote! {
        #safety
        let #name = unsafe { Arg::from_c(#c_value, &scope, #member) }?;
        #note
    }
}

/// An HMP handler around `body` (which defines `call`), with its proof.
pub fn hmp(h: &HmpEntry, what: &str, body: TokenStream) -> TokenStream {
    let f = id(&h.cmd);
    let d = doc(&format!(
        "HMP `{}`, declared in {}; {what}.\n\n# Safety\n\
         The HMP dispatcher calls it with the calling monitor and the arguments it parsed\n\
         according to `args_type`, both valid for the call.",
        h.name, h.file
    ));
    let name = Literal::c_string(&std::ffi::CString::new(h.cmd.as_str()).unwrap_or_default());
    let cmd_name = h.name.as_str();
    let args_safety =
        comment("SAFETY: `qdict` is the dispatcher's argument dictionary (this function's contract).");
    let safety = comment("SAFETY: `mon` is the calling monitor (this function's contract).");
    let proof = proof(&f, &Cond::default());
    quote! {
        #d
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn #f(mon: *mut bindings::Monitor, qdict: *const bindings::QDict) {
            #args_safety
            let args = unsafe { HmpArgs::new(qdict) };
            let _ = &args;
            let scope = Scope::new();
            let _ = &scope;
            #body
            #safety
            unsafe { hmp_reply(mon, guard(#cmd_name, call), #name) }
        }

        #proof
    }
}

/// The body of an HMP twin: the QMP command's function, called with the HMP arguments.
pub fn hmp_twin_body(c: &Command, converts: Vec<TokenStream>, names: Vec<Ident>, bql: bool) -> TokenStream {
    let m = id(&c.c_name);
    let (token, mut args) = bql_token(bql);
    args.extend(names);
    quote! {
        let call = || -> Result<(), CommandError> {
            #(#converts)*
            #token
            crate::commands::#m::#m(#(#args),*)
        };
    }
}

/// The body of an HMP-only handler: the author's function gets the monitor first.
pub fn hmp_body(h: &HmpEntry, converts: Vec<TokenStream>, names: Vec<Ident>, bql: bool) -> TokenStream {
    let m = id(&h.module);
    let f = id(&h.cmd);
    let safety = comment("SAFETY: `mon` is the calling monitor, valid for the call.");
    let (token, mut args) = bql_token(bql);
    args.extend(names);
    quote! {
        let call = || -> Result<(), CommandError> {
            #(#converts)*
            #safety
            let mut out = unsafe { Monitor::new(mon) };
            #token
            crate::commands::#m::#f(&mut out, #(#args),*)
        };
    }
}

/// `qapi::features(name)`: the features the schema gives an entity or member (see
/// `glue::features_of` for the names), such as `deprecated` or `unstable`; empty for
/// one without. QEMU's dispatcher applies its policy for them before a handler runs;
/// this lets a command see them too.
pub fn features(entries: &[(String, Vec<String>)]) -> TokenStream {
    let arms = entries.iter().map(|(name, f)| quote!(#name => &[#(#f),*],));
    let body = if entries.is_empty() {
        quote!(let _ = name; &[])
    } else {
        quote!(match name { #(#arms)* _ => &[], })
    };
    quote! {
        /// The features the schema gives `name`: a command, event, struct or enum by its
        /// schema name, a member or enum value as `owner.member`; empty for one without.
        #[allow(dead_code)]
        pub fn features(name: &str) -> &'static [&'static str] {
            #body
        }
    }
}

/// The schema's types and event senders, in `mod qapi`.
pub fn qapi_module(items: Vec<TokenStream>) -> TokenStream {
    quote! {
        /// Rust forms of the schema's types and a sender per event.
        pub mod qapi {
            #[allow(unused_imports)]
            use super::*;

            /// An optional enum member's C value, as `Optional` is for the layer's own
            /// types: the orphan rule lets this crate implement the layer's `Arg` for
            /// `Option<Enum>` only with a type of its own in the impl.
            #[allow(dead_code)]
            pub struct OptionalEnum<C>(pub C);

            #(#items)*
        }
    }
}

/// `ListRead` for a list a command receives: a node's value as `Arg` takes it.
pub fn list_read(l: &List, cond: &Cond) -> TokenStream {
    let c = id(&l.c_name);
    let (c_value, get) = match &l.elem {
        Elem::Value(Kind::Str) => (quote!(*const c_char), quote!(unsafe { (*node).value.cast_const() })),
        Elem::Value(k) => (crossing(k).c, quote!(unsafe { (*node).value })),
        Elem::Struct(s) => {
            let s = id(s);
            (quote!(*mut bindings::#s), quote!(unsafe { (*node).value }))
        }
    };
    let safety = comment("SAFETY: `value` and `following` read the node's own fields.");
    let get_safety = comment("SAFETY: `node` is a valid node (the trait's contract).");
    let next_safety = comment("SAFETY: as above.");
    quote! {
        #safety
        #cond
        unsafe impl ListRead for bindings::#c {
            type C = #c_value;
            unsafe fn value(node: *const Self) -> #c_value {
                #get_safety
                #get
            }
            unsafe fn following(node: *const Self) -> *const Self {
                #next_safety
                unsafe { (*node).next }
            }
        }
    }
}

/// A QAPI struct a command receives, as `qapi::borrowed::<Struct><'a>`: each member
/// converted as the same member of a command would be, strings and lists borrowing from
/// QEMU's argument for the call. `members` holds each member with whether it can
/// contain this struct (then it is boxed).
pub fn borrowed(s: &Struct, members: &[(Param, bool)], union: Option<&Union>, cond: &Cond) -> TokenStream {
    let name = id(&s.c_name);
    let d = doc(&format!(
        "QAPI struct `{}` ({}) as a command receives it, borrowed from QEMU's\n\
         argument for the call.",
        s.name, s.file
    ));
    let mut decls = Vec::new();
    let mut convert = Vec::new();
    let mut fill = Vec::new();
    for (p, recursive) in members {
        let field = id(&p.rust);
        let mut ty = received_type(&p.kind);
        if *recursive {
            ty = quote!(Box<#ty>);
        }
        if p.member.optional {
            ty = quote!(Option<#ty>);
        }
        let fd = doc(&format!("`{}`{}", p.member.name, if p.member.optional { " (optional)" } else { "" }));
        let cfg = cfg_attr(&p.cfg);
        decls.push(quote!(#fd #cfg pub #field: #ty,));
        let cfield = id(&names::bindgen_field(&p.member.c_name));
        let value = match &p.kind {
            Kind::Str => quote!(c.#cfield.cast_const()),
            _ => quote!(c.#cfield),
        };
        let flag = id(&format!("has_{}", p.member.c_name));
        let c_value = arg_c_value(p, value, quote!(c.#flag));
        let member = p.member.name.as_str();
        let local = local(&p.member.c_name);
        convert.push(comment(
            "SAFETY: the member is as QAPI passes it (our contract), valid while `scope` lives.",
        ));
        convert.push(quote!(#cfg let #local = unsafe { Arg::from_c(#c_value, scope, #member) }?;));
        fill.push(quote!(#cfg #field: #local,));
    }
    let mut branch_enum = TokenStream::new();
    let mut union_borrows = false;
    if let Some(u) = union {
        let (decl, convert_u, borrows) = union_received(u, cond);
        branch_enum = decl;
        union_borrows = borrows;
        let branch = id(&u.name);
        let ud = doc("The branch, as the discriminator says.");
        let ty = if borrows { quote!(qapi::borrowed::#branch<'a>) } else { quote!(qapi::borrowed::#branch) };
        decls.push(quote!(#ud pub u: #ty,));
        convert.push(convert_u);
        fill.push(quote!(u: arg_u,));
    }
    // A conditional member may be compiled out, so only the others count.
    if !union_borrows && !members.iter().any(|(p, _)| p.cfg.is_none() && borrows(&p.kind)) {
        decls.push(quote! {
            /// Nothing here borrows; every received struct takes a lifetime all the same.
            pub _borrow: ::core::marker::PhantomData<&'a ()>,
        });
        fill.push(quote!(_borrow: ::core::marker::PhantomData,));
    }
    let safety = comment(
        "SAFETY: `c` is as QAPI passes a member of this type (our contract): NULL only\n\
         when absent, else a valid struct whose pointers stay valid while `scope` lives;\n\
         each member is forwarded as QAPI passes it.",
    );
    quote! {
        #d
        #cond
        #[derive(Debug)]
        pub struct #name<'a> {
            #(#decls)*
        }

        #cond
        impl<'a> Arg<'a, Required<*mut bindings::#name>> for #name<'a> {
            unsafe fn from_c(c: Required<*mut bindings::#name>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {
                if c.0.is_null() {
                    return Err(CommandError::new(format_args!("Parameter '{member}' is missing")));
                }
                #safety
                let c = unsafe { &*c.0 };
                let _ = c;
                #(#convert)*
                Ok(#name {
                    #(#fill)*
                })
            }
        }

        #branch_enum
    }
}

/// The received branch enum (with a lifetime when a branch has members), the statement
/// that converts `c.u` into `arg_u` by the discriminator, and whether it borrows.
pub(crate) fn union_received(u: &Union, cond: &Cond) -> (TokenStream, TokenStream, bool) {
    let name = id(&u.name);
    let tag_field = id(&u.tag_field);
    let tag_enum = id(&u.tag_enum);
    let borrows = u.variants.iter().any(|v| v.branch.is_some());
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    for v in &u.variants {
        let cfg = cfg_attr(&v.cfg);
        let rust = id(&v.rust);
        let vd = doc(&format!("`{}`", v.value));
        match &v.branch {
            Some((field, branch)) => {
                let field = id(field);
                let branch = id(branch);
                let ty = quote!(qapi::borrowed::#branch<'a>);
                let ty = if v.recursive { quote!(Box<#ty>) } else { ty };
                variants.push(quote!(#vd #cfg #rust(#ty),));
                let value = v.value.as_str();
                let safety = comment(
                    "SAFETY: the discriminator says this branch is the one QAPI filled, and it\n\
                     lives in `c`, valid while `scope` lives (our contract).",
                );
                arms.push(quote! {
                    #cfg
                    Some(qapi::#tag_enum::#rust) => {
                        #safety
                        let branch = unsafe { Arg::from_c(Required((&raw const c.u.#field).cast_mut()), scope, #value) }?;
                        qapi::borrowed::#name::#rust(branch)
                    }
                });
            }
            None => {
                variants.push(quote!(#vd #cfg #rust,));
                arms.push(quote!(#cfg Some(qapi::#tag_enum::#rust) => qapi::borrowed::#name::#rust,));
            }
        }
    }
    let tag_member = u.tag_member.as_str();
    let d = doc(&format!(
        "The branches of QAPI union `{}` as a command receives it, one per value of its\n\
         discriminator `{}`.",
        u.union, u.tag_member
    ));
    let lifetime = borrows.then(|| quote!(<'a>));
    let decl = quote! {
        #d
        #cond
        #[derive(Debug)]
        pub enum #name #lifetime {
            #(#variants)*
        }
    };
    let convert = quote! {
        let arg_u = match qapi::#tag_enum::of_c(c.#tag_field) {
            #(#arms)*
            None => {
                return Err(CommandError::new(format_args!(
                    "Parameter '{member}' has no value {} for its discriminator '{}'", c.#tag_field.0, #tag_member
                )));
            }
        };
    };
    (decl, convert, borrows)
}

/// `qapi::borrowed`: the structs commands receive.
pub fn borrowed_module(items: Vec<TokenStream>) -> TokenStream {
    quote! {
        /// The schema's structs as commands receive them: borrowed from QEMU's
        /// arguments for the call (strings as `&str`, lists as `Vec`).
        pub mod borrowed {
            #[allow(unused_imports)]
            use super::*;

            #(#items)*
        }
    }
}

/// A QAPI alternate as the Rust enum a command builds (`qapi::<Alternate>`), which `Ret`
/// turns into glib-allocated C: the variant sets the C `type`.
pub fn alternate(a: &AlternateShape, cond: &Cond) -> TokenStream {
    let name = id(&a.c_name);
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    let mut fault_arms = Vec::new();
    for v in &a.alternatives {
        let cfg = cfg_attr(&v.cfg);
        let rust = id(&v.rust);
        let field = id(&v.field);
        let qtype = id(&v.qtype);
        let vd = doc(&format!("`{}`", v.value));
        let set_type = quote!((*c).type_ = bindings::QType::#qtype;);
        match &v.kind {
            None => {
                variants.push(quote!(#vd #cfg #rust,));
                arms.push(quote! {
                    #cfg
                    #name::#rust => {
                        #set_type
                        (*c).u.#field = Ret::into_c(Any::Null).cast();
                    }
                });
                fault_arms.push(quote!(#cfg #name::#rust => None,));
            }
            Some(k) => {
                let (ty, value) = match k {
                    // A struct is embedded by value in the C union.
                    Kind::Struct(st) => {
                        let st = id(st);
                        (quote!(qapi::#st), quote!(g_unbox(Ret::into_c(v))))
                    }
                    k => {
                        let x = crossing(k);
                        (x.owned, (x.to_c)(quote!(v)))
                    }
                };
                let (ty, take) =
                    if v.recursive { (quote!(Box<#ty>), quote!(let v = *v;)) } else { (ty, quote!()) };
                let by_ref = if v.recursive { quote!(&**v) } else { quote!(v) };
                let check = crossing(k).fault.map(|g| g(by_ref));
                fault_arms.push(match check {
                    Some(check) => quote!(#cfg #name::#rust(v) => #check,),
                    None => quote!(#cfg #name::#rust(_) => None,),
                });
                variants.push(quote!(#vd #cfg #rust(#ty),));
                arms.push(quote! {
                    #cfg
                    #name::#rust(v) => {
                        #take
                        #set_type
                        (*c).u.#field = #value;
                    }
                });
            }
        }
    }
    let d = doc(&format!("QAPI alternate `{}` ({}), returned to QEMU in glib memory.", a.name, a.file));
    let free = format!("qapi_free_{}", a.c_name);
    let safety = comment(&format!(
        "SAFETY: the alternate and what it holds come from glib's allocator (`g_new0`,\n\
         `GString`, `List`, QObject's own), as {free} expects."
    ));
    let fill_safety = comment(
        "SAFETY: `c` is zeroed and ours; `type` names the one field of `u` set, which\n\
         takes a glib allocation (or a QNull reference) the struct now owns.",
    );
    let ret = ret_in_glib(
        &name,
        cond,
        safety,
        fill_safety,
        quote!(match self { #(#arms)* }),
        quote!(match self { #(#fault_arms)* }),
    );
    quote! {
        #d
        #cond
        #[derive(Debug)]
        pub enum #name {
            #(#variants)*
        }

        #ret
    }
}

/// A QAPI alternate as a command receives it (`qapi::borrowed::<Alternate>`), chosen by
/// the C `type` QEMU's input visitor set.
pub fn alternate_received(a: &AlternateShape, cond: &Cond) -> TokenStream {
    let name = id(&a.c_name);
    let lifetime = a.borrows.then(|| quote!(<'a>));
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    for v in &a.alternatives {
        let cfg = cfg_attr(&v.cfg);
        let rust = id(&v.rust);
        let field = id(&v.field);
        let qtype = id(&v.qtype);
        let vd = doc(&format!("`{}`", v.value));
        let member = v.value.as_str();
        match &v.kind {
            None => {
                variants.push(quote!(#vd #cfg #rust,));
                arms.push(quote!(#cfg bindings::QType::#qtype => #name::#rust,));
            }
            Some(k) => {
                let ty = received_type(k);
                let ty = if v.recursive { quote!(Box<#ty>) } else { ty };
                variants.push(quote!(#vd #cfg #rust(#ty),));
                let value = match k {
                    Kind::Str => quote!(c.u.#field.cast_const()),
                    Kind::Struct(_) => quote!((&raw const c.u.#field).cast_mut()),
                    _ => quote!(c.u.#field),
                };
                let safety = comment(
                    "SAFETY: `type` says this field of `u` is the one QAPI filled, valid while\n\
                     `scope` lives (our contract).",
                );
                arms.push(quote! {
                    #cfg
                    bindings::QType::#qtype => {
                        #safety
                        let v = unsafe { Arg::from_c(Required(#value), scope, #member) }?;
                        #name::#rust(v)
                    }
                });
            }
        }
    }
    let d = doc(&format!(
        "QAPI alternate `{}` ({}) as a command receives it, borrowed from QEMU's\n\
         argument for the call.",
        a.name, a.file
    ));
    let safety = comment(
        "SAFETY: `c` is as QAPI passes a member of this type (our contract): NULL only\n\
         when absent, else a valid alternate whose pointers stay valid while `scope` lives.",
    );
    let impl_lifetime = if a.borrows { quote!(#name<'a>) } else { quote!(#name) };
    quote! {
        #d
        #cond
        #[derive(Debug)]
        pub enum #name #lifetime {
            #(#variants)*
        }

        #cond
        impl<'a> Arg<'a, Required<*mut bindings::#name>> for #impl_lifetime {
            unsafe fn from_c(c: Required<*mut bindings::#name>, scope: &'a Scope, member: &'static str) -> Result<Self, CommandError> {
                let _ = scope;
                if c.0.is_null() {
                    return Err(CommandError::new(format_args!("Parameter '{member}' is missing")));
                }
                #safety
                let c = unsafe { &*c.0 };
                Ok(match c.type_ {
                    #(#arms)*
                    other => {
                        return Err(CommandError::new(format_args!(
                            "Parameter '{member}' has no alternative for QType {}", other.0
                        )));
                    }
                })
            }
        }
    }
}

/// The handler of a `'gen': false` command, which QEMU registers as it is
/// (`QmpCommandFunc`): the arguments dict, copied into an `Any`, and the command's
/// `Option<Any>` stored in `*ret_data` (left NULL for `None`, which QEMU answers `{}`).
pub fn qmp_raw(c: &Command, cond: &Cond) -> TokenStream {
    let f = id(&format!("qmp_{}", c.c_name));
    let m = id(&c.c_name);
    let d = doc(&format!(
        "QMP `{}`, declared `'gen': false` in {}; implemented by\n`crate::commands::{m}::{m}`.\n\n# Safety\n\
         QMP's dispatcher calls it with the arguments dict, a NULL `*ret_data` to fill and\n\
         an `errp` QEMU's error rules allow.",
        c.name, c.file
    ));
    let name = Literal::c_string(&std::ffi::CString::new(f.to_string()).unwrap_or_default());
    let cmd_name = c.name.as_str();
    let args_safety = comment(
        "SAFETY: `args` is the dispatcher's dictionary (this function's contract); a QDict\n\
         begins with its QObject, as QEMU's QOBJECT() has it.",
    );
    let safety = comment("SAFETY: `errp` is as QMP's dispatcher passes it (this function's contract).");
    let out_safety =
        comment("SAFETY: `ret_data` is the dispatcher's, valid for the call (this function's contract).");
    let c_comment = comment("Proof: QEMU registers it as a `QmpCommandFunc`.");
    quote! {
        #d
        #cond
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn #f(args: *mut bindings::QDict, ret_data: *mut *mut bindings::QObject, errp: *mut *mut bindings::Error) {
            let scope = Scope::new();
            let call = || -> Result<Option<Any>, CommandError> {
                #args_safety
                let args = unsafe { Arg::from_c(Required(args.cast::<bindings::QObject>()), &scope, "args") }?;
                crate::commands::#m::#m(args)
            };
            #safety
            let out = unsafe { reply(#cmd_name, guard(#cmd_name, call), errp, #name) };
            if !out.is_null() {
                #out_safety
                unsafe { *ret_data = out };
            }
        }

        #c_comment
        #cond
        const _: bindings::QmpCommandFunc = Some(#f);
    }
}

/// `Ret` for a type QEMU's C holds as a glib-allocated struct: `into_c` zeroes one with
/// `g_new0` and runs `fill` (statements over `self` and `c`) under `fill_safety`.
pub(crate) fn ret_in_glib(
    name: &Ident,
    cond: &Cond,
    safety: TokenStream,
    fill_safety: TokenStream,
    fill: TokenStream,
    fault: TokenStream,
) -> TokenStream {
    quote! {
        #safety
        #cond
        unsafe impl Ret for #name {
            type C = *mut bindings::#name;
            fn into_c(self) -> *mut bindings::#name {
                let c = g_new0::<bindings::#name>();
                #fill_safety
                unsafe {
                    #fill
                }
                c
            }
            fn failed() -> *mut bindings::#name {
                ptr::null_mut()
            }
            fn fault(&self) -> Option<Fault> {
                #fault
            }
        }
    }
}

/// The check of one member (`name`) whose value `check` reads through the reference
/// `v`: statements that return its fault, placed in the member path, if it has one.
pub(crate) fn member_fault(
    this: TokenStream,
    optional: bool,
    cfg: &Option<TokenStream>,
    check: TokenStream,
    placed: TokenStream,
) -> TokenStream {
    let cfg = cfg_attr(cfg);
    let test = quote!(if let Some(f) = #check { return #placed; });
    if optional {
        quote!(#cfg if let Some(v) = &#this { #test })
    } else {
        quote!(#cfg { let v = &#this; #test })
    }
}

/// Each writer alone, on the lowering of a small schema: what it writes parses, every
/// `unsafe` block and impl in it has its `SAFETY:` comment, and the lines a command
/// author or QEMU relies on are there.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::*;

    /// The condition the writers' tests write under.
    fn cond() -> Cond {
        Cond(Some(quote!(qemu_config = "CONFIG_T")))
    }

    /// Every item of `tokens` but the comment markers is under [`cond`]: its first
    /// attribute after the doc comment is `#[cfg(qemu_config = "CONFIG_T")]`, where
    /// QEMU's C has the entity under `#if`.
    fn assert_under_cond(tokens: &TokenStream) {
        let file: syn::File = syn::parse2(tokens.clone()).unwrap_or_else(|e| panic!("{e}: {tokens}"));
        let want: syn::Attribute = syn::parse_quote!(#[cfg(qemu_config = "CONFIG_T")]);
        for item in &file.items {
            let attrs = match item {
                syn::Item::Macro(_) => continue,
                syn::Item::Const(i) => &i.attrs,
                syn::Item::Enum(i) => &i.attrs,
                syn::Item::Fn(i) => &i.attrs,
                syn::Item::Impl(i) => &i.attrs,
                syn::Item::Struct(i) => &i.attrs,
                syn::Item::Type(i) => &i.attrs,
                other => panic!("an item of a kind the test does not know: {}", quote!(#other)),
            };
            let first = attrs.iter().find(|a| !a.path().is_ident("doc"));
            assert!(first == Some(&want), "not under the condition: {}", quote!(#item));
        }
    }

    /// The items of an entity's writer, each under [`cond`], rendered (see [`printed`]).
    fn rendered(tokens: TokenStream) -> String {
        assert_under_cond(&tokens);
        printed(tokens)
    }

    /// The writer's items rendered as the glue is, each `unsafe` checked for its comment.
    fn printed(tokens: TokenStream) -> String {
        let text = render("a writer's test", tokens).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if !(code.contains("unsafe {") || code.trim_start().starts_with("unsafe impl")) {
                continue;
            }
            // The comment block right above, or one ending the line itself.
            let above = lines[..i].iter().rev().take_while(|l| l.trim_start().starts_with("//"));
            let commented = line.contains("// SAFETY:")
                || above.clone().any(|l| l.trim_start().starts_with("// SAFETY:"))
                // A statement printed over several lines: its first line's comment.
                || lines[..i]
                    .iter()
                    .rev()
                    .take_while(|l| !l.trim_end().ends_with(';') && !l.trim_end().ends_with('{'))
                    .any(|l| l.contains("// SAFETY:"));
            assert!(commented, "line {}: unsafe without a SAFETY comment:\n{text}", i + 1);
        }
        text
    }

    /// The fixture with an alternate, a received list of structs and of strings, and an
    /// event.
    fn wide() -> Schema {
        let mut s = schema();
        s.commands.retain(|c| c.name != "query-bad");
        let set = vec![member("things", "ThingList", false), member("names", "strList", true)];
        s.commands.push(serde_json::from_value(command("set-things", set, None)).unwrap());
        s.commands.push(
            serde_json::from_value(command("set-value", vec![member("v", "Value", false)], None)).unwrap(),
        );
        s.commands
            .push(serde_json::from_value(command("query-value", vec![], Some(("Value", None)))).unwrap());
        s.alternates.push(
            serde_json::from_value(serde_json::json!({ "name": "Value", "c_name": "Value", "file": "qapi/x.json",
                "if": null, "alternatives": [
                    { "name": "n", "c_name": "n", "type": "int", "element": null, "qtype": "QTYPE_QNUM", "if": null },
                    { "name": "s", "c_name": "s", "type": "str", "element": null, "qtype": "QTYPE_QSTRING", "if": null }
                ] }))
            .unwrap(),
        );
        s.events.push(
            serde_json::from_value(serde_json::json!({ "name": "THING_SEEN", "c_name": "thing_seen",
                "file": "qapi/x.json", "args": [member("thing", "Thing", false), member("note", "str", true)],
                "boxed": false, "if": null, "features": [] }))
            .unwrap(),
        );
        s
    }

    fn command_of<'s>(s: &'s Schema, name: &str) -> &'s Command {
        s.commands.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn enumeration_counts_its_values_against_qemus_max() {
        let s = wide();
        let e = &s.enums[0];
        let text = rendered(enumeration(e, &["Plain".to_string()], &[None], &cond()));
        has_all(
            &text,
            &[
                "pub enum Style { /// `plain` Plain, }",
                "pub const ALL: [Style; 1] = [Self::Plain];",
                "Self::Plain => \"plain\",",
                "Self::Plain => bindings::Style::STYLE_PLAIN,",
                "const _: () = assert!(bindings::Style::STYLE__MAX.0 as usize == 1);",
                "impl<'a> Arg<'a, Required<bindings::Style>> for Style {",
                "impl<'a> Arg<'a, OptionalEnum<*const c_char>> for Option<Style> {",
            ],
        );
    }

    #[test]
    fn list_builds_in_glib_memory_and_list_read_walks_qemus() {
        let s = wide();
        let lists = lists(&s).unwrap();
        let things = lists.iter().find(|l| l.c_name == "ThingList").unwrap();
        assert!(things.built && things.received, "{things:?}");
        has_all(
            &rendered(list(things, &cond())),
            &[
                "pub type ThingList = List<bindings::ThingList>;",
                "unsafe impl ListNode for bindings::ThingList { type Value = qapi::Thing;",
                "unsafe { (*node).value = Ret::into_c(v) };",
                "unsafe { bindings::qapi_free_ThingList(list) }",
                "fn fault(v: &qapi::Thing) -> Option<Fault> {",
            ],
        );
        has_all(
            &rendered(list_read(things, &cond())),
            &["unsafe impl ListRead for bindings::ThingList { type C = *mut bindings::Thing;"],
        );
        let names = lists.iter().find(|l| l.c_name == "strList").unwrap();
        assert!(names.received && !names.built, "{names:?}");
        has_all(
            &rendered(list_read(names, &cond())),
            &["unsafe impl ListRead for bindings::strList { type C = *const c_char;"],
        );
    }

    #[test]
    fn structure_and_borrowed_are_the_two_directions_of_a_struct() {
        let s = wide();
        let thing = &s.structs[0];
        let fields = fields(thing, &s, &lists(&s).unwrap()).unwrap();
        has_all(
            &rendered(structure(thing, &fields, None, &cond())),
            &[
                "/// QAPI struct `Thing` (qapi/x.json), returned to QEMU in glib memory.",
                "pub struct Thing { /// `style` pub style: qapi::Style, }",
                "(*c).style = self.style.to_c();",
            ],
        );
        let members = params("struct 'Thing'", &thing.file, &thing.members, &s).unwrap();
        let members: Vec<(Param, bool)> = members.into_iter().map(|p| (p, false)).collect();
        has_all(
            &rendered(borrowed(thing, &members, None, &cond())),
            &["pub struct Thing<'a> { /// `style` pub style: qapi::Style,"],
        );
    }

    #[test]
    fn alternate_and_alternate_received_branch_on_the_qtype() {
        let s = wide();
        let shape = alternate_shape(&s.alternates[0], &s).unwrap();
        let built = rendered(alternate(&shape, &cond()));
        has_all(&built, &["pub enum Value {", "N(i64),", "S(GString),", "bindings::QType::QTYPE_QNUM"]);
        let received = rendered(alternate_received(&shape, &cond()));
        has_all(&received, &["pub enum Value<'a> {", "S(&'a str),", "bindings::QType::QTYPE_QSTRING"]);
    }

    #[test]
    fn event_sends_through_qemus_sender_and_frees_what_it_built() {
        let s = wide();
        let e = &s.events[0];
        let params = params("event 'THING_SEEN'", &e.file, &e.args, &s).unwrap();
        has_all(
            &rendered(event(e, &params, &cond())),
            &[
                "pub fn send_thing_seen( thing: qapi::Thing, note: Option<&str>, ) -> Result<(), CommandError> {",
                "bindings::qapi_event_send_thing_seen(",
                "unsafe { bindings::qapi_free_Thing(thing) };",
            ],
        );
    }

    #[test]
    fn qmp_handler_has_qemus_prototype_and_its_proof() {
        let s = wide();
        let c = command_of(&s, "query-one");
        let members = command_members(c);
        let params = params("command 'query-one'", &c.file, &members, &s).unwrap();
        let (ret, c_ret) = return_type(c, &s, &lists(&s).unwrap()).unwrap();
        let text = rendered(qmp(c, &params, ret, c_ret, false, &cond()));
        has_all(
            &text,
            &[
                "#[unsafe(no_mangle)] pub unsafe extern \"C\" fn qmp_query_one(",
                "-> *mut bindings::Thing {",
                "crate::commands::query_one::query_one(",
            ],
        );
        // The proof: the handler coerces to bindgen's type for QEMU's prototype.
        assert!(text.contains("bindings::qmp_query_one"), "{text}");
        // With the lock: the token is made once and passed first.
        let c = command_of(&s, "query-text");
        let (ret, c_ret) = return_type(c, &s, &lists(&s).unwrap()).unwrap();
        has_all(
            &rendered(qmp(c, &[], ret, c_ret, true, &cond())),
            &[
                "let bql = unsafe { Bql::assume_held(&scope) };",
                "crate::commands::query_text::query_text(bql",
            ],
        );
    }

    #[test]
    fn qmp_raw_passes_the_arguments_dict() {
        let mut s = wide();
        let c = s.commands.iter_mut().find(|c| c.name == "set-value").unwrap();
        c.r#gen = false;
        let text = rendered(qmp_raw(c, &cond()));
        has_all(
            &text,
            &["pub unsafe extern \"C\" fn qmp_set_value(", "crate::commands::set_value::set_value("],
        );
    }

    #[test]
    fn hmp_reads_its_arguments_from_the_qdict() {
        let h = crate::hx::read(
            "qapi/k.hx",
            "    {\n        .name       = \"k\",\n        .args_type  = \"a:s,n:i?\",\n        \
             .params     = \"\",\n        .help       = \"k\",\n        .cmd        = hmp_k,\n    }},\n\n\
             SRST\n``k``\n  K.\nERST\n",
        )
        .unwrap();
        let names = vec![local("a"), local("n")];
        let converts = h
            .args
            .iter()
            .zip(&names)
            .map(|(a, n)| hmp_convert(&h, &a.name, a.optional, &crate::lower::hmp_kind(a.value), n))
            .collect();
        let text = printed(hmp(
            &h,
            "implemented by `crate::commands::k::hmp_k`",
            hmp_body(&h, converts, names, false),
        ));
        has_all(&text, &["pub unsafe extern \"C\" fn hmp_k(", "crate::commands::k::hmp_k("]);
    }
}
