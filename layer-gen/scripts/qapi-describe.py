#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Describe the project's QAPI declarations as one QEMU release's C code sees them.

Usage: qapi-describe.py QEMU_SRC SCHEMA.json...
       qapi-describe.py QEMU_SRC --qemu-schema

The second form describes QEMU's own schema (QEMU_SRC/qapi/qapi-schema.json, every
module it includes, with QEMU's own pragmas), "file" being each entity's module
relative to QEMU_SRC (`cargo xtask coverage`).

Parses the schema files with QEMU's own QAPI front end (QEMU_SRC/scripts/qapi, the
same code that generates the C headers), with doc comments required as in
qapi/misc.json, and prints JSON on stdout:

  {"commands": [{"name", "c_name", "file", "args": [MEMBER...], "arg_type": TYPE|null,
                 "ret": TYPE|null,
                 "ret_element": TYPE|null, "gen", "success_response", "boxed",
                 "allow_oob", "coroutine", "if", "features"}],
   "events":   [{"name", "c_name", "file", "args": [MEMBER...], "arg_type": TYPE|null,
                 "boxed", "if", "features"}],
   "structs":  [{"name", "c_name", "file", "members": [MEMBER...], "base": NAME|null,
                 "branches": [NAME...]|null, "tag": C_NAME|null,
                 "variants": [{"name", "c_name", "type": TYPE|null, "if"}]|null,
                 "if", "features"}],
   "alternates": [{"name", "c_name", "file", "if", "alternatives": [{"name", "c_name",
                   "type", "element", "qtype", "if"}]}],
   "enums":    [{"name", "c_name", "file", "max", "if", "features",
                 "values": [{"name", "c_const", "if", "features"}]}],
   "docs":     [{"symbol", "file", "line", "members": [[NAME, TEXT]...], "examples": [TEXT...]}]}
  MEMBER = {"name", "c_name", "type", "optional", "has", "element", "if", "features"}

Everything a declaration says is reported, so that the generator either uses it or
refuses it by name: a struct's members are QEMU's flat list (its base's members
first, as the C struct has them), a union's branches are listed, "if" is the
condition as written (null when none) and "features" the feature names.

A union's "tag" is the C name of its discriminator member (one of "members", an enum);
"variants" has one entry per value of that enum, QEMU's implicit empty ones included,
"type" being the branch's struct (embedded by value in the C union `u`, under the
variant's C name) or null for a branch without members (which has no field in `u`).

An alternate's "alternatives" each name the QType constant ("qtype", QTYPE_QSTRING...)
its C `type` holds when that alternative is the one in its union `u`, under "c_name"
(a struct embedded by value, a string, a scalar, an enum, a list, or a QNull for
"null").

"arg_type" names the type a 'boxed' command or event takes whole (its "args" are that
type's members); it is null otherwise.

A list type (['Foo'] in the schema) is reported by its name ("FooList", also its C
name) with its element type's name as "element" ("ret_element" for a command's
return); "element" is null for other types.

An enum's "c_const" and "max" are the names of its C constants (QEMU's own
c_enum_const, so a 'prefix' and each release's spelling rule apply); the values are
numbered from 0 in declaration order.

"docs" are the doc comments of the crate's own definitions (none for --qemu-schema):
each member's text with its whitespace runs made one space, and each example's text (a
`.. qmp-example::` block's lines, or before 9.1 an `Example` section's), "line" being
where the comment starts.

"has" says whether this release's C passes a `bool has_<member>` flag for it: QEMU
before 8.0 does for every optional member, later releases only for optional scalars.
Asking QEMU's own code keeps that rule, and any later change to it, out of ours.
"""

import json
import os
import sys
import tempfile


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, files = os.path.abspath(sys.argv[1]), [os.path.abspath(f) for f in sys.argv[2:]]
    sys.path.insert(0, os.path.join(src, "scripts"))
    from qapi.common import c_enum_const, c_name
    from qapi.error import QAPIError
    from qapi.schema import QAPISchema, QAPISchemaArrayType, QAPISchemaVisitor
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from qapi_compat import schema_for

    def element(t):
        return t.element_type.name if isinstance(t, QAPISchemaArrayType) else None

    def cond(ifcond):
        if ifcond is None or not ifcond.is_present():
            return None
        return ifcond.ifcond

    def feats(features):
        return [f.name for f in features or []]

    def member(m):
        need_has = m.need_has() if hasattr(m, "need_has") else m.optional
        return {"name": m.name, "c_name": c_name(m.name), "type": m.type.name,
                "optional": m.optional, "has": need_has, "element": element(m.type),
                "if": cond(m.ifcond), "features": feats(getattr(m, "features", []))}

    def members(arg_type):
        return [member(m) for m in arg_type.members] if arg_type else []

    def origin(info):
        if info is None:
            return None
        name = os.path.basename(info.fname)
        return originals.get(name, f"qapi/{name}")

    def qemu(info):
        return info is not None and os.path.basename(info.fname) not in originals

    def examples(doc):
        # 9.1 and later: `.. qmp-example::` directives in the plain sections, each
        # followed by its indented lines (options such as `:title:` aside). Before 9.1
        # (the declarations adapted by qapi_compat): each `Example` section.
        if hasattr(doc, "all_sections"):
            found = []
            for section in doc.all_sections:
                if str(section.kind) != "Plain":
                    continue
                current = None
                for line in section.text.splitlines():
                    if line.strip() == ".. qmp-example::":
                        current = []
                        found.append(current)
                    elif current is not None and (line.startswith(" ") or not line.strip()):
                        if not line.strip().startswith(":"):
                            current.append(line)
                    else:
                        current = None
            return ["\n".join(lines).strip("\n") for lines in found]
        return [s.text.strip("\n") for s in doc.sections if s.name and s.name.startswith("Example")]

    def documented(doc):
        return {"symbol": doc.symbol, "file": originals[os.path.basename(doc.info.fname)],
                "line": doc.info.line,
                "members": [[name, " ".join(section.text.split())] for name, section in doc.args.items()],
                "examples": examples(doc)}

    out = {"commands": [], "events": [], "structs": [], "alternates": [], "enums": [], "docs": []}

    # The visitor's positional parameters are the same in 7.2 and 10.x.
    class Visitor(QAPISchemaVisitor):
        def visit_command(self, name, info, ifcond, features, arg_type, ret_type, gen,
                          success_response, boxed, allow_oob, allow_preconfig, coroutine):
            out["commands"].append({"name": name, "c_name": c_name(name), "file": origin(info),
                                    "qemu": qemu(info), "args": members(arg_type),
                                    "arg_type": arg_type.name if boxed else None,
                                    "ret": ret_type.name if ret_type else None,
                                    "ret_element": element(ret_type) if ret_type else None,
                                    "gen": gen, "success_response": success_response,
                                    "boxed": boxed, "allow_oob": allow_oob,
                                    "coroutine": coroutine,
                                    "if": cond(ifcond), "features": feats(features)})

        def visit_event(self, name, info, ifcond, features, arg_type, boxed):
            out["events"].append({"name": name, "c_name": c_name(name.lower()), "file": origin(info),
                                  "qemu": qemu(info), "args": members(arg_type), "boxed": boxed,
                                  "arg_type": arg_type.name if boxed else None,
                                  "if": cond(ifcond), "features": feats(features)})

        def visit_object_type(self, name, info, ifcond, features, base, local_members, branches):
            if info is None or name.startswith("q_"):
                return  # built-in or implicit (a command's or event's arguments)
            flat = schema.lookup_type(name).members  # base members first, as in C
            out["structs"].append({"name": name, "c_name": c_name(name), "file": origin(info),
                                   "qemu": qemu(info), "members": [member(m) for m in flat],
                                   "base": base.name if base else None,
                                   "branches": [v.name for v in branches.variants] if branches else None,
                                   "tag": c_name(branches.tag_member.name) if branches else None,
                                   "variants": [{"name": v.name, "c_name": c_name(v.name),
                                                 "type": None if v.type.name == "q_empty" else v.type.name,
                                                 "if": cond(v.ifcond)}
                                                for v in branches.variants] if branches else None,
                                   "if": cond(ifcond), "features": feats(features)})

        def visit_alternate_type(self, name, info, ifcond, features, alternatives):
            out["alternates"].append({"name": name, "c_name": c_name(name), "file": origin(info),
                                      "qemu": qemu(info), "if": cond(ifcond),
                                      "alternatives": [{"name": v.name, "c_name": c_name(v.name),
                                                        "type": v.type.name, "element": element(v.type),
                                                        "qtype": v.type.alternate_qtype(),
                                                        "if": cond(v.ifcond)}
                                                       for v in alternatives.variants]})

        def visit_enum_type(self, name, info, ifcond, features, values, prefix):
            if info is None or name.startswith("q_"):
                return
            out["enums"].append({"name": name, "c_name": c_name(name), "file": origin(info),
                                 "qemu": qemu(info), "max": c_enum_const(name, "_MAX", prefix),
                                 "if": cond(ifcond), "features": feats(features),
                                 "values": [{"name": v.name, "c_const": c_enum_const(name, v.name, prefix),
                                             "if": cond(v.ifcond),
                                             "features": feats(getattr(v, "features", []))}
                                            for v in values]})

    if sys.argv[2:] == ["--qemu-schema"]:
        originals = {}

        def origin(info):  # noqa: F811 (QEMU's module, relative to its tree)
            return os.path.relpath(info.fname, src) if info else None

        def qemu(info):  # noqa: F811
            return True

        try:
            schema = QAPISchema(os.path.join(src, "qapi", "qapi-schema.json"))
        except QAPIError as e:
            sys.exit(f"{e}")
        schema.visit(Visitor())
        json.dump(out, sys.stdout, indent=1)
        print()
        return

    with tempfile.TemporaryDirectory() as tmp:
        # Each file in this release's doc syntax, included from one top file, beside
        # QEMU's own modules, which a file may include as QEMU's modules include each
        # other ({ 'include': 'run-state.json' }).
        originals = {}
        qemu_modules = os.path.join(src, "qapi")
        mine = {os.path.basename(f) for f in files}
        for name in sorted(os.listdir(qemu_modules)):
            if name.endswith(".json"):
                if name in mine:
                    sys.exit(f"{name}: a schema file of the crate has the name of QEMU's module "
                             f"qapi/{name}, which it would hide from every include of it; rename it")
                os.symlink(os.path.join(qemu_modules, name), os.path.join(tmp, name))
        top = os.path.join(tmp, "top.json")
        with open(top, "w") as t:
            t.write("{ 'pragma': { 'doc-required': true } }\n")
            for f in files:
                name = os.path.basename(f)
                originals[name] = os.path.relpath(f)
                with open(f) as src_file, open(os.path.join(tmp, name), "w") as adapted:
                    adapted.write(schema_for(src, src_file.read()))
                t.write("{ 'include': %r }\n" % name)
        try:
            schema = QAPISchema(top)
        except QAPIError as e:
            sys.exit(f"{e}")
        schema.visit(Visitor())
        out["docs"] = [documented(doc) for doc in schema.docs
                       if doc.symbol and os.path.basename(doc.info.fname) in originals]
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
