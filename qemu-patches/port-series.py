#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write the hello-world patch series for one QEMU release.

Usage: port-series.py QEMU_GIT_TREE VERSION MESON

QEMU_GIT_TREE is a git repository whose HEAD is the pristine release (unpacked orig
tarball, `git init && git add -A && git commit`). MESON is a meson that can introspect
that release (QEMU >= 10: meson >= 1.5; 7.2: meson 1.0.1), used to regenerate
scripts/meson-buildoptions.sh exactly as QEMU's own `make update-buildoptions` does.

The script makes the same four edits in every release, as commits with fixed messages,
then writes them with `git format-patch` to qemu-patches/VERSION/ (feature patches)
and qemu-patches/VERSION/repack/ (the fix only Debian's repacked tarball needs).
It anchors each edit on text that has been stable across QEMU releases and stops with
a clear message if an anchor is missing: then port that edit by hand and extend the
anchors here. Review the result, run `cargo xtask test --qemu VERSION`, and commit.
"""

import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENTITY = ["-c", "user.name=qemu-hello-rs developers", "-c", "user.email=dev@qemu-hello-rs.invalid"]


def fail(msg):
    sys.exit(f"port-series: {msg}")


def git(tree, *args):
    return subprocess.run(["git", "-C", str(tree), *IDENTITY, *args], check=True,
                          capture_output=True, text=True).stdout


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
relinks the emulators.

The library is meant to hold monitor command handlers written outside
the tree, for instance a Rust staticlib built with cargo against the
generated QAPI headers of this build tree; the commands themselves
are declared by the following patches.
"""

QAPI_MSG = """qapi: add the hello-world command

{ "execute": "hello-world", "arguments": { "message": "We love qemu" } }
prints the message as one line on QEMU's standard output; without a
message it prints "Hello, world".  A message that is not valid UTF-8
or contains a control character is refused, so that a client cannot
forge log lines or send escape sequences to a terminal.

The command handler, qmp_hello_world(), is not in the tree: it comes
from the library linked with --monitor-rust-lib.
"""

HMP_MSG = """monitor: add the hello-world HMP command

"hello-world [message]" takes the rest of the line as the message
(args_type "message:S?"), so several words need no quotes.  Like the
QMP command, its handler hmp_hello_world() comes from the library
linked with --monitor-rust-lib; it calls qmp_hello_world() and reports
errors with hmp_handle_error().
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

MESON_LINK = """
    if get_option('monitor_rust_lib') != ''
      link_args += meson.current_source_dir() / get_option('monitor_rust_lib')
    endif"""

HX_ENTRY = """
    {
        .name       = "hello-world",
        .args_type  = "message:S?",
        .params     = "[message]",
        .help       = "print a message on QEMU's standard output",
        .cmd        = hmp_hello_world,
    },

SRST
``hello-world`` [*message*]
  Print *message*, the rest of the command line, as one line on QEMU's
  standard output; without a message, print ``Hello, world``.  This is
  the human monitor's form of the QMP command ``hello-world`` and
  follows its rules: a message with a control character is refused.
ERST
"""

HMP_PROTO = "void hmp_hello_world(Monitor *mon, const QDict *qdict);\n"


def schema_fragment(version):
    specific = ROOT / "qapi" / version / "hello-world.json"
    return (specific if specific.is_file() else ROOT / "qapi" / "hello-world.json").read_text()


def main():
    if len(sys.argv) != 4:
        fail(__doc__)
    tree, version, meson = Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3]
    if git(tree, "status", "--porcelain").strip():
        fail(f"{tree} has uncommitted changes")
    base = git(tree, "rev-parse", "HEAD").strip()

    # 1. meson option, link, link_depends
    edit(tree, "meson_options.txt", lambda t: t.rstrip("\n") + "\n" + MESON_OPTION)
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
        ours = [line for line in new_lines[j1:j2] if "monitor-rust-lib" in line or "monitor_rust_lib" in line]
        if tag in ("insert", "replace") and ours:
            inserts.append((i1, ours))
    for at, ours in reversed(inserts):
        old_lines[at:at] = ours
    sh_path.write_text("".join(old_lines))
    diff = git(tree, "diff", "--numstat", "scripts/meson-buildoptions.sh").split()
    if diff[:2] != ["2", "0"]:
        fail(f"expected our option's 2 lines in meson-buildoptions.sh, got {diff}")

    def meson_build(t):
        anchor = r"^traceable = \[\]\nemulators = \{\}\n" if "\ntraceable = []\nemulators = {}\n" in t \
            else r"^emulators = \{\}\n"
        t = insert_before(t, anchor, MESON_LIB, "the emulator loop")
        t = insert_after(t, r"^    link_args \+= \['@block\.syms', '@qemu\.syms'\]", MESON_LINK,
                         "system emulator link_args")
        return insert_after(t, r"^ +link_depends: \[block_syms, qemu_syms\]", " + monitor_rust_lib",
                            "the emulator's link_depends")
    edit(tree, "meson.build", meson_build)
    commit(tree, MESON_MSG)

    # 2. QAPI schema entry, after the closefd command
    edit(tree, "qapi/misc.json", lambda t: insert_after(
        t, r"^\{ 'command': 'closefd'.*\n", "\n" + schema_fragment(version), "closefd in qapi/misc.json"))
    commit(tree, QAPI_MSG)

    # 3. HMP entry and prototype
    edit(tree, "hmp-commands.hx", lambda t: t.rstrip("\n") + "\n" + HX_ENTRY)
    edit(tree, "include/monitor/hmp.h", lambda t: insert_after(
        t, r"(?s)\A.*^void hmp_[^\n]*;\n", HMP_PROTO, "the last hmp_ prototype"))
    commit(tree, HMP_MSG)
    feature_head = git(tree, "rev-parse", "HEAD").strip()

    # 4. Debian repack fix
    edit(tree, "pc-bios/meson.build", lambda t: insert_after(
        t, r"^if unpack_edk2_blobs$", " and false", "the edk2 unpack in pc-bios/meson.build"))
    commit(tree, REPACK_MSG)

    out = ROOT / "qemu-patches" / version
    for d in (out, out / "repack"):
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.patch"):
            old.unlink()
    git(tree, "format-patch", "-q", "--zero-commit", "-o", str(out), f"{base}..{feature_head}")
    git(tree, "format-patch", "-q", "--zero-commit", "-o", str(out / "repack"), f"{feature_head}..HEAD")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
