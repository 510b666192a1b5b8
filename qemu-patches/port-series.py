#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the patch series for one QEMU release from the declarations in qapi/.

Usage: HMP_ENTRIES=FILE [COMMAND_CRATE=DIR] [UPSTREAM_TREE=DIR] port-series.py QEMU_GIT_TREE VERSION MESON [OUT_DIR]

Run by `cargo xtask patches` (which prepares the trees) and, with OUT_DIR, by
`cargo xtask patches --check` / `cargo xtask test`, which compare OUT_DIR with the
committed series.

QEMU_GIT_TREE is a git repository whose HEAD is the pristine release (Debian's source
package as `dpkg-source -x` unpacks it, committed); UPSTREAM_TREE, the same for the
orig tarball alone, on which the repack fix is made (QEMU_GIT_TREE when unset). MESON is a meson that can introspect
that release (QEMU >= 10: meson >= 1.5; 7.2: meson 1.0.1), used to regenerate
scripts/meson-buildoptions.sh exactly as QEMU's own `make update-buildoptions` does.

The series: the meson option that links the library; then, for each declared command
(qapi/<command>.json of the command crate, $COMMAND_CRATE or this repository, in
name order), a QAPI patch with its schema entry and, if it has
qapi/<command>.hx or qapi/<command>.info.hx, an HMP patch with the entry and the
handler's prototype. Commit messages come from the doc comments. The patches are
written with `git format-patch` to qemu-patches/VERSION/ and the fix only the
repacked orig tarball needs to qemu-patches/VERSION/repack/; dates are fixed, so the same
declarations always give the same bytes.
It anchors each edit on text that has been stable across QEMU releases and stops with
a clear message if an anchor is missing: then port that edit by hand and extend the
anchors here. Review the result, run `cargo xtask test --qemu VERSION`, and commit.
"""

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layer-gen" / "scripts"))
from qapi_compat import schema_for  # noqa: E402

# The command crate whose declarations the series carries (`cargo xtask --crate DIR`);
# this repository by default.
CRATE = Path(os.environ.get("COMMAND_CRATE", ROOT)).resolve()
# Its HMP entries as the layer's reader (layer-gen/src/hx.rs) read them, written by
# `cargo xtask patches`: {file: {name, cmd, table, doc}}.
HMP = json.loads(Path(os.environ["HMP_ENTRIES"]).read_text()) if "HMP_ENTRIES" in os.environ else None
IDENTITY = ["-c", "user.name=qemu-hello-rs developers", "-c", "user.email=dev@qemu-hello-rs.invalid",
            "-c", "core.abbrev=12"]
DATE = "2026-11-24T21:59:51+00:00"
GIT_ENV = {**os.environ, "GIT_AUTHOR_DATE": DATE, "GIT_COMMITTER_DATE": DATE}


def fail(msg):
    sys.exit(f"port-series: {msg}")


def git(tree, *args):
    return subprocess.run(["git", "-C", str(tree), *IDENTITY, *args], check=True,
                          capture_output=True, text=True, env=GIT_ENV).stdout


def edit(tree, path, fn):
    p = tree / path
    text = p.read_text()
    new = fn(text)
    if new == text:
        fail(f"{path}: edit changed nothing")
    p.write_text(new)


def insert_before(text, anchor_re, block, what):
    m = re.search(anchor_re, text, re.M)
    if not m:
        fail(f"anchor for {what} not found: {anchor_re!r}")
    return text[:m.start()] + block + text[m.start():]


def insert_after(text, anchor_re, block, what):
    m = re.search(anchor_re, text, re.M)
    if not m:
        fail(f"anchor for {what} not found: {anchor_re!r}")
    return text[:m.end()] + block + text[m.end():]


def commit(tree, message):
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-s", "-m", message)


MESON_MSG = """meson: link an external library of monitor commands into system emulators

Add the string option monitor_rust_lib (configure --monitor-rust-lib=PATH).
When set, the static library at PATH is linked into every system
emulator and listed in link_depends, so that rebuilding the library
relinks the emulators, and config-host.h defines
CONFIG_MONITOR_RUST_LIB.

The library is meant to hold monitor command handlers written outside
the tree, for instance a Rust staticlib built with cargo against the
generated QAPI headers of this build tree.  The commands themselves
are declared by the following patches, each under
CONFIG_MONITOR_RUST_LIB, so that a build without the option has
none of them and still links.
"""

REPACK_MSG = """pc-bios: do not unpack edk2 blobs absent from the repacked tarball

Debian's repacked QEMU orig tarball (+ds) drops the prebuilt edk2
firmware images, so configure fails with "edk2-aarch64-code.fd.bz2
does not exist".  Skip the unpack step, as Debian's own build does.
This is a build fix for the repacked source only, not part of the
hello-world feature.
"""

MESON_OPTION = """option('monitor_rust_lib', type: 'string', value: '',
       description: 'static library of monitor commands')
"""

MESON_LIB = """# A static library with extra monitor commands (e.g. a Rust staticlib
# built with cargo) is linked into every system emulator.
monitor_rust_lib = []
if get_option('monitor_rust_lib') != ''
  monitor_rust_lib = files(get_option('monitor_rust_lib'))
endif

"""

MESON_CONFIG = """config_host_data.set('CONFIG_MONITOR_RUST_LIB', get_option('monitor_rust_lib') != '')
"""

MESON_LINK = """
    if get_option('monitor_rust_lib') != ''
      link_args += meson.current_source_dir() / get_option('monitor_rust_lib')
    endif"""

CONDITION = "CONFIG_MONITOR_RUST_LIB"

HANDLER_NOTE = """The handler, {handler}(), is not in the tree: it comes from the
library linked with --monitor-rust-lib.  Without that option the
{what} is not built (CONFIG_MONITOR_RUST_LIB)."""


# The guest agent's part: its own option and library, linked into qemu-ga, and the
# agent crate's declarations (agent/qapi/*.json of $AGENT_CRATE, this repository's
# agent/ by default) at the end of qga/qapi-schema.json, each under AGENT_CONDITION.
AGENT_CRATE = Path(os.environ.get("AGENT_CRATE", ROOT / "agent")).resolve()

AGENT_MSG = """meson: link an external library of guest agent commands into qemu-ga

Add the string option agent_rust_lib (configure --agent-rust-lib=PATH).
When set, the static library at PATH is linked into qemu-ga and listed
in its link_depends, so that rebuilding the library relinks the agent,
and config-host.h defines CONFIG_AGENT_RUST_LIB.

The library is meant to hold guest agent command handlers written
outside the tree, for instance a Rust staticlib built with cargo
against the generated QAPI headers of qga/.  The commands themselves
are declared by the following patches, each under
CONFIG_AGENT_RUST_LIB, so that a build without the option has none of
them and still links.
"""

AGENT_OPTION = """option('agent_rust_lib', type: 'string', value: '',
       description: 'static library of guest agent commands')
"""

AGENT_CONFIG = """config_host_data.set('CONFIG_AGENT_RUST_LIB', get_option('agent_rust_lib') != '')
"""

AGENT_LIB = """# A static library with extra guest agent commands (e.g. a Rust staticlib
# built with cargo) is linked into qemu-ga.
agent_rust_lib = []
if get_option('agent_rust_lib') != ''
  agent_rust_lib = files(meson.project_source_root() / get_option('agent_rust_lib'))
  qga_libs += meson.project_source_root() / get_option('agent_rust_lib')
endif

