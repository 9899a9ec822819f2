"""Every results table of a report as LaTeX (booktabs), in ``tables.tex``: a complete document
that compiles with ``pdflatex`` (packages from Debian's ``texlive-latex-recommended``), from
which each ``table`` environment can be pasted into a paper. The command listings (one
``python train.py`` per run) stay in the Markdown and HTML."""

from __future__ import annotations

import re
from pathlib import Path

from seglab.report import document as doc

#: Characters LaTeX treats specially, and the Unicode the report's tables use, as LaTeX.
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
            "±": r"$\pm$", "–": "--", "—": "---", "−": "$-$", "↑": r"$\uparrow$", "↓": r"$\downarrow$",
            "×": r"$\times$", "·": r"$\cdot$", "≤": r"$\leq$", "≥": r"$\geq$", "<": r"$<$", ">": r"$>$"}
_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*")


def escape(text: str) -> str:
    """Plain text as LaTeX: special characters escaped, the report's Unicode symbols as math;
    any other non-ASCII character is dropped to ``?`` so pdflatex never fails on it."""
    out = []
    for ch in str(text):
        rep = _SPECIAL.get(ch)
        if rep is not None:
            out.append(rep)
        elif ord(ch) < 128:
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def inline(text: str) -> str:
    """``**bold**`` -> ``\\textbf``, ```code``` -> ``\\texttt``, the rest escaped."""
    parts, pos = [], 0
    for m in _INLINE.finditer(text):
        parts.append(escape(text[pos:m.start()]))
        parts.append(r"\texttt{" + escape(m.group(1)) + "}" if m.group(1) is not None
                     else r"\textbf{" + escape(m.group(2)) + "}")
        pos = m.end()
    parts.append(escape(text[pos:]))
    return "".join(parts)


def table_tex(table: doc.Table, caption: str, label: str) -> str:
    """One booktabs ``table``: first column left-aligned, the rest right-aligned, scaled to the
    text width when wider."""
    spec = "l" + "r" * (len(table.header) - 1)
    lines = [r"\begin{table}[htbp]", r"\centering", r"\caption{" + inline(caption) + "}", r"\label{" + label + "}",
             r"\resizebox{\ifdim\width>\textwidth\textwidth\else\width\fi}{!}{%",
             r"\begin{tabular}{" + spec + "}", r"\toprule",
             " & ".join(inline(h) for h in table.header) + r" \\", r"\midrule"]
    lines += [" & ".join(inline(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}", ""]
    return "\n".join(lines)


def results_tables(blocks: list, heading: str = "") -> list[tuple[str, doc.Table]]:
    """(the section heading it sits under, table) of every table except command listings."""
    out: list[tuple[str, doc.Table]] = []
    for b in blocks:
        if isinstance(b, doc.Heading):
            heading = b.text
        elif isinstance(b, doc.Table) and b.css_class != "commands":
            out.append((b.caption or heading, b))
        elif isinstance(b, doc.Details):
            out += [(h, t) for h, t in results_tables(b.blocks, heading)]
    return out


def write_tables(blocks: list, path: Path, title: str) -> Path:
    """Write ``tables.tex`` (see the module docstring)."""
    body = [table_tex(t, caption, f"tab:seglab{i + 1}") for i, (caption, t) in enumerate(results_tables(blocks))]
    text = "\n".join([
        r"\documentclass{article}",
        r"\usepackage[utf8]{inputenc}",
        r"\usepackage[T1]{fontenc}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{booktabs}",
        r"\usepackage{graphicx}",
        r"\title{" + escape(title) + "}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        *body,
        r"\end{document}",
        ""])
    path.write_text(text)
    return path
