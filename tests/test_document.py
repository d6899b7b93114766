"""The document model (outputs/document.py): blocks that write themselves as Markdown and HTML."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest
from matplotlib.figure import Figure as MplFigure

from lenetcli.outputs.document import (
    Code,
    Figure,
    Heading,
    Table,
    Text,
    render_html,
    render_markdown,
)
from lenetcli.outputs.files import save_figure


def test_markdown_is_the_blocks_one_blank_line_apart():
    blocks = [
        Heading("Title", 1),
        Text("Some **bold** words."),
        Heading("Part"),
        Table(["Setting", "Test acc."], [["lr0.1", "98.00"]], caption="Final"),
        Code("lenet train"),
        Figure(Path("/runs/a/curves.png"), "Curves"),
    ]
    names = {Path("/runs/a/curves.png"): "figures/1-a/curves.png"}
    assert render_markdown(blocks, names) == (
        "# Title\n\nSome **bold** words.\n\n## Part\n\n*Final*\n\n"
        "| Setting | Test acc. |\n| --- | --: |\n| lr0.1 | 98.00 |\n\n"
        "```\nlenet train\n```\n\n![Curves](figures/1-a/curves.png)\n"
    )


@pytest.mark.parametrize(
    ("name", "target"),
    [("figures/2-lab 3/curves.png", "figures/2-lab%203/curves.png"),
     ("figures/1-$(x y)/a.png", "figures/1-%24%28x%20y%29/a.png"),
     ("figures/1-é ü 数据/a.png", "figures/1-%C3%A9%20%C3%BC%20%E6%95%B0%E6%8D%AE/a.png"),
     ("figures/1-数据/a.png", "figures/1-数据/a.png")],
)  # fmt: skip
def test_a_figure_in_a_folder_of_any_name_is_an_image_to_a_markdown_reader(name, target):
    from markdown_it import MarkdownIt  # rich's Markdown parser: CommonMark, as GitHub's

    text = render_markdown([Figure(Path("/r/a.png"), "Curves")], {Path("/r/a.png"): name})
    assert text == f"![Curves]({target})\n"
    rendered = MarkdownIt().render(text)  # an image whose source is the file's path
    src = re.search(r'<img src="([^"]*)" alt="Curves"', rendered)
    assert src and urllib.parse.unquote(src.group(1)) == name, rendered


def test_the_html_page_refers_to_nothing_outside_itself(tmp_path):
    save_figure(MplFigure(figsize=(1, 1)), tmp_path / "compare.png")
    blocks = [
        Heading("Report", 1),
        Figure(Path("compare.png"), "Own figure", own=True),
        Table(["a", "b"], [["x", "**best**"]]),
    ]
    page = render_html(blocks, "Report", tmp_path)
    assert re.findall(r'src="([^"]{0,22})', page) == ["data:image/png;base64,"]
    assert "href=" not in page and "url(" not in page and "@import" not in page
    assert '<td class="num"><strong>best</strong></td>' in page


def test_a_mean_and_its_std_wrap_apart_but_never_inside_the_std():
    row = Table(["Setting", "Test acc."], [["lr0.1", "98.12 ± 0.08"]]).html(Path("."))
    assert "98.12 ±&nbsp;0.08" in row


def test_only_a_table_too_wide_for_a_printed_page_is_dense():
    study = Table(
        ["Dataset", "Setting", "n", "Training acc.", "Test acc.", "Best model", ""],
        [["mnist", "lr0.001", "5", "99.12 ± 0.05", "98.91 ± 0.07", "99.02", "**best**"]],
    )
    assert not study.is_dense() and 'class="dense"' not in study.html(Path("."))
    # headers wrap at spaces, so a long header alone does not make a table dense
    headers = Table(["Training accuracy against the true labels (mean ± std)"] * 4, [["1"] * 4])
    assert not headers.is_dense()
    options = [f"option {i}" for i in range(12)]
    summary = Table(
        ["Source", "Dataset", "Setting", *options, "n", "Test acc.", "s/epoch"],
        [["lab1/runs/mnist", "mnist", "lr0.001", *["0.001"] * 12, "5", "98.91 ± 0.07", "4.2"]],
        left=3,
    )
    assert summary.is_dense() and '<table class="dense">' in summary.html(Path("."))
    assert not Table(["", ""], []).is_dense()  # an empty table is no table to print small


def test_text_that_would_open_an_html_tag_shows_as_text_in_markdown_too():
    name = "<img src=x onerror=alert(1)>"
    blocks = [
        Heading(f"1. {name}: lenet train"),
        Text(f"Folder runs/{name}, p < 0.05"),
        Table(["source", "n"], [[f"./{name}", "2"]], caption=f"from {name}"),
    ]
    markdown = render_markdown(blocks, {})
    assert "<img" not in markdown
    assert markdown.count("&lt;img src=x onerror=alert(1)>") == 4
    assert "p < 0.05" in markdown  # a "<" that opens no tag stays as written
