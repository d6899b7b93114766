"""report.html printed by a real browser: headless Chromium prints it to PDF on Letter and A4
paper, and poppler's pdftotext reads back what is on the pages.

Every table's column headers and every row's last cell must be printed, inside the page's
margins. A table wider than the page loses its right-hand columns: Chromium leaves out what a
scrolling box cuts off (and draws its scrollbar), and pdftotext does not see it.

Needs Debian's `chromium` and `poppler-utils` (.ci/run installs them); skipped without them,
except under CI, where their absence is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.outputs.document import SHORT_WORD, Table, render_html

# Paper sizes in points, as pdftotext gives them; the test prints with half-inch margins.
PAPER = {"letter": (612.0, 792.0), "A4": (595.28, 841.89)}
MARGIN = 36.0
SLACK = 1.0  # points: glyph boxes may reach a hair past the text's own box
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Headless, offline (no updates, sync or first-run pages), and no date or URL on the pages.
CHROMIUM = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-pdf-header-footer",
]  # fmt: skip
SMALL = ["--dataset", "digits", "--train-subset", "64", "--test-subset", "32", "--quiet"]
# Train folders that differ in every training option, so that the report's summary table has
# a column for each one (21 columns in all), with long folder names as a lab would give.
TRAINED = {
    "baseline-adam-relu-max": ["--epochs", "1", "--repeats", "2"],
    "sgd-tanh-avg-pooling-with-weight-decay": [
        "--epochs", "2", "--lr", "0.05", "--optimizer", "sgd", "--batch-size", "16",
        "--weight-decay", "0.0005", "--activation", "tanh", "--pool", "avg", "--loss", "mse",
        "--lr-schedule", "cosine", "--val-split", "0.25", "--train-subset", "96",
        "--test-subset", "48",
    ],
    "elu-l1": ["--epochs", "1", "--activation", "elu", "--loss", "l1", "--lr-schedule", "step"],
}  # fmt: skip
STUDIES = {
    "sweep-learning-rates": ["sweep", "--epochs", "1", "--lr", "0.001,0.01", "--val-split", "0.25"],
    "noise-symmetric-and-pair": [
        "noise", "--epochs", "1", "--noise-type", "symmetric,pair", "--noise-rate", "0,0.4",
        "--val-split", "0.25",
    ],
}  # fmt: skip


def tool(*names: str) -> str:
    """The first of these programs that is installed; else skip, or fail under CI."""
    found = next((path for name in names if (path := shutil.which(name))), None)
    if found:
        return found
    missing = f"{names[0]} is not installed (apt-get install chromium poppler-utils)"
    if os.environ.get("CI"):
        pytest.fail(f"{missing}; CI must run the print test")
    pytest.skip(missing)


@pytest.fixture(scope="module")
def browser() -> str:
    """Chromium, once pdftotext is there too; checked before anything is trained."""
    tool("pdftotext")
    return tool(*BROWSERS)


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory) -> Path:
    """report.html of three train folders, a sweep, a noise study and a confusion folder."""
    root = tmp_path_factory.mktemp("print")
    runner = CliRunner()
    commands = {name: ["train", *args] for name, args in TRAINED.items()} | STUDIES
    for name, args in commands.items():
        result = runner.invoke(app, [args[0], *SMALL, *args[1:], "--out", str(root / name)])
        assert result.exit_code == 0, result.output
    confusion = ["confusion", "--from", str(root / "baseline-adam-relu-max"), "--quiet"]
    assert runner.invoke(app, [*confusion, "--out", str(root / "confusion")]).exit_code == 0
    out = root / "report"
    result = runner.invoke(app, ["report", str(root), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out / "report.html"


def print_to_pdf(browser: str, page: Path, paper: str, folder: Path) -> Path:
    """page printed by headless Chromium on this paper size, with half-inch margins."""
    sized = folder / f"report-{paper}.html"
    rule = f"<style>@page {{ size: {paper}; margin: {MARGIN / 72}in; }}</style></head>"
    sized.write_text(page.read_text(encoding="utf-8").replace("</head>", rule, 1), "utf-8")
    pdf = folder / f"report-{paper}.pdf"
    profile = f"--user-data-dir={folder / 'browser'}"
    command = [browser, *CHROMIUM, profile, f"--print-to-pdf={pdf}", sized.as_uri()]
    subprocess.run(command, check=True, capture_output=True, timeout=180)
    assert pdf.is_file() and pdf.stat().st_size > 0
    return pdf


# pdftotext joins "3 → 0" into one word; arrows and ± count as words of their own on both sides.
TOKEN = re.compile(r"[→↔±]|[^\s→↔±]+")


def words(text: str) -> list[str]:
    return TOKEN.findall(text)


class Page(HTMLParser):
    """The words a browser shows of an HTML page, and its tables' cells, row by row."""

    def __init__(self, text: str):
        super().__init__()
        self.words: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.hidden = 0  # inside <title> or <style>
        self.cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag in ("title", "style"):
            self.hidden += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("title", "style"):
            self.hidden -= 1
        elif tag in ("th", "td"):
            self.tables[-1][-1].append(" ".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.hidden:
            return
        self.words += words(data)
        if self.cell is not None:
            self.cell += words(data)


def printed_words(pdf: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    return words(text)


WORD = re.compile(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<')


def pages_and_words(pdf: Path) -> list[tuple[float, list[tuple[float, float, str]]]]:
    """Per page: its width, and each word with its left and right edge (points)."""
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = []
    for page in boxes.split("<page ")[1:]:
        width = float(re.match(r'width="([\d.]+)"', page).group(1))
        pages.append((width, [(float(a), float(b), w) for a, b, w in WORD.findall(page)]))
    return pages


def wanted_words(page: Page) -> Counter:
    """The words of every table's header and of each row's last cell (its last non-empty
    one: a study table's last column is empty but for the best setting), and the short words
    of each row's first cell (a seed table's "Mean" must not print as "Mea" and "n"), as
    often as the whole page shows them."""
    wanted = set()
    for table in page.tables:
        header, *rows = table
        wanted.update(word for cell in header for word in words(cell))
        for row in rows:
            wanted.update(words(next((cell for cell in reversed(row) if cell), "")))
            wanted.update(w for w in words(row[0]) if len(w) <= SHORT_WORD)
    shown = Counter(page.words)
    return Counter({word: shown[word] for word in wanted})


@pytest.mark.parametrize("paper", PAPER)
def test_every_column_of_every_table_is_on_the_printed_page(browser, report, paper, tmp_path):
    page = Page(report.read_text(encoding="utf-8"))
    widest = max(len(table[0]) for table in page.tables)
    assert len(page.tables) >= 8 and widest >= 21  # the tables this test is about
    pdf = print_to_pdf(browser, report, paper, tmp_path)

    pages = pages_and_words(pdf)
    assert [width for width, _ in pages] == pytest.approx([PAPER[paper][0]] * len(pages), abs=1)
    outside = [
        (number, word)
        for number, (width, boxes) in enumerate(pages, 1)
        for left, right, word in boxes
        if left < MARGIN - SLACK or right > width - MARGIN + SLACK
    ]
    assert outside == [], "printed beyond the margins (page, word)"

    printed = Counter(printed_words(pdf))
    missing = {
        word: f"{printed[word]} of {count}"
        for word, count in wanted_words(page).items()
        if printed[word] < count
    }
    assert missing == {}, "table headers and last cells not printed (word: printed of shown)"


def test_a_seeds_table_s_short_row_names_print_whole(browser, tmp_path):
    # The course report's seeds table of ten settings: a narrow "No." column beside twenty
    # numbers. Where any cell may break anywhere, Chromium printed "Mean" as "Mea" over "n".
    settings = ["cross-entropy", "leakyrelu", "sigmoid", "weight-decay-0.001", "tanh"]
    header = ["No.", *(f"{s} {part}" for s in settings for part in ("training", "testing"))]
    names = ["1", "2", "3", "Best", "Mean", "Std"]
    rows = [[name, *(f"{98 + i / 100:.2f}" for i in range(10))] for name in names]
    page = tmp_path / "seeds.html"
    page.write_text(render_html([Table(header, rows)], "seeds", tmp_path), encoding="utf-8")
    for paper in PAPER:
        printed = Counter(printed_words(print_to_pdf(browser, page, paper, tmp_path)))
        assert {name: printed[name] for name in names} == dict.fromkeys(names, 1), paper
