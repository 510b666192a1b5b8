#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Describe the project's QAPI declarations as one QEMU release's C code sees them.

Usage: qapi-describe.py QEMU_SRC SCHEMA.json...

Parses the schema files with QEMU's own QAPI front end (QEMU_SRC/scripts/qapi, the
same code that generates the C headers), with doc comments required as in
qapi/misc.json, and prints JSON on stdout:

  {"commands": [{"name", "c_name", "file", "args": [MEMBER...], "ret": TYPE|null,
                 "ret_element": TYPE|null}],
   "events":   [{"name", "c_name", "file", "args": [MEMBER...]}],
   "structs":  [{"name", "c_name", "file", "members": [MEMBER...]}],
   "enums":    [{"name", "c_name", "file", "max",
                 "values": [{"name", "c_const"}]}]}
  MEMBER = {"name", "c_name", "type", "optional", "has", "element"}

A list type (['Foo'] in the schema) is reported by its name ("FooList", also its C
name) with its element type's name as "element" ("ret_element" for a command's
return); "element" is null for other types.

An enum's "c_const" and "max" are the names of its C constants (QEMU's own
c_enum_const, so a 'prefix' and each release's spelling rule apply); the values are
numbered from 0 in declaration order.

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
    src, files = sys.argv[1], [os.path.abspath(f) for f in sys.argv[2:]]
    sys.path.insert(0, os.path.join(src, "scripts"))
    from qapi.common import c_enum_const, c_name
    from qapi.error import QAPIError
    from qapi.schema import QAPISchema, QAPISchemaArrayType, QAPISchemaVisitor
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from qapi_compat import schema_for

    def element(t):
        return t.element_type.name if isinstance(t, QAPISchemaArrayType) else None

    def member(m):
        need_has = m.need_has() if hasattr(m, "need_has") else m.optional
        return {"name": m.name, "c_name": c_name(m.name), "type": m.type.name,
                "optional": m.optional, "has": need_has, "element": element(m.type)}

    def members(arg_type):
        return [member(m) for m in arg_type.members] if arg_type else []

    def origin(info):
        return originals.get(os.path.basename(info.fname)) if info else None

    out = {"commands": [], "events": [], "structs": [], "enums": []}

    class Visitor(QAPISchemaVisitor):
        def visit_command(self, name, info, ifcond, features, arg_type, ret_type, *rest):
            out["commands"].append({"name": name, "c_name": c_name(name), "file": origin(info),
                                    "args": members(arg_type),
                                    "ret": ret_type.name if ret_type else None,
                                    "ret_element": element(ret_type) if ret_type else None})

        def visit_event(self, name, info, ifcond, features, arg_type, *rest):
            out["events"].append({"name": name, "c_name": c_name(name.lower()), "file": origin(info),
                                  "args": members(arg_type)})

        def visit_object_type(self, name, info, ifcond, features, base, obj_members, *rest):
            if info is None or name.startswith("q_"):
                return  # built-in or implicit (a command's or event's arguments)
            out["structs"].append({"name": name, "c_name": c_name(name), "file": origin(info),
                                   "members": [member(m) for m in obj_members]})

        def visit_enum_type(self, name, info, ifcond, features, values, prefix, *rest):
            if info is None or name.startswith("q_"):
                return
            out["enums"].append({"name": name, "c_name": c_name(name), "file": origin(info),
                                 "max": c_enum_const(name, "_MAX", prefix),
                                 "values": [{"name": v.name, "c_const": c_enum_const(name, v.name, prefix)}
                                            for v in values]})

    with tempfile.TemporaryDirectory() as tmp:
        # Each file in this release's doc syntax, included from one top file.
        originals = {}
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
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
