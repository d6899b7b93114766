"""Label noise: transition matrices, one sampler for all of them, and what the noise did.

Every noise model is a K x K row-stochastic transition matrix T, T[i][j] = P(noisy label j |
true label i). Symmetric and pair noise are built here; any other matrix comes from a CSV file
and is validated. One sampler draws noisy labels from any T, so all three share one code path.

Noise seeds. A draw depends on its noise seed alone, never on a model seed. The sampler uses two
uniforms per sample: the first decides whether the label flips (when u < 1 - T[i][i]), the
second picks the wrong label among the off-diagonal entries of row i. With one noise seed the
uniforms are the same for every matrix, so draws are coupled across rates: at symmetric or pair
rate 0.4 the labels flipped at rate 0.2 are flipped again, to the same classes, plus some more.
Comparisons between rates then differ by the rate, not by the luck of the draw.

Nothing here knows about files beyond reading a user's matrix, or about the command line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lenetcli.config import comma_items
from lenetcli.errors import LenetError, unknown_choice

NOISE_TYPES = ("symmetric", "pair")
PAIR_ITEM = re.compile(r"[0-9]+:[0-9]+")  # an item of --pairs, TRUE:NOISY
DEFAULT_RATES = (0.0, 0.2, 0.4, 0.6, 0.8)
CLEAN, CUSTOM = "none", "transition"  # the noise_type of the clean baseline and of --transition
# Wide enough for a matrix typed with 3 or 4 decimals (rows summing to 0.9997); such rows are
# then divided by their sum, and config.json records the matrix as used.
ROW_SUM_TOLERANCE = 1e-3


# --------------------------------------------------------------------------- transition matrices


def check_rate(rate: float) -> float:
    """A noise rate is a fraction in [0, 1); anything else is a one-line error."""
    if not (isinstance(rate, int | float) and math.isfinite(rate) and 0 <= rate < 1):
        hint = " (rates are fractions: write 0.2 for 20%)" if isinstance(rate, int | float) else ""
        raise LenetError(f"noise rate {rate} is out of range; choose a value in [0, 1){hint}")
    return float(rate)


def symmetric_transition(k: int, rate: float) -> np.ndarray:
    """Keep the label with probability 1 - rate, else pick one of the other K - 1 uniformly."""
    rate = check_rate(rate)
    matrix = np.full((k, k), rate / (k - 1))
    np.fill_diagonal(matrix, 1.0 - rate)
    return matrix


def default_pairs(k: int) -> dict[int, int]:
    """Pair noise's default mapping: class i becomes class (i + 1) mod K."""
    return {i: (i + 1) % k for i in range(k)}


def pair_transition(k: int, rate: float, pairs: dict[int, int] | None = None) -> np.ndarray:
    """Class i becomes pairs[i] with probability rate; a class not in pairs is never flipped."""
    rate = check_rate(rate)
    pairs = default_pairs(k) if pairs is None else check_pairs(pairs, k)
    matrix = np.eye(k)
    for source, target in pairs.items():
        matrix[source, source] = 1.0 - rate
        matrix[source, target] = rate
    return matrix


def parse_pairs(text: str) -> dict[int, int]:
    """'0:1,1:2' -> {0: 1, 1: 2}: the --pairs option, each true class to its noisy class."""
    pairs: dict[int, int] = {}
    for item in comma_items("--pairs", text, "0:1,1:2"):
        source, sep, target = item.partition(":")
        # class numbers in ASCII digits: str.isdigit() also takes '²', which int() refuses
        if not (sep and PAIR_ITEM.fullmatch(source.strip() + ":" + target.strip())):
            raise LenetError(
                f"--pairs item '{item}' is not of the form TRUE:NOISY; write e.g. --pairs 0:1,1:2"
            )
        source_class, target_class = int(source), int(target)
        if source_class in pairs:
            raise LenetError(
                f"--pairs maps class {source_class} twice; give each true class at most one noisy class"
            )
        pairs[source_class] = target_class
    return pairs


def check_pairs(pairs: dict[int, int], k: int) -> dict[int, int]:
    """Every class in range and no class mapped to itself (that would be no noise at all)."""
    for source, target in pairs.items():
        for value in (source, target):
            if not 0 <= value < k:
                raise LenetError(
                    f"--pairs {source}:{target} names class {value}, but this dataset has classes 0 to {k - 1}"
                )
        if source == target:
            raise LenetError(
                f"--pairs {source}:{target} maps a class to itself; pair each class with another class"
            )
    return dict(pairs)


def validate_transition(matrix, k: int) -> np.ndarray:
    """A K x K row-stochastic matrix as float64, or a one-line error naming row and column.

    Rows and columns are numbered from 0, as the classes are: row i is true label i.
    """
    rows = [list(row) for row in matrix]
    if len(rows) != k:
        raise LenetError(
            f"transition matrix has {len(rows)} rows, expected {k} (one per class, rows 0 to {k - 1})"
        )
    for i, row in enumerate(rows):
        if len(row) != k:
            raise LenetError(
                f"transition matrix row {i} has {len(row)} columns, expected {k}: the matrix must be square, K x K"
            )
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise LenetError(
                    f"transition matrix row {i}, column {j} is {value}; every entry must be a probability in [0, 1]"
                )
    array = np.array(rows, dtype=np.float64)
    for i, total in enumerate(array.sum(axis=1)):
        if abs(total - 1.0) > ROW_SUM_TOLERANCE + 1e-9:  # 0.999 typed is 0.99899999...
            raise LenetError(
                f"transition matrix row {i} (columns 0 to {k - 1}) sums to {total:.9g}; "
                f"each row must sum to 1 within {ROW_SUM_TOLERANCE:g}"
            )
    sums = array.sum(axis=1, keepdims=True)
    # Rows off by float rounding alone stay as they are, so a matrix read back is the same.
    return np.where(abs(sums - 1.0) > 1e-9, array / sums, array)


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


