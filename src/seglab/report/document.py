"""A tiny document model rendered to Markdown (figures as files: PNG linked, SVG and PDF beside
it for papers) and to one self-contained HTML file (figures embedded as base64 PNG, inline CSS,
no scripts, nothing fetched; wide tables wrap their cells instead of overflowing the page)."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str  # inline `code` and **bold** are understood


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    css_class: str = "results"


@dataclass
class Image:
    name: str  # file name under figures/ (.png); the other formats share its stem
    png: bytes
    caption: str
    other: dict[str, bytes] = field(default_factory=dict)  # "svg"/"pdf" -> bytes


@dataclass
class Code:
    text: str
    lang: str = ""


@dataclass
class Details:
    summary: str
    blocks: list = field(default_factory=list)


_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*")


def _inline_html(text: str) -> str:
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        out.append(f"<code>{html.escape(m.group(1))}</code>" if m.group(1) is not None
                   else f"<b>{html.escape(m.group(2))}</b>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list, figures_dir: str = "figures") -> str:
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append("#" * b.level + " " + b.text)
        elif isinstance(b, Para):
            parts.append(b.text)
        elif isinstance(b, Bullets):
            parts.append("\n".join(f"- {item}" for item in b.items))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_cell(h) for h in b.header) + " |",
                     "|" + "|".join("---" for _ in b.header) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            if b.caption:
                lines = [b.caption, ""] + lines
            parts.append("\n".join(lines))
        elif isinstance(b, Image):
            stem = b.name.rsplit(".", 1)[0]
            links = ", ".join(f"[{fmt.upper()}]({figures_dir}/{stem}.{fmt})" for fmt in b.other)
            parts.append(f"![{b.caption}]({figures_dir}/{b.name})\n\n*{b.caption}*" + (f" ({links})" if links else ""))
        elif isinstance(b, Code):
            fence = "````" if "```" in b.text else "```"
            parts.append(f"{fence}{b.lang}\n{b.text.rstrip()}\n{fence}")
        elif isinstance(b, Details):
            parts.append(f"<details><summary>{html.escape(b.summary)}</summary>\n\n"
                         + to_markdown(b.blocks, figures_dir) + "\n\n</details>")
        else:
            raise TypeError(f"unknown block {b!r}")
    return "\n\n".join(parts) + "\n"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1200px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #bbb;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right;overflow-wrap:anywhere}
td{white-space:normal}div.scroll{max-width:100%}table{max-width:100%}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
tr:nth-child(even) td{background:#fafafa}
table.commands td{white-space:normal;text-align:left;font-family:monospace;font-size:.95em}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.9em;color:#555}
code{background:#f3f3f3;padding:0 .2em}pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.85em}
details{margin:.4em 0}div.scroll{overflow-x:auto}summary{cursor:pointer}
"""


def to_html(blocks: list, title: str) -> str:
    body = _html_blocks(blocks)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _html_blocks(blocks: list) -> str:
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            slug = re.sub(r"[^a-z0-9]+", "-", b.text.lower()).strip("-")
            parts.append(f"<h{b.level} id=\"{slug}\">{_inline_html(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{_inline_html(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            cap = f"<caption>{_inline_html(b.caption)}</caption>" if b.caption else ""
            head = "".join(f"<th>{_inline_html(h)}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            parts.append(f"<div class=\"scroll\"><table class=\"{b.css_class}\">{cap}<thead><tr>{head}</tr></thead>"
                         f"<tbody>{rows}</tbody></table></div>")
        elif isinstance(b, Image):
            data = base64.b64encode(b.png).decode("ascii")
            parts.append(f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{html.escape(b.caption)}\">"
                         f"<figcaption>{_inline_html(b.caption)}</figcaption></figure>")
        elif isinstance(b, Code):
            parts.append(f"<pre><code>{html.escape(b.text.rstrip())}</code></pre>")
        elif isinstance(b, Details):
            parts.append(f"<details><summary>{_inline_html(b.summary)}</summary>{_html_blocks(b.blocks)}</details>")
        else:
            raise TypeError(f"unknown block {b!r}")
    return "\n".join(parts)


def write(blocks: list, out_dir: Path, title: str) -> tuple[Path, Path]:
    """Write ``report.md`` (figures under ``figures/``) and ``report.html`` (self-contained)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = out_dir / "figures"
    images = list(_images(blocks))
    if images:
        figures.mkdir(exist_ok=True)
        for fmt in ("png", "svg", "pdf"):
            for stale in figures.glob(f"*.{fmt}"):
                stale.unlink()
        for img in images:
            (figures / img.name).write_bytes(img.png)
            for fmt, data in img.other.items():
                (figures / img.name).with_suffix("." + fmt).write_bytes(data)
    md = out_dir / "report.md"
    md.write_text(to_markdown(blocks))
    page = out_dir / "report.html"
    page.write_text(to_html(blocks, title))
    from seglab.report.latex import write_tables

    write_tables(blocks, out_dir / "tables.tex", title)
    return md, page


def _images(blocks: list):
    for b in blocks:
        if isinstance(b, Image):
            yield b
        elif isinstance(b, Details):
            yield from _images(b.blocks)
