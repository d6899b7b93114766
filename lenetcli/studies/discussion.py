"""The discussion of a study, generated from its measured numbers: each function returns
`Sentence`s, a text and the numbers it rests on (by name, unrounded), so that a report can
put the numbers in a CSV beside the text and nothing is said that they do not show.

Nothing here is hard-coded about which dataset, class, noise rate or option comes out best:
every comparison is made on the numbers given. Differences between options are tested
against the spread between seeds with a two-sided Welch t-test (scipy's ttest_ind with
equal_var=False: the seeds of two settings need not vary alike) at the 5% level, and a
sentence says so whether or not the difference is significant.

Accuracies and rates are in percent; a difference between two of them is in points.
Pure functions on numbers and DataFrames; nothing here reads or writes files.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lenetcli.science.data import dataset_title

ALPHA = 0.05  # the significance level of every test, stated in the sentences
# A step of a noise curve is steep when accuracy falls by at least this many times the
# median of the other falls between consecutive rates: with evenly spaced rates, a curve
# that falls evenly has every step near the others, one that collapses has one step far
# above them. The other falls, not all of them: of two falls (rates 0, 0.2, 0.4) the median
# of both is their mean, which the larger can never reach twice, however steep it is.
STEEP_FACTOR = 2.0


@dataclass(frozen=True)
class Sentence:
    """One generated sentence and every number it states, by name."""

    topic: str  # what it discusses: 'datasets', 'confusion', 'noise', 'activation', ...
    text: str
    numbers: dict[str, float] = field(default_factory=dict)


def pct(value: float) -> str:
    """A percentage as the tables show it: two decimals."""
    return f"{value:.2f}%"


def points(value: float) -> str:
    return f"{value:.2f} points"


def mean_std(mean: float, std: float) -> str:
    """'98.12% ± 0.08', or '98.12%' where one run leaves no std."""
    return pct(mean) if std is None or pd.isna(std) else f"{pct(mean)} ± {std:.2f}"


# --------------------------------------------------------------------------- datasets


def dataset_ranking(results: pd.DataFrame) -> Sentence:
    """Datasets ranked by mean final test accuracy, with the gap from each to the next.

    results: one row per dataset with dataset, final_test_acc_mean, final_test_acc_std and n.
    """
    ranked = results.sort_values("final_test_acc_mean", ascending=False, kind="stable")
    rows = list(ranked.itertuples())
    keys, names = ranking_names(ranked)
    numbers = {}
    parts = []
    for i, row in enumerate(rows):
        numbers[f"{keys[i]}_mean"] = float(row.final_test_acc_mean)
        numbers[f"{keys[i]}_std"] = float(row.final_test_acc_std)
        text = f"{names[i]} {mean_std(row.final_test_acc_mean, row.final_test_acc_std)}"
        if i:
            above = rows[i - 1]
            gap = float(above.final_test_acc_mean - row.final_test_acc_mean)
            numbers[f"gap_{keys[i - 1]}_{keys[i]}"] = gap
            text += f" ({points(gap)} below {names[i - 1]})"
        parts.append(text)
    runs = sorted({int(n) for n in ranked["n"]})
    over = f"{runs[0]}" if len(runs) == 1 else f"{runs[0]} to {runs[-1]}"
    text = (
        f"Ranked by mean final testing accuracy over {over} seeds: {'; '.join(parts)}."
        if len(rows) > 1
        else f"Only one dataset was measured: {parts[0]} (mean final testing accuracy)."
    )
    return Sentence("datasets", text, numbers)


def ranking_names(ranked: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Each row's key in the numbers and its name in the text: its dataset, and where a
    dataset has two rows (best_of's own dataset trained again), also its section."""
    twice = ranked["dataset"].duplicated(keep=False)
    sections = ranked["section"] if "section" in ranked else pd.Series("", index=ranked.index)
    keys, names = [], []
    for dataset, section, both in zip(ranked["dataset"], sections, twice, strict=True):
        keys.append(f"{dataset}_{section}" if both else str(dataset))
        names.append(f"{dataset_title(dataset)} in {section}" if both else dataset_title(dataset))
    return keys, names


