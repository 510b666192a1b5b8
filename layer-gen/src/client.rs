// SPDX-License-Identifier: GPL-2.0-or-later
//! A writer beside the glue's: the crate's commands as a QMP client sees them, for the
//! crate's tests. One type per command (its arguments, serialized as the schema names
//! them; an optional member left out when `None`) that implements the `qapi` crate's
//! `Command`, and the structs the commands return as types that deserialize their
//! replies, refusing a member the schema does not declare. Written from the same model
//! as the handlers, so a test's call cannot drift from the declaration it tests.
//!
//! Enums are their names (`String`: a test may send a value the schema lacks), and what
//! a client builds or reads as JSON anyway (a union, an alternate, `any`, a struct as an
//! argument) is a `serde_json::Value`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::*;
use crate::names::{id, rust_ident};
use crate::write::render;

/// `hello-world` → `HelloWorld`.
fn camel(name: &str) -> String {
    name.split(['-', '_', '.'])
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// The Rust type a member of type `ty` (a list of `element`) has in the client; replies
/// reach the struct types written for them.
fn client_type(schema: &Schema, ty: &str, element: Option<&str>, reply: bool) -> TokenStream {
    if let Some(e) = element {
        let e = client_type(schema, e, None, reply);
        return quote!(::std::vec::Vec<#e>);
    }
    match ty {
        "str" => quote!(::std::string::String),
        "int" | "int8" | "int16" | "int32" | "int64" => quote!(i64),
        "uint8" | "uint16" | "uint32" | "uint64" | "size" => quote!(u64),
        "number" => quote!(f64),
        "bool" => quote!(bool),
        t if schema.enums.iter().any(|e| e.name == t) => quote!(::std::string::String),
        t => match plain_struct(schema, t).filter(|_| reply) {
            Some(s) => {
                let s = id(&s.c_name);
                quote!(#s)
            }
            None => quote!(::serde_json::Value),
        },
    }
}

/// The struct `name`, unless it is a union (read as JSON).
fn plain_struct<'s>(schema: &'s Schema, name: &str) -> Option<&'s Struct> {
    schema.structs.iter().find(|s| s.name == name && s.variants.is_none())
}

/// The fields of `members` with their serde attributes.
fn fields(schema: &Schema, members: &[Member], reply: bool) -> Result<Vec<TokenStream>, String> {
    members
        .iter()
        .map(|m| {
            let rust = rust_ident(&m.c_name)?;
            let field: TokenStream = rust.parse().map_err(|e| format!("{e:?}"))?;
            let ty = client_type(schema, &m.ty, m.element.as_deref(), reply);
            let wire = m.name.as_str();
            let rename =
                (rust.strip_prefix("r#").unwrap_or(&rust) != wire).then(|| quote!(#[serde(rename = #wire)]));
            Ok(match (m.optional, reply) {
                (false, _) => quote!(#rename pub #field: #ty,),
                (true, false) => quote! {
                    #rename
                    #[serde(skip_serializing_if = "Option::is_none")]
                    pub #field: Option<#ty>,
                },
                (true, true) => quote!(#rename #[serde(default)] pub #field: Option<#ty>,),
            })
        })
        .collect()
}

/// The crate's own commands (not QEMU's, which a schema reaches through an include).
fn own_commands(schema: &Schema) -> impl Iterator<Item = &Command> {
    schema.commands.iter().filter(|c| !c.qemu)
}

/// The structs reachable from the return values of the crate's commands, each once.
fn reply_structs(schema: &Schema) -> Vec<&Struct> {
    let mut out: Vec<&Struct> = Vec::new();
    let mut todo: Vec<&str> =
        own_commands(schema).filter_map(|c| c.ret_element.as_deref().or(c.ret.as_deref())).collect();
    while let Some(t) = todo.pop() {
        let Some(s) = plain_struct(schema, t) else { continue };
        if out.iter().any(|o| o.name == s.name) {
            continue;
        }
        out.push(s);
        todo.extend(s.members.iter().map(|m| m.element.as_deref().unwrap_or(&m.ty)));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The client's Rust text for the crate's commands in `schema`.
pub fn client(schema: &Schema) -> Result<String, String> {
    let mut items = Vec::new();
    let replies = reply_structs(schema);
    for s in &replies {
        let name = id(&s.c_name);
        let fields = fields(schema, &s.members, true)?;
        let doc =
            format!(" The reply struct `{}` ({}); a member it does not declare is an error.", s.name, s.file);
        items.push(quote! {
            #[doc = #doc]
            #[derive(::serde::Deserialize, Debug, Clone, Default, PartialEq)]
            #[serde(deny_unknown_fields)]
            pub struct #name {
                #(#fields)*
            }
        });
    }
    for c in own_commands(schema) {
        let mut name = camel(&c.name);
        if replies.iter().any(|s| s.c_name == name) {
            name.push_str("Command");
        }
        let name = id(&name);
        let members = match (&c.arg_type, c.boxed) {
            (Some(t), true) => schema.structs.iter().find(|s| &s.name == t).map(|s| s.members.clone()),
            _ => Some(c.args.clone()),
        }
        .unwrap_or_default();
        let fields = fields(schema, &members, false)?;
        let ok = match &c.ret {
            None => quote!(::serde_json::Value),
            Some(t) => client_type(schema, t, c.ret_element.as_deref(), true),
        };
        let (wire, oob) = (c.name.as_str(), c.allow_oob);
        let doc = format!(" `{}` ({}), as a client sends it.", c.name, c.file);
        items.push(quote! {
            #[doc = #doc]
            #[derive(::serde::Serialize, Debug, Clone, Default)]
            pub struct #name {
                #(#fields)*
            }

            impl ::qapi::Command for #name {
                type Ok = #ok;
                const NAME: &'static str = #wire;
                const ALLOW_OOB: bool = #oob;
            }
        });
    }
    render(
        "@generated by qemu-monitor-layer-build from the declarations in qapi/: a QMP client of \
         the crate's commands for its tests; do not edit.",
        quote!(#(#items)*),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::*;

    #[test]
    fn each_command_is_a_type_and_each_reply_struct_one_that_reads_it() {
        let text = client(&schema()).unwrap();
        has_all(
            &text,
            &[
                "impl ::qapi::Command for QueryThings { type Ok = ::std::vec::Vec<Thing>;",
                "const NAME: &'static str = \"query-things\";",
                "#[derive(::serde::Deserialize, Debug, Clone, Default, PartialEq)] #[serde(deny_unknown_fields)] pub struct Thing {",
                "impl ::qapi::Command for QueryText { type Ok = ::std::string::String;",
            ],
        );
        syn::parse_file(&text).unwrap();
        assert_eq!(camel("query-hello-vm"), "QueryHelloVm");
    }
}
