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

Nothing here reads or writes a file: a user's matrix is read by outputs/transition_file.py,
the options' text by commands/noise.py. The checks' messages name lenet noise's options
(--pairs, --noise-type), which every study of noise shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lenetcli.config import exact
from lenetcli.errors import LenetError

NOISE_TYPES = ("symmetric", "pair")
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
        """The setting's name in file names: 'symmetric-0.2', 'none-0' or 'transition'; the
        rate as given (0.1000001 is not 0.1's setting)."""
        return CUSTOM if self.noise_type == CUSTOM else f"{self.noise_type}-{exact(self.rate)}"


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
