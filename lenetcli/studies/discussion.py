"""The discussion of a study, generated from its measured numbers: each function returns
`Sentence`s, a text and the numbers it rests on (by name, unrounded), so that a report can
put the numbers in a CSV beside the text and nothing is said that they do not show.

Nothing here is hard-coded about which dataset, class, noise rate or option comes out best:
every comparison is made on the numbers given. Differences between options are tested
against the spread between seeds with a two-sided Welch t-test (scipy's ttest_ind with
equal_var=False: the seeds of two settings need not vary alike) at the 5% level, and a
sentence says so whether or not the difference is significant.

Accuracies and rates are in percent; a difference between two of them is in points.
Numbers are compared as the text and the tables show them (tables.shown, 2 decimals): two
means that show alike are tied, whichever float rounding left a hair above the other, and a
difference stated beside two means is the difference of the means as stated. A sentence's
`numbers` stay unrounded. Where settings tie, the first in the order given (the study
file's) is the one named first and compared with the others; the sentence says they tie.
Pure functions on numbers and DataFrames; nothing here reads or writes files.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lenetcli.outputs.tables import fmt, mean_epoch, shown, shown_difference
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
    """A percentage as the tables show it (tables.fmt): two decimals."""
    return f"{fmt(value)}%"


def points(value: float) -> str:
    return f"{fmt(value)} points"


def mean_std(mean: float, std: float) -> str:
    """'98.12% ± 0.08', or '98.12%' where one run leaves no std."""
    return pct(mean) if std is None or pd.isna(std) else f"{pct(mean)} ± {fmt(std)}"


def names_text(names: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# --------------------------------------------------------------------------- datasets


def dataset_ranking(results: pd.DataFrame) -> Sentence:
    """Datasets ranked by mean final test accuracy, with the gap from each to the next.

    results: one row per dataset with dataset, final_test_acc_mean, final_test_acc_std and n.
    """
    # by the means as shown, stable: datasets that show the same mean keep the table's order
    ranked = results.sort_values(
        "final_test_acc_mean", ascending=False, kind="stable", key=lambda m: m.map(shown)
    )
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
            stated = shown_difference(above.final_test_acc_mean, row.final_test_acc_mean)
            text += (
                f" ({points(stated)} below {names[i - 1]})"
                if stated > 0
                else f" (tied with {names[i - 1]})"
            )
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
    between consecutive rates; the sentence states that definition. Drops are those between
    the means as shown, so that the text's drops are the table's means' (the numbers keep
    them unrounded); steps whose drops show alike are tied for the largest, and named.
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
    # the drops as the means are shown (the numbers keep the unrounded ones)
    stated = np.array([shown_difference(means[i], means[i + 1]) for i in range(len(drops))])
    if not (stated > 0).any():
        return Sentence("noise", text + "; it does not fall from any rate to the next.", numbers)
    largest = int(np.argmax(stated))  # the first of steps tied for the largest
    tied = [i for i in range(len(stated)) if i != largest and stated[i] == stated[largest]]
    median = float(np.median(np.delete(drops, largest)))  # of the other drops
    median_stated = shown(np.median(np.delete(stated, largest)))
    steep = stated[largest] >= STEEP_FACTOR * median_stated
    numbers |= {
        "largest_drop": float(drops[largest]),
        "largest_drop_from": float(rates[largest]),
        "largest_drop_to": float(rates[largest + 1]),
        "median_other_drops": median,
        "steep_factor": STEEP_FACTOR,
    }

    def between(i: int) -> str:
        return f"from {100 * rates[i]:g}% to {100 * rates[i + 1]:g}%"

    step = (
        f"the largest drop between consecutive rates is {points(stated[largest])}, "
        f"{between(largest)}"
    )
    if tied:
        step += f" (as large {names_text([between(i) for i in tied])})"
    lies = "in those steps" if tied else "in that step"
    steepens = "at those steps" if tied else "there"
    rule = f"{STEEP_FACTOR:g} times the median of the other drops ({points(median_stated)})"
    if median_stated <= 0:  # the other steps do not fall, on the median: no factor to speak of
        del numbers["steep_factor"]  # the sentence states none
        text += (
            f"; {step}, while the median of the other drops is {points(median_stated)} "
            f"(no fall): the fall lies {lies}."
        )
    elif steep:
        text += f"; {step}, at least {rule}: the fall steepens {steepens}."
    else:
        text += f"; {step}, less than {rule}: no step is steep, the fall is gradual."
    return Sentence("noise", text, numbers)


def epochs_text(row: pd.Series) -> str:
    """The epoch of a setting's peak in whole epochs: 'epoch 3' where every seed peaked
    there, else 'epochs 2 to 5 (mean 3.4)'. row: peak_epoch (the mean over seeds),
    peak_epoch_min and peak_epoch_max."""
    low, high = int(row["peak_epoch_min"]), int(row["peak_epoch_max"])
    if low == high:
        return f"epoch {low}"
    return f"epochs {low} to {high} (mean {mean_epoch(row['peak_epoch'])})"


def early_stopping(table: pd.DataFrame) -> Sentence:
    """How stopping at the epoch of peak test accuracy would have fared against the final
    epoch, where it matters most (the largest gain) and least.

    table: one row per noise setting, in the study's order: setting, final (mean final test
    accuracy), peak (mean over seeds of each run's highest test accuracy), peak_epoch (its
    mean epoch), peak_epoch_min, peak_epoch_max and epochs. The peak is picked on the test
    set itself, so it is an upper bound of what early stopping on held-out data would give;
    the sentence says so. Gains are between the means as shown; settings whose gains show
    alike are tied, for the most and for the least, and all named.
    """
    gains = (table["peak"] - table["final"]).to_numpy(dtype=float)
    stated = np.array(
        [shown_difference(p, f) for p, f in zip(table["peak"], table["final"], strict=True)]
    )
    caveat = (
        ". The peak is chosen on the test set itself, so this is an upper bound on what early "
        "stopping on held-out images would give."
    )
    if not (stated > 0).any():
        return Sentence(
            "noise",
            "Stopping at the epoch of peak test accuracy would not have helped: in every "
            f"setting the last epoch's mean test accuracy is the peak's{caveat}",
            {"largest_gain": float(gains.max())},
        )
    best = int(np.argmax(stated))  # the first of those tied, in the table's order
    row = table.iloc[best]
    least = int(np.argmin(stated))
    settings = [str(s) for s in table["setting"]]
    most_tied = [s for s, g in zip(settings, stated, strict=True) if g == stated[best]]
    least_tied = [s for s, g in zip(settings, stated, strict=True) if g == stated[least]]
    numbers = {
        "largest_gain": float(gains[best]),
        "peak": float(row["peak"]),
        "final": float(row["final"]),
        "peak_epoch": float(row["peak_epoch"]),
        "peak_epoch_min": float(row["peak_epoch_min"]),
        "peak_epoch_max": float(row["peak_epoch_max"]),
        "epochs": float(row["epochs"]),
        "smallest_gain": float(gains[least]),
    }
    text = (
        f"Stopping at the epoch of peak test accuracy would have helped most at "
        f"{row['setting']}: {pct(row['peak'])} at {epochs_text(row)} "
        f"(of {int(row['epochs'])}) against {pct(row['final'])} after the last epoch, "
        f"{points(stated[best])} more"
    )
    if len(most_tied) > 1:
        text += f" (as much at {', '.join(most_tied[1:])})"
    if stated[least] < stated[best]:
        each = (
            f" ({points(stated[least])} each)"
            if len(least_tied) > 1
            else f", {points(stated[least])}"
        )
        text += f"; the least at {names_text(least_tied)}{each}"
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
    if not varies(a) and not varies(b):
        return Welch(difference, None, "neither side varies between seeds")
    with warnings.catch_warnings():
        # A side whose seeds all ended at one accuracy (models stuck at chance) has no
        # variance; scipy warns of precision loss in computing it as nearly 0, and Welch's
        # test then rests on the other side's variance, as it should.
        warnings.simplefilter("ignore", RuntimeWarning)
        return Welch(difference, float(ttest_ind(a, b, equal_var=False).pvalue))


def varies(values: np.ndarray) -> bool:
    """Whether the seeds' values differ at all: compared as they are, not by their std,
    which for three runs at 97.53 is 1.4e-14 (float rounding of the mean), small enough to
    make any difference from another such side 'significant' at p = 2e-55."""
    return bool(values.max() != values.min())


def p_text(p: float) -> str:
    """'p = 0.012', or 'p < 0.001'; p_digits says with how many decimals."""
    return "p < 0.001" if p < 0.001 else f"p = {p_digits(p)}"


def p_digits(p: float) -> str:
    """p with 3 decimals, or as many more as keep it on its own side of ALPHA: p = 0.04975
    is 0.050 at 3 decimals, which beside 'significant' reads as not below 0.05; it is
    shown as 0.0498. (A p just above ALPHA, 0.0504, is 0.050 at 3 decimals: not below
    0.05, as its 'not significant' says.)"""
    for digits in range(3, 17):
        text = f"{p:.{digits}f}"
        if (float(text) < ALPHA) == (p < ALPHA):
            return text
    return repr(p)


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
        return pct(v) if unit == "%" else f"{fmt(v)}{unit}"

    means = {name: float(np.mean(v)) for name, v in samples.items()}
    order = best_first(means, higher_is_better)
    best = order[0]
    tied = [name for name in order[1:] if shown(means[name]) == shown(means[best])]
    spread = np.std(samples[best], ddof=1) if len(samples[best]) > 1 else None
    stated = value(means[best]) + ("" if spread is None else f" ± {fmt(spread)}")
    stated += f" over {len(samples[best])} seeds"
    wording = "highest" if higher_is_better else "lowest"
    # Each test alone errs 5% of the time; over several, a 'significant' one comes easier.
    several = (
        f" Each other setting is compared with it on its own, uncorrected for the "
        f"{len(samples) - 1} comparisons."
        if len(samples) > 2
        else ""
    )
    opening = f"{what}: of {len(samples)} settings, "
    if tied:  # means that show alike: no option is best alone, and the text says which is taken
        opening += (
            f"{names_text([best, *tied])} are tied at the {wording} mean {measure} "
            f"({value(means[best])}); the first, {best} ({stated}), is compared with the others."
        )
    else:
        opening += f"{best} had the {wording} mean {measure}: {stated}."
    sentences = [
        Sentence(
            what,
            opening + several,
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
                f"{points(abs(shown_difference(means[best], means[name])))}, "
                f"{significance_text(test)}.",
                numbers,
            )
        )
    return sentences


def best_first(means: dict[str, float], higher_is_better: bool = True) -> list[str]:
    """The names of means from the best to the worst by their means as shown (tables.shown),
    a stable sort: names whose means show alike, a tie, keep the order given (the study
    file's), so that the first of them is taken as the best."""
    sign = -1 if higher_is_better else 1
    return sorted(means, key=lambda name: sign * shown(means[name]))


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
