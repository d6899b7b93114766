"""Where a model fails: confusion matrices, confused pairs, per-class metrics, hard samples.

Pure functions on arrays and DataFrames: labels and predictions are integer class numbers,
probabilities an (N, K) array whose rows sum to 1. Nothing here reads or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

NORMALIZE_MODES = ("true", "pred", "all", "none")


# --------------------------------------------------------------------------- confusion matrix


def confusion(labels, predicted, n_classes: int, normalize: str = "none") -> np.ndarray:
    """The (K, K) matrix, rows true classes and columns predicted ones.

    normalize: 'true' (each row sums to 1), 'pred' (each column), 'all' (the whole matrix) or
    'none' (counts). Rows or columns with no images are zeros, as scikit-learn makes them.
    """
    return confusion_matrix(
        labels,
        predicted,
        labels=np.arange(n_classes),
        normalize=None if normalize == "none" else normalize,
    )


def confusion_frame(matrix: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """The matrix as a table: first column the true class, then one column per predicted class."""
    frame = pd.DataFrame(matrix, columns=list(classes))
    frame.insert(0, "true", list(classes))
    return frame


def accuracy(labels, predicted) -> float:
    """Percent of images whose prediction is their label."""
    return 100.0 * float(np.mean(np.asarray(labels) == np.asarray(predicted)))


# --------------------------------------------------------------------------- confused pairs


def ranked_pairs(counts: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Every off-diagonal cell (true i predicted as j), most images first.

    rate is the share of class i's images predicted as j. Equal counts rank by rate, then keep
    the order of (i, j), so the ranking never depends on how a sort happens to break ties.
    """
    counts = np.asarray(counts)
    support = counts.sum(axis=1)
    rows = [
        {
            "true": i,
            "predicted": j,
            "true_class": classes[i],
            "predicted_class": classes[j],
            "count": int(counts[i, j]),
            "rate": counts[i, j] / support[i] if support[i] else 0.0,
        }
        for i in range(len(classes))
        for j in range(len(classes))
        if i != j
    ]
    return rank_by_count(pd.DataFrame(rows))


