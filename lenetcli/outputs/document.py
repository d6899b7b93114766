"""The document model of report.md, report.html and a study's summary.md: a list of blocks
(Heading, Text, Code, Table, Figure), each of which writes itself as Markdown and as HTML, and
the two writers that put the blocks together (`render_markdown`, `render_html`).

A block knows nothing of where its content came from; the commands build the blocks, this
module writes them. The HTML page is self-contained (its figures embedded as data: URIs), so it
can be mailed, opened or printed alone.
"""

from __future__ import annotations

import base64
import html
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from lenetcli.outputs.tables import markdown_table, markdown_text

# A table wider than this, in characters, is "dense" and prints smaller (7.5 pt instead of
# 9.2 pt) to fit a Letter or A4 page. At 9.2 pt a character of the page's font is about 5 pt
# wide, so the 7.2 inches inside half-inch margins on A4 hold about 100; each column's padding
# and border take two. Measured on the summary table of tests/test_print.py (21 columns).
DENSE_CHARACTERS = 100
# A column whose words are all this short never breaks inside a word in print: "Mean" in a
# seed table's narrow "No." column printed as "Mea" over "n" when any cell could break anywhere.
SHORT_WORD = 12


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2

    def markdown(self, names: dict[Path, str]) -> str:
        return f"{'#' * self.level} {markdown_text(self.text)}"

    def html(self, out: Path) -> str:
        return f"<h{self.level}>{html.escape(self.text)}</h{self.level}>"


@dataclass(frozen=True)
class Text:
    text: str

    def markdown(self, names: dict[Path, str]) -> str:
        return markdown_text(self.text)

    def html(self, out: Path) -> str:
        return f"<p>{html.escape(self.text)}</p>"


@dataclass(frozen=True)
class Code:
    text: str

    def markdown(self, names: dict[Path, str]) -> str:
        return f"```\n{self.text}\n```"

    def html(self, out: Path) -> str:
        return f"<pre><code>{html.escape(self.text)}</code></pre>"


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    left: int = 1  # leading columns of text, aligned left; the rest hold numbers
    caption: str = ""

    def markdown(self, names: dict[Path, str]) -> str:
        table = markdown_table(self.header, self.rows, self.left)
        return f"*{markdown_text(self.caption)}*\n\n{table}" if self.caption else table

    def html(self, out: Path) -> str:
        short = self.short_columns()
        head = html_row(self.header, "th", self.left)
        rows = "".join(html_row(row, "td", self.left, short) for row in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        dense = ' class="dense"' if self.is_dense() else ""
        # The div scrolls a wide table on a narrow screen, not the whole page; print CSS
        # turns the scrolling off and wraps the cells instead (STYLE).
        return (
            f'<div class="wide"><table{dense}>{caption}<thead>{head}</thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )

    def short_columns(self) -> list[bool]:
        """Per column, whether every word of its cells is at most SHORT_WORD characters."""
        columns = zip(*self.rows, strict=True) if self.rows else [()] * len(self.header)
        return [
            all(len(word) <= SHORT_WORD for cell in cells for word in str(cell).split())
            for cells in columns
        ]

    def is_dense(self) -> bool:
        """Whether the table is wider than a printed page holds at the usual size: each column
        as wide as its longest cell or its header's longest word (headers wrap at spaces), two
        characters of padding each."""
        columns = zip(*[self.header, *self.rows], strict=True)
        widths = [column_width(name, cells) for name, *cells in columns]
        return sum(widths) + 2 * len(widths) > DENSE_CHARACTERS


def column_width(header: str, cells: list[str]) -> int:
    """A column's width in characters when printed: its longest cell, or its header's longest
    word, as headers wrap at spaces."""
    return max([0, *(len(str(cell)) for cell in cells), *(len(w) for w in str(header).split())])


def link(path: str) -> str:
    """A relative path as a Markdown link's target: as it is where it is plain, else
    percent-encoded (a space, a parenthesis or a bracket in a folder name ends a plain
    target early, and the reader sees the text instead of the image)."""
    return path if PLAIN_LINK.fullmatch(path) else urllib.parse.quote(path, safe="/")


PLAIN_LINK = re.compile(r"[\w./-]+")


@dataclass(frozen=True)
class Figure:
    path: Path  # the PNG in a source folder, or (own) its name in the report's folder
    caption: str
    own: bool = False  # drawn by the report itself: compare.png

    def markdown(self, names: dict[Path, str]) -> str:
        return f"![{markdown_text(self.caption)}]({link(names[self.path])})"

    def html(self, out: Path) -> str:
        path = out / self.path if self.own else self.path
        png = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = html.escape(self.caption)
        return (
            f'<figure><img src="data:image/png;base64,{png}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>"
        )


Block = Heading | Text | Code | Table | Figure


def html_row(cells: list[str], tag: str, left: int, short: list[bool] | None = None) -> str:
    """A table row; cells after the first `left` hold numbers and align right; short: per
    column, whether its words are short (they never break inside a word in print)."""
    html_cells = []
    for i, cell in enumerate(cells):
        text = html.escape(str(cell))
        if text.startswith("**") and text.endswith("**"):
            text = f"<strong>{text[2:-2]}</strong>"
        # numbers never break inside a word in print (td.num); nor do short words of text
        kind = "num" if i >= left else "short" if short and short[i] else ""
        style = f' class="{kind}"' if kind else ""
        # "98.12 ± 0.08" wraps (in print) into "98.12" and "± 0.08", not three lines
        text = text.replace(" ± ", " ±&nbsp;")
        html_cells.append(f"<{tag}{style}>{text}</{tag}>")
    return "<tr>" + "".join(html_cells) + "</tr>"


def render_markdown(blocks: list[Block], names: dict[Path, str]) -> str:
    """The blocks as one Markdown document; names: where each figure lives, relative to the
    document."""
    return "\n\n".join(block.markdown(names) for block in blocks) + "\n"


# Screen: a column of text at most 70em wide; a table wider than the window scrolls on its
# own. Print: nothing scrolls (a scroll box prints as a cut-off box with a scrollbar), so the
# cells wrap instead: text at spaces, or anywhere in a long name such as a folder's; numbers
# only at spaces ("98.12 ± 0.08" may become two lines, never "98.1" and "2"), and short words
# (Table.short_columns) never inside ("Mean" stays whole in a narrow column). Dense tables
# (Table.is_dense) print smaller. Checked in Chromium at Letter and A4 (tests/test_print.py).
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em; color: #222; }
.wide { overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.92em; }
caption { text-align: left; font-style: italic; color: #555; padding-bottom: 0.3em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
.num { text-align: right; white-space: nowrap; }
th { background: #f3f3f3; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
p, figcaption { overflow-wrap: anywhere; }
figure { margin: 1em 0; } img { max-width: 100%; max-height: 85vh; }
figcaption { color: #555; font-size: 0.9em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  h1, h2, h3, pre, caption { break-after: avoid; }
  tr, figure { break-inside: avoid; }
  img { max-height: 20cm; }
  .wide, pre { overflow: visible; }
  th, td { padding: 0.15em 0.35em; }
  td { overflow-wrap: anywhere; }
  .num { white-space: normal; }
  td.num, td.short { overflow-wrap: normal; }
  table.dense { font-size: 7.5pt; }
}
"""


def render_html(blocks: list[Block], title: str, out: Path) -> str:
    """One page with its images embedded, so that it can be mailed, opened or printed alone;
    out: the report's folder, which holds its own figures."""
    body = "\n".join(block.html(out) for block in blocks)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )
