"""A user's transition matrix, read from a CSV file (--transition, or a study file's
transition) and checked: one-line errors for every way such a file goes wrong (not text, not
CSV, semicolons, percentages, decimal commas, rows out of class order, far too long), and the
files lenet itself writes (transition-*.csv) read back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from lenetcli.errors import LenetError
from lenetcli.science.noise import validate_transition


def transition_file_limit(k: int) -> int:
    """The most bytes a file of a K x K matrix can hold: 256 per entry (a float written in full
    takes 25 characters; the rest leaves room for spaces, quotes and a column of class names)
    and 64 KiB for a header and blank lines. For ten classes that is under 100 KB: a longer
    file (a wrong path, /dev/zero) is no matrix, and is not read further."""
    return 64 * 2**10 + 256 * (k + 1) ** 2


def read_transition_csv(path: Path, k: int, classes: list[str] | None = None) -> np.ndarray:
    """Read and validate a K x K matrix from CSV, with or without a header row.

    A first row is a header if it is not all numbers, or if it lists the class numbers 0 to
    K-1 above K more rows (as pandas writes a bare matrix). Under a header whose first cell
    is `true` or empty, a first column naming the rows (class names, or numbers 0 to K-1) is
    checked and left out. So the files this tool writes read back (transition-*.csv, laid
    out as confusion.csv: `true`, then a column per class; lenet 0.1.0 wrote them headed
    noisy_0, noisy_1, ... without the first column), and so does pandas' to_csv() with its
    index. classes: the dataset's class names, for that check (None: no check).
    """
    path = Path(path)
    cells = csv_cells(path, k)
    # A spreadsheet saved with semicolons may still hold commas: its decimal marks.
    separator = next((sep for sep in ";\t" if any(sep in c for row in cells for c in row)), None)
    if separator:
        name = "semicolons" if separator == ";" else "tabs"
        raise LenetError(
            f"transition matrix {path} separates its values by {name}; save it with commas "
            "(comma-separated values, a point as decimal mark)"
        )
    if cells and is_header(cells[0], len(cells), k):
        header, cells = cells[0], cells[1:]
        named = header[0].strip().lower() in ("", "true")  # a first column naming the rows
        if named and all(len(row) == len(header) for row in cells):
            check_row_names(path, [row[0].strip() for row in cells], classes)
            cells = [row[1:] for row in cells]
    rows = []
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            if not is_number(cell):
                raise LenetError(
                    f"transition matrix {path} row {i}, column {j} is '{shown(cell.strip())}', "
                    f"not a number; {number_fix(cell.strip())}"
                )
        rows.append([float(cell) for cell in row])
    try:
        return validate_transition(rows, k)
    except LenetError as exc:
        raise LenetError(f"{path}: {exc}") from None


def csv_cells(path: Path, k: int) -> list[list[str]]:
    """The non-blank rows of a CSV file of a K x K matrix, as text cells; the file is read no
    further than such a file can be long (transition_file_limit)."""
    limit = transition_file_limit(k)
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LenetError(
            f"transition matrix {path} is not UTF-8 text (byte {exc.start + 1} is not); save it "
            "as CSV UTF-8, or check the --transition path"
        ) from None
    except OSError as exc:
        raise LenetError(
            f"cannot read transition matrix {path}: {exc.strerror or exc}; check the "
            "--transition path"
        ) from None
    if len(raw) > limit:
        raise LenetError(
            f"transition matrix {path} is longer than a {k} x {k} matrix can be (over "
            f"{limit // 1024} KB); check the --transition path"
        )
    if "\x00" in text:
        raise LenetError(
            f"transition matrix {path} is not a text file (it holds NUL bytes); check the "
            "--transition path"
        )
    try:
        rows = csv.reader(io.StringIO(text, newline=""), strict=True)
        return [row for row in rows if "".join(row).strip()]
    except csv.Error as exc:  # a quote left open, or text after a closing quote
        raise LenetError(
            f"transition matrix {path} is not a CSV file ({exc}); check the --transition path"
        ) from None


def shown(text: str, most: int = 40) -> str:
    """text as quoted in a message: a cell may be a whole line of something else."""
    return text if len(text) <= most else text[: most - 3] + "..."


def check_row_names(path: Path, names: list[str], classes: list[str] | None) -> None:
    """The first column of a matrix file names row i by class i's name or number: a file
    whose rows were sorted or moved would otherwise be read in the wrong order. Without the
    class names (None), nothing is checked."""
    if classes is None:
        return
    for i, (name, expected) in enumerate(zip(names, classes, strict=False)):
        if name not in (expected, str(i)):
            raise LenetError(
                f"transition matrix {path} names row {i} '{shown(name)}', but row {i} is class {i} "
                f"({expected}); keep the rows in class order"
            )


def is_header(row: list[str], rows: int, k: int) -> bool:
    """Whether the first row names the columns. With K rows in all, only a row without
    anything like a number is: a typo or a percentage in the first row of a bare matrix must
    be reported where it stands, not dropped as a header."""
    if all(is_number(cell) for cell in row):
        return rows == k + 1 and [float(cell) for cell in row] == list(range(k))
    return rows == k + 1 or names_columns(row) or not any(looks_like_number(cell) for cell in row)


def names_columns(row: list[str]) -> bool:
    """The header lenet writes where the class names are numbers (the digits): `true` (or
    empty, as pandas writes above its index), then 0, 1, 2, ...; a header whatever the
    number of rows below it, so that a row too many or too few is reported as such."""
    rest = [cell.strip() for cell in row[1:]]
    return row[0].strip().lower() in ("", "true") and rest == [str(i) for i in range(len(rest))]


def looks_like_number(text: str) -> bool:
    """A number as a person may type it: 0.8, 80% or 0,8."""
    text = text.strip()
    return is_number(text.rstrip("%")) or is_number(text.replace(",", "."))


def number_fix(text: str) -> str:
    if text.endswith("%") and is_number(text[:-1]):
        return "write probabilities such as 0.8, not percentages"
    if is_number(text.replace(",", ".")):
        return "write a point as decimal mark, e.g. 0.8"
    return "every entry must be a probability such as 0.25"


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
