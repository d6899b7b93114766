"""Numbers and tables as people read them: the Markdown of summary.md and report.md, and the
cells of the tables the commands print."""

from __future__ import annotations

import math
import numbers
import re

import pandas as pd

# Significant digits a number keeps before it is rounded for showing, as many as every CSV
# holds (files.CSV_DIGITS): a mean computed in memory (summary.md) and the same mean read
# back from summary.csv (lenet report) then show alike even where it lies on a half (over
# two seeds 98.005, computed as 98.00499999999999 from one pair of runs and as
# 98.00500000000001 from another, would show as 98.00 and as 98.01).
SHOWN_SIGNIFICANT = 10


def fmt(value, digits: int = 2) -> str:
    """A number for a table: fixed decimals, '–' when missing (a std over one run). A value
    that rounds to zero shows as 0.00, never -0.00: a gap of -0.001 and one of 0.001 show
    alike (shown), and are tied."""
    if value is None or pd.isna(value):
        return "–"
    rounded = float(f"{float(f'{value:.{SHOWN_SIGNIFICANT}g}'):.{digits}f}")
    return f"{rounded + 0.0:.{digits}f}"  # -0.0 + 0.0 is 0.0


def shown(value, digits: int = 2) -> float:
    """A number as fmt shows it, as a float (nan when missing). Which setting is best, which
    are tied and by how much two differ are decided on these: two means that show alike are
    tied, and a difference stated beside two means is theirs (98.94 and 98.73: 0.21, where
    the unrounded 98.944 - 98.728 shows as 0.22)."""
    return math.nan if value is None or pd.isna(value) else float(fmt(value, digits))


def shown_difference(a, b, digits: int = 2) -> float:
    """a minus b as they are shown (shown), rounded again so that 99.16 - 98.94 is 0.22, not
    0.21999999999999886."""
    return round(shown(a, digits) - shown(b, digits), digits)


def mean_epoch(value) -> str:
    """A mean of epoch numbers, to one decimal where it has one: '3.4', and '3' for a mean of
    2 and 4 (an epoch number is whole; '3.0' reads as a fraction of one)."""
    return f"{shown(value, 1):.1f}".removesuffix(".0")


def plain(value) -> str:
    """A setting's value as its CSV files write it: 0.2 and 0, not 0.20 or 0.0."""
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def markdown_table(header: list[str], rows: list[list], left: int = 1) -> str:
    """A Markdown table: the first `left` columns text, aligned left; the rest numbers."""
    align = ["---"] * left + ["--:"] * (len(header) - left)
    return "\n".join(markdown_row(line) for line in [header, align, *rows])


def markdown_row(cells: list) -> str:
    return "| " + " | ".join(markdown_text(c).replace("|", "\\|") for c in cells) + " |"


# A "<" that opens an HTML tag (or comment, or declaration) in Markdown.
TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def markdown_text(text) -> str:
    """Plain text for Markdown: a "<" that would open an HTML tag (a folder named
    <img src=x onerror=...>) as &lt;, so that a Markdown viewer shows the text, as report.html
    does, and runs nothing; a "<" before anything else ("p < 0.05") stays as it is."""
    return TAG_START.sub("&lt;", str(text))


def count_text(n, diverged) -> str:
    """'5', or '5 (2 diverged)': how many runs a mean is over, and how many of them blew up."""
    return f"{n}" + (f" ({diverged} diverged)" if diverged else "")


def plural(n, noun: str) -> str:
    """'1 epoch', '15 epochs'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe_seeds(seeds: list[int]) -> str:
    """'seed 42', 'seeds 42-46' for consecutive seeds, else 'seeds 42, 44': each seed once (a
    group across settings holds a seed once per setting)."""
    unique = sorted(set(seeds))
    if len(unique) == 1:
        return f"seed {unique[0]}"
    if unique == list(range(unique[0], unique[-1] + 1)):
        return f"seeds {unique[0]}-{unique[-1]}"
    return "seeds " + ", ".join(map(str, unique))


def count(value) -> str:
    """A count of images in a report's text, with thousands separated: 10,000 (anything but a
    whole number as it is)."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)  # numpy's too
    return f"{int(value):,}" if whole else str(value)
