"""Print the filter reference: ``python -m data_prep.filters``.

One section per registered filter: its YAML name, summary, parameters with
their defaults (from ``__init__``), and the order the default chain runs in.
"""

from __future__ import annotations

import inspect
import sys

from data_prep.filters.base import registered_filters
from lmt.config.filters import default_filters


def reference() -> str:
    """The filter reference as Markdown."""
    lines = ["# Pair filters (prep.filters)", ""]
    lines.append("Default chain: " + ", ".join(default_filters()) + " (cheapest first at run time).")
    lines.append("")
    for name, cls in sorted(registered_filters().items(), key=lambda item: (item[1].cost, item[0])):
        doc = inspect.getdoc(cls) or ""
        lines.append(f"## `{name}` (cost {cls.cost:g})")
        lines.append("")
        lines.append(doc.split("\n\n")[0])
        lines.append("")
        sig = inspect.signature(cls.__init__)
        for p in list(sig.parameters.values())[1:]:
            default = "required" if p.default is inspect.Parameter.empty else f"default `{p.default!r}`"
            lines.append(f"- `{p.name}`: {default}")
        if cls.side_params:
            lines.append(f"- per-language rules set {', '.join(cls.side_params)} for that side only")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(reference() + "\n")
