"""A tiny document model rendered twice: as Markdown and as one self-contained HTML page.

Text may hold inline code in backticks. The HTML page has inline CSS and embeds images as base64
``data:`` URIs, so it references nothing outside itself.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    align: str = ""  # one of "l"/"r" per column; left by default


@dataclass
class Bullets:
    items: list[str] = field(default_factory=list)


@dataclass
class Image:
    path: str  # relative to the report folder, "/" separated
    alt: str


Block = Heading | Paragraph | Table | Bullets | Image


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    align = table.align.ljust(len(table.header), "l")
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [table.header, rule, *table.rows]
    return "\n".join("| " + " | ".join(_md_cell(cell) for cell in line) + " |" for line in lines)


def to_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as GitHub-flavoured Markdown."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Table):
            parts.append(_md_table(block))
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Image):
            parts.append(f"![{block.alt}]({block.path})")
    return "\n\n".join(parts) + "\n"


_CODE = re.compile(r"`([^`]+)`")


def _inline(text: str) -> str:
    """Escaped HTML with `code` spans."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text, quote=False))


def _html_table(table: Table) -> str:
    align = table.align.ljust(len(table.header), "l")

    def row(cells: Sequence[str], tag: str) -> str:
        classes = ["num" if a == "r" else "txt" for a in align]
        return (
            "<tr>"
            + "".join(f'<{tag} class="{k}">{_inline(c)}</{tag}>' for c, k in zip(cells, classes))
            + "</tr>"
        )

    body = "\n".join(row(cells, "td") for cells in table.rows)
    return f"<table>\n<thead>{row(table.header, 'th')}</thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_block(block: Block, root: Path) -> str:
    if isinstance(block, Heading):
        level = min(max(block.level, 1), 6)
        return f"<h{level}>{_inline(block.text)}</h{level}>"
    if isinstance(block, Paragraph):
        return f"<p>{_inline(block.text)}</p>"
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Bullets):
        return "<ul>\n" + "\n".join(f"<li>{_inline(item)}</li>" for item in block.items) + "\n</ul>"
    alt = html.escape(block.alt)
    image = f'<img src="{_data_uri(root / block.path)}" alt="{alt}">'
    return f"<figure>{image}<figcaption>{alt}</figcaption></figure>"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
th { background: #f3f3f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #f3f3f3; padding: 0 0.25em; border-radius: 3px; }
figure { margin: 1em 0; }
img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; }
"""


def to_html(blocks: Sequence[Block], title: str, root: Path) -> str:
    """The blocks as one HTML page; images are read from ``root / image.path`` and embedded."""
    body = "\n".join(_html_block(block, root) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
