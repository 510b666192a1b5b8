# SPDX-License-Identifier: GPL-2.0-or-later
"""The declarations in qapi/ are written in the doc syntax of current QEMU; this adapts
them to an older release's. Used by scripts/qapi-describe.py (build.rs) and by
qemu-patches/port-series.py, so the crate and the series see the same text."""

from pathlib import Path


def schema_for(src_tree, text):
    """`text` in the doc syntax of the QEMU source tree `src_tree`: before 9.1 QEMU has
    no `.. qmp-example::` directive and wants an `Example:` section instead."""
    if "qmp-example" in (Path(src_tree) / "qapi/misc.json").read_text():
        return text
    out, in_example = [], False
    for line in text.splitlines(keepends=True):
        if line.strip() == "# .. qmp-example::":
            out.append("# Example:\n")
            in_example = True
        elif in_example and line.startswith("#     "):
            out.append("# " + line[6:])
        else:
            in_example = in_example and line.strip() == "#"
            out.append(line)
    return "".join(out)
