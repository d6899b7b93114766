"""Numbers and tables as people read them: the Markdown of summary.md and report.md, and the
cells of the tables the commands print."""

from __future__ import annotations

import numbers

import pandas as pd


def fmt(value, digits: int = 2) -> str:
    """A number for a table: fixed decimals, '–' when missing (a std over one run)."""
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def plain(value) -> str:
    """A setting's value as its CSV files write it: 0.2 and 0, not 0.20 or 0.0."""
    return f"{value:.10g}" if isinstance(value, float) else str(value)


def markdown_table(header: list[str], rows: list[list], left: int = 1) -> str:
    """A Markdown table: the first `left` columns text, aligned left; the rest numbers."""
    align = ["---"] * left + ["--:"] * (len(header) - left)
    return "\n".join(markdown_row(line) for line in [header, align, *rows])


def markdown_row(cells: list) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


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