def ranked_unordered_pairs(counts: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Every pair of classes {a, b} (a < b) with both directions added, most images first.

    a_as_b and b_as_a keep the two directions; rate is count over the images of both classes.
    """
    counts = np.asarray(counts)
    support = counts.sum(axis=1)
    rows = []
    for a in range(len(classes)):
        for b in range(a + 1, len(classes)):
            both = int(counts[a, b] + counts[b, a])
            images = support[a] + support[b]
            rows.append(
                {
                    "class_a": a,
                    "class_b": b,
                    "class_a_name": classes[a],
                    "class_b_name": classes[b],
                    "count": both,
                    "a_as_b": int(counts[a, b]),
                    "b_as_a": int(counts[b, a]),
                    "rate": both / images if images else 0.0,
                }
            )
    return rank_by_count(pd.DataFrame(rows))


def rank_by_count(pairs: pd.DataFrame) -> pd.DataFrame:
    ranked = pairs.sort_values(["count", "rate"], ascending=False, kind="stable")
    ranked = ranked.reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked


def top_confused(pairs: pd.DataFrame, k: int) -> pd.DataFrame:
    """The k highest-ranked pairs that were confused at least once."""
    return pairs[pairs["count"] > 0].head(k)


# --------------------------------------------------------------------------- per class


def per_class_metrics(labels, predicted, classes: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class (scikit-learn's; 0 where undefined)."""
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=np.arange(len(classes)), zero_division=0
    )
    return pd.DataFrame(
        {
            "class": np.arange(len(classes)),
            "name": list(classes),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    )


# --------------------------------------------------------------------------- hard samples


@dataclass(frozen=True)
class SampleGroup:
    """Test images chosen for one gallery: positions into the evaluated split, in order."""

    name: str  # file stem and the 'group' column: '3-as-5', 'class-3-wrong', ...
    title: str
    positions: np.ndarray  # the first `limit` of the images that qualify
    total: int  # how many images qualify
    order: str  # how positions are sorted, in words


def pair_positions(probs: np.ndarray, labels, true: int, predicted: int) -> np.ndarray:
    """Images of class `true` predicted as `predicted`, hardest first (highest wrong probability)."""
    chosen = np.flatnonzero((np.asarray(labels) == true) & (probs.argmax(axis=1) == predicted))
    return most_first(chosen, probs[chosen, predicted])


def least_confident_correct(probs: np.ndarray, labels, cls: int) -> np.ndarray:
    """Correctly classified images of class cls, lowest probability of the right answer first."""
    chosen = np.flatnonzero((np.asarray(labels) == cls) & (probs.argmax(axis=1) == cls))
    return most_first(chosen, -probs[chosen, cls])


def most_confident_wrong(probs: np.ndarray, labels, cls: int) -> np.ndarray:
    """Misclassified images of class cls, highest probability of the wrong answer first."""
    chosen = np.flatnonzero((np.asarray(labels) == cls) & (probs.argmax(axis=1) != cls))
    return most_first(chosen, probs[chosen].max(axis=1))


def most_first(positions: np.ndarray, score: np.ndarray) -> np.ndarray:
    # A stable sort keeps equal scores in test order, so the choice is reproducible.
    return positions[np.argsort(-score, kind="stable")]


def first(name: str, title: str, positions: np.ndarray, limit: int, order: str) -> SampleGroup:
    return SampleGroup(name, title, positions[:limit], len(positions), order)


def hard_sample_groups(
    probs: np.ndarray,
    labels,
    pairs: pd.DataFrame,
    classes: list[str],
    per_pair: int,
    per_class: bool,
) -> list[SampleGroup]:
    """A group per confused pair (rows of ranked_pairs), then, if per_class, two per class."""
    groups = [
        first(
            f"{i}-as-{j}",
            f"{classes[i]} classified as {classes[j]}",
            pair_positions(probs, labels, i, j),
            per_pair,
            "hardest first",
        )
        for i, j in zip(pairs["true"], pairs["predicted"], strict=True)
    ]
    if per_class:
        for c, name in enumerate(classes):
            groups.append(
                first(
                    f"class-{c}-correct",
                    f"{name}: least confident correct",
                    least_confident_correct(probs, labels, c),
                    per_pair,
                    "least confident first",
                )
            )
            groups.append(
                first(
                    f"class-{c}-wrong",
                    f"{name}: most confident wrong",
                    most_confident_wrong(probs, labels, c),
                    per_pair,
                    "most confident first",
                )
            )
    return groups


def sample_rows(
    group: SampleGroup, probs: np.ndarray, labels, indices, classes: list[str]
) -> pd.DataFrame:
    """One row per image of a group: its test index, classes and probabilities.

    margin is the probability of the true class minus the highest other one: negative when the
    prediction is wrong, and the further below zero the more confident the mistake.
    """
    pos = group.positions
    p = probs[pos]
    true = np.asarray(labels)[pos]
    predicted = p.argmax(axis=1)
    prob_true = p[np.arange(len(pos)), true]
    others = p.copy()
    others[np.arange(len(pos)), true] = -np.inf
    return pd.DataFrame(
        {
            "group": group.name,
            "rank": np.arange(1, len(pos) + 1),
            "index": np.asarray(indices)[pos],
            "true": true,
            "predicted": predicted,
            "true_class": [classes[c] for c in true],
            "predicted_class": [classes[c] for c in predicted],
            "prob_predicted": p.max(axis=1),
            "prob_true": prob_true,
            "margin": prob_true - others.max(axis=1),
        }
    )


HARD_SAMPLE_COLUMNS = [
    "group", "rank", "index", "true", "predicted", "true_class", "predicted_class",
    "prob_predicted", "prob_true", "margin",
]  # fmt: skip


def hard_samples_frame(
    groups: list[SampleGroup], probs: np.ndarray, labels, indices, classes: list[str]
) -> pd.DataFrame:
    frames = [sample_rows(g, probs, labels, indices, classes) for g in groups if len(g.positions)]
    if not frames:
        return pd.DataFrame(columns=HARD_SAMPLE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[HARD_SAMPLE_COLUMNS]