"""

AGENT_CONDITION = "CONFIG_AGENT_RUST_LIB"

AGENT_HANDLER_NOTE = """The handler, {handler}(), is not in the tree: it comes from the
library linked with --agent-rust-lib.  Without that option the command
is not built (CONFIG_AGENT_RUST_LIB)."""


def expressions(text):
    """(start, end) of each top-level expression of a schema file: from a '{' at the
    start of a line to its matching '}', skipping strings and comments."""
    spans, i, depth, start = [], 0, 0, None
    while i < len(text):
        c = text[i]
        if c == "#":
            i = text.find("\n", i)
            if i < 0:
                break
        elif c == "'":
            i = text.index("'", i + 1)
        elif c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
        i += 1
    return spans


INCLUDE = re.compile(r"^\{ *'include': *'([\w.-]+\.json)' *\}\n+", re.M)


def includes(tree, text):
    """The QEMU modules a schema file includes ({ 'include': 'run-state.json' }), and the
    text without those lines: an include goes to misc.json's own includes, unconditional
    (it only makes the generated headers include the module's), and once."""
    names = INCLUDE.findall(text)
    for name in names:
        if not (tree / "qapi" / name).is_file():
            fail(f"{{ 'include': '{name}' }}: QEMU has no module qapi/{name}")
    return names, INCLUDE.sub("", text)


TYPE_DEFINITION = re.compile(r"^\{ *'(?:struct|enum|union|alternate)': *'([\w-]+)'", re.M)


def schema_groups(files):
    """The schema files in commit order: each after the files whose types it uses, in
    name order otherwise; files that use each other's types make one group, one commit.
    So the schema resolves at every commit of the series."""
    texts = {f: f.read_text() for f in files}
    owner = {name: f for f, t in texts.items() for name in TYPE_DEFINITION.findall(t)}
    uses = {}
    for f, t in texts.items():
        code = "\n".join(line for line in t.splitlines() if not line.lstrip().startswith("#"))
        uses[f] = {owner[n] for n in re.findall(r"'([\w-]+)'", code) if owner.get(n, f) != f}
    reach = {}
    for f in files:
        seen, todo = set(), [f]
        while todo:
            for g in uses[todo.pop()]:
                if g not in seen:
                    seen.add(g)
                    todo.append(g)
        reach[f] = seen
    groups = []
    for f in files:
        if not any(f in g for g in groups):
            groups.append(sorted({f} | {g for g in reach[f] if f in reach[g]}))
    ordered, done = [], set()
    while groups:
        ready = next(g for g in groups if all(d in done or d in g for f in g for d in uses[f]))
        groups.remove(ready)
        ordered.append(ready)
        done.update(ready)
    return ordered


def top_level_keys(expr):
    """The keys of a declaration's own dictionary ('command', 'data', 'if'...), not those
    of the dictionaries inside it (a member's 'type' or 'if')."""
    keys, depth, i = [], 0, 0
    while i < len(expr):
        c = expr[i]
        if c == "'":
            end = expr.index("'", i + 1)
            if depth == 1 and expr[end + 1:].lstrip().startswith(":"):
                keys.append(expr[i + 1:end])
            i = end
        elif c == "#":
            i = expr.find("\n", i)
            if i < 0:
                break
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
        i += 1
    return keys


def conditional(text, condition=CONDITION):
    """The schema text with every definition under `condition` (QAPI's 'if'); a member's
    own 'if' stays as it is (QEMU's generator puts the member under both)."""
    for start, end in reversed(expressions(text)):
        expr = text[start:end]
        if "if" in top_level_keys(expr):
            fail(f"a declaration has its own 'if'; the series puts each under {condition}:\n{expr}")
        text = text[:start] + expr[:-1].rstrip() + f",\n  'if': '{condition}' }}" + text[end:]
    return text


def hx_conditional(text, table):
    """The HMP entry file's text with its table part (before SRST) under #if CONDITION."""
    if not text.startswith(table):
        fail(f"the HMP entry's table part is not where the reader found it:\n{table}")
    return f"#if defined({CONDITION})\n{table}\n#endif\n\n" + text[len(table):].lstrip("\n")


def paragraphs(lines):
    """Unwrapped paragraphs of doc text."""
    out, cur = [], []
    for line in lines + [""]:
        if line.strip():
            cur.append(line.strip())
        elif cur:
            out.append(" ".join(cur))
            cur = []
    return out


def wrap(text):
    import textwrap
    return "\n\n".join(textwrap.fill(p, 70) for p in paragraphs(text.splitlines()))


def schema_doc(text, name):
    """The description of definition `name` in a schema file: its doc comment's text
    between the `# @name:` line and the first member, section or example."""
    lines = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in text.splitlines() if l.startswith("#")]
    start = lines.index(f"@{name}:") + 1
    body = []
    for l in lines[start:]:
        if re.match(r"^(@[\w-]+:|Since:|\.\. |Returns:|Example)", l) or l.startswith("#"):
            break
        body.append(l)
    return "\n".join(body)