# --------------------------------------------------------------------------- confused pairs


def pair_name(row) -> str:
    return f"{row.true_class} → {row.predicted_class}"


def shared_classes(pairs: pd.DataFrame) -> dict[str, int]:
    """The classes that take part (as true or predicted class) in more than one of the
    pairs, with in how many, most first (then in the pairs' order)."""
    counts = Counter()
    for row in pairs.itertuples():
        # a list, not a set: a set's order changes with each process's string hashing, and so
        # would the order of classes tied in most_common (a pair's two classes always differ)
        counts.update([row.true_class, row.predicted_class])
    return {name: n for name, n in counts.most_common() if n > 1}


def both_ways(pairs: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of classes confused in both directions among the pairs given (a → b and b → a)."""
    order = [(r.true_class, r.predicted_class) for r in pairs.itertuples()]  # the pairs' order
    seen = set(order)
    return [(a, b) for a, b in order if (b, a) in seen and str(a) < str(b)]


def confused_pairs(dataset: str, pairs: pd.DataFrame) -> Sentence:
    """The most confused pairs of a dataset with their rate over seeds, and what they share.

    pairs: rows of seeds.top_pairs (true_class, predicted_class, rate_mean and rate_std as
    fractions of the true class's images, seeds).
    """
    if pairs.empty:
        return Sentence(
            "confusion",
            f"On {dataset_title(dataset)} no seed's model confused any pair of classes.",
        )
    numbers = {}
    listed = []
    for row in pairs.itertuples():
        name = f"{row.true_class}_as_{row.predicted_class}"
        numbers[f"{name}_mean"] = 100 * float(row.rate_mean)
        numbers[f"{name}_std"] = 100 * float(row.rate_std) if pd.notna(row.rate_std) else math.nan
        spread = "" if pd.isna(row.rate_std) else f" ± {100 * row.rate_std:.2f}"
        listed.append(
            f"{pair_name(row)} ({pct(100 * row.rate_mean)}{spread} of the images labelled {row.true_class})"
        )
    seeds = int(pairs["seeds"].max())
    text = (
        f"On {dataset_title(dataset)} the most confused pairs (mean ± std over {seeds} seeds' models) "
        f"are {', '.join(listed)}."
    )
    shared = shared_classes(pairs)
    reciprocal = both_ways(pairs)
    common = []
    if shared:
        common.append(
            "; ".join(f"{name} is in {n} of the {len(pairs)} pairs" for name, n in shared.items())
        )
        numbers |= {f"pairs_with_{name}": float(n) for name, n in shared.items()}
    if reciprocal:
        common.append(
            ", ".join(f"{a} and {b} are confused both ways" for a, b in sorted(reciprocal))
        )
    if common:
        text += f" What they have in common: {'; '.join(common)}."
    elif len(pairs) > 1:
        text += " No class is in more than one of them."
    return Sentence("confusion", text, numbers)


# --------------------------------------------------------------------------- label noise


def noise_fall(noise_type: str, curve: pd.DataFrame) -> Sentence:
    """How mean test accuracy falls as the noise rate grows, and where the fall steepens.

    curve: rate (a fraction) and mean (final test accuracy, percent), one row per rate.
    A drop is steep when it is at least STEEP_FACTOR times the median of the other drops
    between consecutive rates; the sentence states that definition.
    """
    curve = curve.sort_values("rate")
    rates = curve["rate"].to_numpy(dtype=float)
    means = curve["mean"].to_numpy(dtype=float)
    numbers = {f"acc_at_{r:g}": float(m) for r, m in zip(rates, means, strict=True)}
    text = (
        f"Under {noise_type} noise, mean final test accuracy goes from {pct(means[0])} at "
        f"{100 * rates[0]:g}% noise to {pct(means[-1])} at {100 * rates[-1]:g}%"
    )
    if len(rates) < 3:
        return Sentence("noise", text + "; with fewer than three rates no step can be "
                        "compared with the others.", numbers)  # fmt: skip
    drops = means[:-1] - means[1:]  # positive: accuracy fell from one rate to the next
    if not (drops > 0).any():
        return Sentence("noise", text + "; it does not fall from any rate to the next.", numbers)
    largest = int(np.argmax(drops))
    median = float(np.median(np.delete(drops, largest)))  # of the other drops
    steep = drops[largest] >= STEEP_FACTOR * median
    numbers |= {
        "largest_drop": float(drops[largest]),
        "largest_drop_from": float(rates[largest]),
        "largest_drop_to": float(rates[largest + 1]),
        "median_other_drops": median,
        "steep_factor": STEEP_FACTOR,
    }
    step = (
        f"the largest drop between consecutive rates is {points(drops[largest])}, from "
        f"{100 * rates[largest]:g}% to {100 * rates[largest + 1]:g}%"
    )
    rule = f"{STEEP_FACTOR:g} times the median of the other drops ({points(median)})"
    if median <= 0:  # the other steps do not fall, on the median: no factor to speak of
        del numbers["steep_factor"]  # the sentence states none
        text += (
            f"; {step}, while the median of the other drops is {points(median)} (no fall): "
            "the fall lies in that step."
        )
    elif steep:
        text += f"; {step}, at least {rule}: the fall steepens there."
    else:
        text += f"; {step}, less than {rule}: no step is steep, the fall is gradual."
    return Sentence("noise", text, numbers)


def early_stopping(table: pd.DataFrame) -> Sentence:
    """How stopping at the epoch of peak test accuracy would have fared against the final
    epoch, where it matters most (the largest gain).

    table: one row per noise setting: setting, final (mean final test accuracy), peak (mean
    over seeds of each run's highest test accuracy), peak_epoch (its mean epoch) and epochs.
    The peak is picked on the test set itself, so it is an upper bound of what early
    stopping on held-out data would give; the sentence says so.
    """
    gains = (table["peak"] - table["final"]).to_numpy(dtype=float)
    caveat = (
        ". The peak is chosen on the test set itself, so this is an upper bound on what early "
        "stopping on held-out images would give."
    )
    if not (gains > 0).any():
        return Sentence(
            "noise",
            "Stopping at the epoch of peak test accuracy would not have helped: in every "
            f"setting the last epoch's mean test accuracy is the peak's{caveat}",
            {"largest_gain": float(gains.max())},
        )
    best = int(np.argmax(gains))
    row = table.iloc[best]
    least = int(np.argmin(gains))
    tied = [str(s) for s, g in zip(table["setting"], gains, strict=True) if g == gains[best]]
    numbers = {
        "largest_gain": float(gains[best]),
        "peak": float(row["peak"]),
        "final": float(row["final"]),
        "peak_epoch": float(row["peak_epoch"]),
        "epochs": float(row["epochs"]),
        "smallest_gain": float(gains[least]),
    }
    text = (
        f"Stopping at the epoch of peak test accuracy would have helped most at "
        f"{row['setting']}: {pct(row['peak'])} at epoch {row['peak_epoch']:.1f} on average "
        f"(of {int(row['epochs'])}) against {pct(row['final'])} after the last epoch, "
        f"{points(gains[best])} more"
    )
    if len(tied) > 1:
        text += f" (as much at {', '.join(tied[1:])})"
    if gains[least] < gains[best]:
        text += f"; the least at {table.iloc[least]['setting']}, {points(gains[least])}"
    return Sentence("noise", text + caveat, numbers)


# --------------------------------------------------------------------------- options compared


@dataclass(frozen=True)
class Welch:
    """A two-sided Welch t-test of two samples; p is None when no test was possible."""

    difference: float  # mean of a minus mean of b
    p: float | None
    why_not: str = ""  # why no test was possible

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < ALPHA


def welch(a: list[float], b: list[float]) -> Welch:
    """Welch's t-test (scipy.stats.ttest_ind, equal_var=False), two-sided."""
    from scipy.stats import ttest_ind

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = float(a.mean() - b.mean())
    if min(len(a), len(b)) < 2:
        return Welch(difference, None, "fewer than 2 runs on a side")
    if a.std() == 0 and b.std() == 0:
        return Welch(difference, None, "neither side varies between seeds")
    with warnings.catch_warnings():
        # A side whose seeds all ended at one accuracy (models stuck at chance) has no
        # variance; scipy warns of precision loss in computing it as nearly 0, and Welch's
        # test then rests on the other side's variance, as it should.
        warnings.simplefilter("ignore", RuntimeWarning)
        return Welch(difference, float(ttest_ind(a, b, equal_var=False).pvalue))


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def significance_text(test: Welch) -> str:
    """What a test found, in words that say which test and at which level."""
    if test.p is None:
        return f"no test was possible ({test.why_not})"
    level = f"{ALPHA:.0%} level (two-sided Welch t-test, {p_text(test.p)})"
    if test.significant:
        return f"significant at the {level}"
    return f"not significant at the {level}"


def compare_options(
    what: str,
    samples: dict[str, list[float]],
    measure: str = "final testing accuracy",
    higher_is_better: bool = True,
    unit: str = "%",
) -> list[Sentence]:
    """Which option did best by its mean over seeds, then one sentence per other option:
    the difference from the best and whether it exceeds the spread between seeds.

    samples: per option (e.g. each activation), one value per seed. unit '%' for
    accuracies; ' points' for differences of accuracies (a train-test gap).
    """

    def value(v: float) -> str:
        return pct(v) if unit == "%" else f"{v:.2f}{unit}"

    means = {name: float(np.mean(v)) for name, v in samples.items()}
    order = sorted(means, key=lambda n: -means[n] if higher_is_better else means[n])
    best = order[0]
    tied = [name for name in order[1:] if means[name] == means[best]]
    spread = np.std(samples[best], ddof=1) if len(samples[best]) > 1 else None
    shown = value(means[best]) + ("" if spread is None else f" ± {spread:.2f}")
    wording = "highest" if higher_is_better else "lowest"
    if tied:  # equal means: no option is best alone
        shown += f" (as had {', '.join(tied)}: a tie)"
    # Each test alone errs 5% of the time; over several, a 'significant' one comes easier.
    several = (
        f" Each other setting is compared with it on its own, uncorrected for the "
        f"{len(samples) - 1} comparisons."
        if len(samples) > 2
        else ""
    )
    sentences = [
        Sentence(
            what,
            f"{what}: of {len(samples)} settings, {best} had the {wording} mean {measure}: "
            f"{shown} over {len(samples[best])} seeds.{several}",
            {f"{best}_mean": means[best], **({} if spread is None else {f"{best}_std": spread})},
        )
    ]
    for name in order[1:]:
        test = welch(samples[best], samples[name])
        numbers = {
            f"{name}_mean": means[name],
            "difference": abs(test.difference),
            "alpha": ALPHA,
            **({} if test.p is None else {"p_value": test.p}),
        }
        sentences.append(
            Sentence(
                what,
                f"{best} against {name} ({value(means[name])}): a difference of "
                f"{abs(test.difference):.2f} points, {significance_text(test)}.",
                numbers,
            )
        )
    return sentences


def sentences_frame(sentences: list[Sentence]) -> pd.DataFrame:
    """The sentences as a table: topic, text, and the numbers as name=value pairs."""
    return pd.DataFrame(
        {
            "topic": [s.topic for s in sentences],
            "text": [s.text for s in sentences],
            "numbers": [
                "; ".join(f"{k}={v:.10g}" for k, v in s.numbers.items()) for s in sentences
            ],
        }
    )
