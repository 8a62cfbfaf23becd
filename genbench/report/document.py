"""The report document as a list of blocks, rendered twice: Markdown and self-contained HTML.

One structure, two renderers, so ``report.md`` (readable in a terminal and on a code forge) and
``report.html`` (one file to mail or attach: figures embedded as base64 PNG, with links to the SVGs
beside it) always say the same thing. Text is plain, with `code` spans as the only markup.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from genbench.report.figures import FigureFile


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A display table: every cell already formatted as text."""

    frame: pd.DataFrame


@dataclass(frozen=True)
class Image:
    """A figure of the report, shown as its PNG with a link to its SVG."""

    file: FigureFile


@dataclass(frozen=True)
class Definitions:
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Contents:
    """A list of links to the document's second-level headings."""


Block = Heading | Paragraph | Bullets | Table | Image | Definitions | Contents

CODE_SPAN = re.compile(r"`([^`]+)`")
#: characters above which a table cell may wrap instead of widening its column
LONG_CELL = 60


def anchor(text: str) -> str:
    """The heading anchor GitHub gives ``text``, so Markdown links work there and in the HTML."""
    return re.sub(r"[^\w\- ]", "", text.lower()).strip().replace(" ", "-")


def second_level(blocks: list[Block]) -> list[str]:
    return [block.text for block in blocks if isinstance(block, Heading) and block.level == 2]


def to_markdown(blocks: list[Block], base: Path) -> str:
    """Markdown with figure and file links relative to ``base``, the report's folder."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            parts.append(block.frame.to_markdown(index=False, disable_numparse=True))
        elif isinstance(block, Image):
            png, svg = (path.relative_to(base).as_posix() for path in (block.file.png, block.file.svg))
            parts.append(f"![{block.file.title}]({png})\n\n{block.file.caption} ([SVG]({svg}))")
        elif isinstance(block, Definitions):
            parts.append("\n".join(f"- **{term}**: {text}" for term, text in block.items))
        elif isinstance(block, Contents):
            parts.append(" · ".join(f"[{text}](#{anchor(text)})" for text in second_level(blocks)))
    return "\n\n".join(parts) + "\n"


def inline_html(text: str) -> str:
    return CODE_SPAN.sub(r"<code>\1</code>", html.escape(text))


def table_html(frame: pd.DataFrame) -> str:
    """A table whose cells stay on one line, except long texts (error messages), which wrap."""
    head = "".join(f"<th>{html.escape(str(column))}</th>" for column in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = (
            f'<td class="text">{html.escape(text)}</td>'
            if len(text) > LONG_CELL
            else f"<td>{html.escape(text)}</td>"
            for text in map(str, values)
        )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def figure_html(file: FigureFile, base: Path) -> str:
    encoded = base64.b64encode(file.png.read_bytes()).decode("ascii")
    svg = html.escape(file.svg.relative_to(base).as_posix())
    return (
        f'<figure><img alt="{html.escape(file.title)}" src="data:image/png;base64,{encoded}">'
        f'<figcaption>{inline_html(file.caption)} <a href="{svg}">SVG</a></figcaption></figure>'
    )


def block_html(block: Block, blocks: list[Block], base: Path) -> str:
    if isinstance(block, Heading):
        level = block.level
        return f'<h{level} id="{anchor(block.text)}">{html.escape(block.text)}</h{level}>'
    if isinstance(block, Paragraph):
        return f"<p>{inline_html(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{inline_html(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Table):
        return f'<div class="scroll">{table_html(block.frame)}</div>'
    if isinstance(block, Image):
        return figure_html(block.file, base)
    if isinstance(block, Definitions):
        items = "".join(f"<dt>{html.escape(t)}</dt><dd>{inline_html(d)}</dd>" for t, d in block.items)
        return f"<dl>{items}</dl>"
    links = "".join(f'<li><a href="#{anchor(t)}">{html.escape(t)}</a></li>' for t in second_level(blocks))
    return f'<nav><ul class="contents">{links}</ul></nav>'


STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b;
       max-width: 1180px; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { margin-top: 1.6rem; }
code { background: #f3f3f3; padding: 0 .25rem; border-radius: 3px; font-size: .92em; }
.scroll { overflow-x: auto; margin: .6rem 0 1rem; }
table.data { border-collapse: collapse; font-size: .86rem; font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: .28rem .6rem; border-bottom: 1px solid #e4e4e4;
                               text-align: left; white-space: nowrap; vertical-align: top; }
table.data th { background: #f6f8fa; border-bottom: 2px solid #ccc; }
table.data tbody tr:nth-child(even) { background: #fafafa; }
table.data td.text { white-space: normal; min-width: 24rem; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9rem; margin-top: .3rem; }
ul.contents { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; }
dt { font-weight: 600; margin-top: .6rem; }
dd { margin-left: 1.2rem; }
"""


def to_html(blocks: list[Block], title: str, base: Path) -> str:
    body = "\n".join(block_html(block, blocks, base) for block in blocks)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