def add_meson_option(tree, meson, option, name):
    """Appends `option` (the option `name`) to meson_options.txt and its two lines to
    scripts/meson-buildoptions.sh, as QEMU's own `make update-buildoptions` writes them."""
    edit(tree, "meson_options.txt", lambda t: t.rstrip("\n") + "\n" + option)
    opts = subprocess.run([meson, "introspect", "--buildoptions", "meson.build"], cwd=tree,
                          check=True, capture_output=True, text=True).stdout
    regenerated = subprocess.run([sys.executable, "scripts/meson-buildoptions.py"], cwd=tree, input=opts,
                                 check=True, capture_output=True, text=True).stdout
    # Take only our option's lines from the regenerated file, where the generator puts
    # them: a release's checked-in file may already differ from its generator's output.
    sh_path = tree / "scripts/meson-buildoptions.sh"
    old_lines = sh_path.read_text().splitlines(keepends=True)
    new_lines = regenerated.splitlines(keepends=True)
    inserts = []
    for tag, i1, _i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines).get_opcodes():
        ours = [line for line in new_lines[j1:j2] if name.replace("_", "-") in line or name in line]
        if tag in ("insert", "replace") and ours:
            inserts.append((i1, ours))
    for at, ours in reversed(inserts):
        old_lines[at:at] = ours
    sh_path.write_text("".join(old_lines))
    diff = git(tree, "diff", "--numstat", "scripts/meson-buildoptions.sh").split()
    if diff[:2] != ["2", "0"]:
        fail(f"expected {name}'s 2 lines in meson-buildoptions.sh, got {diff}")