# --------------------------------------------------------------------------- sampling


def sample_noisy_labels(labels, transition: np.ndarray, noise_seed: int) -> torch.Tensor:
    """Noisy labels (int64 tensor): label y becomes j with probability transition[y][j].

    One vectorised draw from numpy's default_rng(noise_seed); see the module docstring for why
    two uniforms per sample rather than one.
    """
    true = torch.as_tensor(labels).long().cpu().numpy()
    transition = np.asarray(transition, dtype=np.float64)
    k = len(transition)
    flip_uniform, target_uniform = np.random.default_rng(noise_seed).random((2, len(true)))

    keep = np.diag(transition)
    flip_probability = 1.0 - keep
    # Where to go, given a flip: the row's off-diagonal entries, renormalised. Rows that never
    # flip get a harmless uniform row; their samples never use it.
    off_diagonal = transition * (1.0 - np.eye(k))
    totals = off_diagonal.sum(axis=1, keepdims=True)
    targets = np.where(totals > 0, off_diagonal / np.where(totals > 0, totals, 1.0), 1.0 / k)
    cumulative = np.cumsum(targets, axis=1)[true]  # (N, K)
    # The first class whose cumulative probability exceeds the uniform; clipped because the
    # last cumulative entry can fall a rounding error short of 1.
    target = np.minimum((cumulative <= target_uniform[:, None]).sum(axis=1), k - 1)
    flips = flip_uniform < flip_probability[true]
    noisy = np.where(flips, target, true)
    return torch.from_numpy(noisy.astype(np.int64))


# --------------------------------------------------------------------------- what the noise did


def achieved_noise_rate(true, noisy) -> float:
    """The fraction of labels that the noise changed."""
    true, noisy = torch.as_tensor(true), torch.as_tensor(noisy)
    return float((true != noisy).double().mean())


def noisy_confusion(true, noisy, k: int) -> np.ndarray:
    """Empirical P(noisy label j | true label i): rows are true labels and sum to 1."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(
        torch.as_tensor(true).cpu().numpy(),
        torch.as_tensor(noisy).cpu().numpy(),
        labels=list(range(k)),
        normalize="true",
    )


# --------------------------------------------------------------------------- the settings of a study


@dataclass(frozen=True, eq=False)
class NoiseSetting:
    """One noise setting of a study: its type, its rate and the matrix that realises them.

    noise_type is "symmetric", "pair", "none" (rate 0: the clean baseline, trained once however
    many types are listed) or "transition" (a user's matrix; rate is then the mean over classes
    of 1 - T[i][i], the expected share of changed labels when the classes are balanced).
    """

    noise_type: str
    rate: float
    transition: np.ndarray

    @property
    def label(self) -> str:
        """The setting's name in file names: 'symmetric-0.2', 'none-0' or 'transition'."""
        return CUSTOM if self.noise_type == CUSTOM else f"{self.noise_type}-{self.rate:g}"


def parse_noise_types(text: str) -> list[str]:
    """'symmetric,pair' -> ['symmetric', 'pair']: known types, each once."""
    types = comma_items("--noise-type", text, "symmetric,pair")
    for noise_type in types:
        if noise_type not in NOISE_TYPES:
            raise unknown_choice("--noise-type", noise_type, NOISE_TYPES)
    if len(set(types)) != len(types):
        raise LenetError(f"--noise-type '{text}' lists a type twice; give each type once")
    return types


def parse_rates(text: str) -> list[float]:
    """'0,0.2,0.4' -> [0.0, 0.2, 0.4]: fractions in [0, 1), each once, in increasing order."""
    rates = []
    for part in comma_items("--noise-rate", text, "0,0.2,0.4"):
        try:
            rate = float(part)
        except ValueError:
            raise LenetError(
                f"--noise-rate '{part}' is not a number; write fractions such as --noise-rate 0,0.2,0.4"
            ) from None
        rates.append(check_rate(rate))
    if len(set(rates)) != len(rates):
        raise LenetError(f"--noise-rate '{text}' lists a rate twice; give each rate once")
    return sorted(rates)


def noise_settings(
    k: int, types: list[str], rates: list[float], pairs: dict[int, int] | None = None
) -> list[NoiseSetting]:
    """Every (type, rate) of a study, with rate 0 once, as the shared clean baseline, first."""
    if pairs is not None:
        if "pair" not in types:
            raise LenetError("--pairs sets the mapping of pair noise; add pair to --noise-type")
        check_pairs(pairs, k)
    settings = [NoiseSetting(CLEAN, 0.0, np.eye(k))] if 0.0 in rates else []
    makers = {"symmetric": symmetric_transition, "pair": lambda k, r: pair_transition(k, r, pairs)}
    for noise_type in types:
        settings += [
            NoiseSetting(noise_type, rate, makers[noise_type](k, rate))
            for rate in rates
            if rate > 0
        ]
    return settings


def custom_setting(transition: np.ndarray) -> NoiseSetting:
    """The one setting of --transition; its rate is the mean over classes of 1 - T[i][i]."""
    return NoiseSetting(CUSTOM, float(np.mean(1.0 - np.diag(transition))), transition)