def main():
    if len(sys.argv) not in (4, 5):
        fail(__doc__)
    tree, version, meson = Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3]
    if "/" in meson:
        meson = str(Path(meson).resolve())
    out = Path(sys.argv[4]).resolve() if len(sys.argv) == 5 else ROOT / "qemu-patches" / version
    if HMP is None:
        fail("HMP_ENTRIES is not set: run this through `cargo xtask patches`, which reads the HMP entries")
    if git(tree, "status", "--porcelain").strip():
        fail(f"{tree} has uncommitted changes")
    base = git(tree, "rev-parse", "HEAD").strip()

    # 1. meson option, link, link_depends
    add_meson_option(tree, meson, MESON_OPTION, "monitor_rust_lib")

    def meson_build(t):
        anchor = r"^traceable = \[\]\nemulators = \{\}\n" if "\ntraceable = []\nemulators = {}\n" in t \
            else r"^emulators = \{\}\n"
        t = insert_before(t, r"^.*= configure_file\(output: 'config-host\.h'", MESON_CONFIG,
                          "the config-host.h configure_file")
        t = insert_before(t, anchor, MESON_LIB, "the emulator loop")
        t = insert_after(t, r"^    link_args \+= \['@block\.syms', '@qemu\.syms'\]", MESON_LINK,
                         "system emulator link_args")
        return insert_after(t, r"^ +link_depends: \[block_syms, qemu_syms\]", " + monitor_rust_lib",
                            "the emulator's link_depends")
    edit(tree, "meson.build", meson_build)
    commit(tree, MESON_MSG)

    # 2. per schema file (after the closefd command, each after the files whose types
    # it uses, else in name order; files that need each other in one commit): the QAPI
    # schema entry, then its HMP entry and the handler's prototype
    anchor = "closefd in qapi/misc.json"
    last_schema = r"^\{ 'command': 'closefd'.*\n"
    for group in schema_groups(sorted((CRATE / "qapi").glob("*.json"))):
        parts = []
        for schema in group:
            modules, part = includes(tree, schema_for(tree, schema.read_text()))
            parts.append(conditional(part))
            for module in modules:
                include = f"{{ 'include': '{module}' }}\n"
                if include not in (tree / "qapi/misc.json").read_text():
                    edit(tree, "qapi/misc.json", lambda t: insert_after(
                        t, r"^\{ 'include': 'common\.json' \}\n", include,
                        "the include of common.json in qapi/misc.json"))
        text = "\n".join(parts)
        schema = group[-1]
        names = re.findall(r"^\{ '(command|event|struct|enum)': '([\w-]+)'", text, re.M)
        if not names:
            fail(f"{schema}: declares nothing")
        kind, name = next(((k, n) for k, n in names if k == "command"), names[0])
        edit(tree, "qapi/misc.json", lambda t: insert_after(t, last_schema, "\n" + text, anchor))
        last_schema = re.escape(text)
        anchor = f"the previous entry ({schema.name}) in qapi/misc.json"
        subject = f"qapi: add the {name} {kind}"
        for other in (n for k, n in names if k == "command" and n != name):
            subject += f" and the {other} command"
        for event in (n for k, n in names if k == "event"):
            subject += f" and the {event} event"
        message = f"{subject}\n\n{wrap(schema_doc(text, name))}\n"
        if kind == "command":
            message += "\n" + wrap(HANDLER_NOTE.format(handler="qmp_" + name.replace("-", "_"), what=kind)) + "\n"
        commit(tree, message)

        hmp_entries = [(g.stem, suffix, hx) for g in group
                       for suffix, hx in ((".hx", "hmp-commands.hx"), (".info.hx", "hmp-commands-info.hx"))]
        for stem, suffix, hx in hmp_entries:
            decl = CRATE / "qapi" / (stem + suffix)
            if not decl.is_file():
                continue
            fields = HMP[f"qapi/{decl.name}"]
            entry = hx_conditional(decl.read_text(), fields["table"])
            hmp_name, handler = fields["name"], fields["cmd"]
            edit(tree, hx, lambda t: t.rstrip("\n") + "\n\n" + entry)
            edit(tree, "include/monitor/hmp.h", lambda t: insert_after(
                t, r"(?s)\A.*^void hmp_[^\n]*;\n", f"void {handler}(Monitor *mon, const QDict *qdict);\n",
                "the last hmp_ prototype"))
            what = "info " + hmp_name if suffix == ".info.hx" else hmp_name
            commit(tree, f"monitor: add the {what} HMP command\n\n{wrap(fields['doc'])}\n\n"
                         + wrap(HANDLER_NOTE.format(handler=handler, what="command")) + "\n")
    # 3. the guest agent: its option and library, then each agent schema file (in the
    # same order rule) at the end of qga/qapi-schema.json. An agent crate has no HMP.
    agent_files = sorted((AGENT_CRATE / "qapi").glob("*.json")) if (AGENT_CRATE / "qapi").is_dir() else []
    if agent_files:
        add_meson_option(tree, meson, AGENT_OPTION, "agent_rust_lib")
        edit(tree, "meson.build", lambda t: insert_before(
            t, r"^.*= configure_file\(output: 'config-host\.h'", AGENT_CONFIG,
            "the config-host.h configure_file"))

        def qga_meson(t):
            t = insert_before(t, r"^qga = executable\('qemu-ga',", AGENT_LIB, "the qemu-ga executable")
            return insert_after(t, r"^qga = executable\('qemu-ga',(?:.*\n)*?\s+link_args: qga_libs,",
                                "\n                 link_depends: agent_rust_lib,", "qemu-ga's link_args")
        edit(tree, "qga/meson.build", qga_meson)
        commit(tree, AGENT_MSG)
    for group in schema_groups(agent_files):
        text = "\n".join(conditional(schema_for(tree, f.read_text()), AGENT_CONDITION) for f in group)
        long = [line for line in text.splitlines() if len(line) > 70 and line.startswith("#")]
        if long:
            # qapi-gen refuses a doc line longer than 70 columns in qga's schema.
            fail(f"{group[-1]}: doc comment lines longer than 70 columns:\n" + "\n".join(long))
        names = re.findall(r"^\{ '(command|event|struct|enum)': '([\w-]+)'", text, re.M)
        if not names:
            fail(f"{group[-1]}: declares nothing")
        kind, name = next(((k, n) for k, n in names if k == "command"), names[0])
        edit(tree, "qga/qapi-schema.json", lambda t: t.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n")
        subject = f"qga: add the {name} {kind}"
        for other in (n for k, n in names if k == "command" and n != name):
            subject += f" and the {other} command"
        message = f"{subject}\n\n{wrap(schema_doc(text, name))}\n"
        if kind == "command":
            message += "\n" + wrap(AGENT_HANDLER_NOTE.format(handler="qmp_" + name.replace("-", "_"))) + "\n"
        commit(tree, message)
    feature_head = git(tree, "rev-parse", "HEAD").strip()

    # 4. the fix the repacked orig tarball needs, made on the upstream tree
    # ($UPSTREAM_TREE, a git tree of the orig tarball alone): Debian's own patches carry
    # it for some releases, and the driver skips it in a tree that carries it.
    up = Path(os.environ.get("UPSTREAM_TREE", tree)).resolve()
    if up != tree and git(up, "status", "--porcelain").strip():
        fail(f"{up} has uncommitted changes")
    up_base = git(up, "rev-parse", "HEAD").strip()
    edit(up, "pc-bios/meson.build", lambda t: insert_after(
        t, r"^if unpack_edk2_blobs$", " and false", "the edk2 unpack in pc-bios/meson.build"))
    commit(up, REPACK_MSG)

    for d in (out, out / "repack"):
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.patch"):
            old.unlink()
    git(tree, "format-patch", "-q", "--zero-commit", "--no-signature", "-o", str(out), f"{base}..{feature_head}")
    git(up, "format-patch", "-q", "--zero-commit", "--no-signature", "-o", str(out / "repack"), f"{up_base}..HEAD")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
