"""Where a setting's models fail, over all its seeds rather than one: the confusion matrix as
a mean with its spread, the most confused pairs with their rate across seeds, and the hard
samples of those pairs ranked by how many seeds get them wrong.

One model's confusion matrix is one draw: a pair that one seed confuses 12 times another may
confuse 4 times. Over the seeds, a pair's mean rate and its std say whether it is a property
of the setting or of a seed's luck.

Inputs are the seeds' answers over the same test images: probs, an (S, N, K) array whose rows
sum to 1 (S models, N images, K classes), and labels, the N true classes. Pure functions;
nothing here reads or writes files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lenetcli.science.analysis import confusion, confusion_frame

CELL_COLUMNS = [
    "true", "predicted", "true_class", "predicted_class", "rate_mean", "rate_std", "rate_min",
    "rate_max", "count_mean", "seeds", "seeds_confused",
]  # fmt: skip
PAIR_COLUMNS = ["rank", *CELL_COLUMNS]
RATE_DIGITS = 12  # a test set of a million images has rates 1e-6 apart
HARD_COLUMNS = [
    "group", "rank", "index", "true", "predicted", "true_class", "predicted_class",
    "seeds_wrong", "seeds", "mean_prob_wrong", "std_prob_wrong", "mean_prob_true",
]  # fmt: skip


def check_probs(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    """probs as an (S, N, K) float array and labels as N integers, or a ValueError (a
    programming error: the models and the test images do not fit together)."""
    probs, labels = np.asarray(probs, dtype=float), np.asarray(labels)
    if probs.ndim != 3 or len(probs) == 0 or probs.shape[1] != len(labels):
        raise ValueError(f"probs must be (seeds, {len(labels)} images, classes), got {probs.shape}")
    return probs, labels


def seed_cells(probs, labels, n_classes: int) -> pd.DataFrame:
    """One row per seed and cell of its confusion matrix (scikit-learn's): seed (0 to S-1),
    true, predicted, count, and rate, the share of the true class's images (rows sum to 1)."""
    probs, labels = check_probs(probs, labels)
    true, predicted = np.divmod(np.arange(n_classes * n_classes), n_classes)
    frames = []
    for seed, answers in enumerate(probs):
        guesses = answers.argmax(axis=1)
        counts = confusion(labels, guesses, n_classes)
        rates = confusion(labels, guesses, n_classes, "true")
        frames.append(
            pd.DataFrame(
                {
                    "seed": seed,
                    "true": true,
                    "predicted": predicted,
                    "count": counts.ravel(),
                    "rate": rates.ravel(),
                }
            )  # fmt: skip
        )
    return pd.concat(frames, ignore_index=True)


def confusion_over_seeds(probs, labels, classes: list[str]) -> pd.DataFrame:
    """The normalised confusion matrix over the seeds, one row per cell (true, predicted):
    the mean, sample std (n-1; empty for one seed), min and max over the seeds of the cell's
    rate (the share of the true class's images predicted as `predicted`), the mean count,
    how many seeds there are and how many of them put at least one image in the cell."""
    cells = seed_cells(probs, labels, len(classes))
    stats = (
        cells.groupby(["true", "predicted"], sort=True)
        .agg(
            rate_mean=("rate", "mean"),
            rate_std=("rate", "std"),
            rate_min=("rate", "min"),
            rate_max=("rate", "max"),
            count_mean=("count", "mean"),
            seeds=("seed", "size"),
            seeds_confused=("count", lambda c: int((c > 0).sum())),
        )  # fmt: skip
        .reset_index()
    )
    stats.insert(2, "true_class", [classes[i] for i in stats["true"]])
    stats.insert(3, "predicted_class", [classes[j] for j in stats["predicted"]])
    return stats[CELL_COLUMNS]


def cell_matrix(cells: pd.DataFrame, column: str, n_classes: int) -> np.ndarray:
    """One column of confusion_over_seeds as a (K, K) matrix, rows true classes."""
    matrix = np.zeros((n_classes, n_classes))
    matrix[cells["true"].to_numpy(), cells["predicted"].to_numpy()] = cells[column].to_numpy()
    return matrix


def matrix_frame(cells: pd.DataFrame, column: str, classes: list[str]) -> pd.DataFrame:
    """The matrix of one column as `lenet confusion` writes confusion.csv: a first column
    `true` with the class names, then one column per predicted class."""
    return confusion_frame(cell_matrix(cells, column, len(classes)), classes)


def top_pairs(cells: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The `top` off-diagonal cells with the highest mean rate over the seeds, among those
    that some seed confused at all; equal means keep the order of (true, predicted), so the
    choice never depends on how a sort breaks ties. Columns: rank, then confusion_over_seeds'.

    Means are compared to RATE_DIGITS decimals: (0.6 + 0.7) / 2 is 0.6499999999999999 and
    (0.3 + 1.0) / 2 is 0.65, and float rounding must not decide between equal rates."""
    wrong = cells[(cells["true"] != cells["predicted"]) & (cells["rate_mean"] > 0)]
    ranked = wrong.sort_values(
        "rate_mean", ascending=False, kind="stable", key=lambda rate: rate.round(RATE_DIGITS)
    ).head(top)
    ranked = ranked.reset_index(drop=True)
    ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    return ranked[PAIR_COLUMNS]


def pair_samples(probs, labels, true: int, predicted: int) -> pd.DataFrame:
    """The images of class `true` that at least one seed predicts as `predicted`: position
    (in the test images given), seeds_wrong (how many seeds predict `predicted`), seeds, and
    over all seeds the mean and sample std of the probability of `predicted` and the mean
    probability of the true class. Hardest first: most seeds wrong, then the highest mean
    wrong-class probability, then test order."""
    probs, labels = check_probs(probs, labels)
    guesses = probs.argmax(axis=2)  # (S, N)
    seeds, images = np.meshgrid(np.arange(len(probs)), np.arange(len(labels)), indexing="ij")
    answers = pd.DataFrame({
        "position": images.ravel(), "seed": seeds.ravel(),
        "wrong": (guesses == predicted).ravel(),
        "prob_wrong": probs[:, :, predicted].ravel(), "prob_true": probs[:, :, true].ravel(),
    })  # fmt: skip
    answers = answers[labels[answers["position"]] == true]
    per_image = answers.groupby("position", sort=True).agg(
        seeds_wrong=("wrong", "sum"), seeds=("seed", "size"), mean_prob_wrong=("prob_wrong", "mean"),
        std_prob_wrong=("prob_wrong", "std"), mean_prob_true=("prob_true", "mean"),
    )  # fmt: skip
    per_image = per_image[per_image["seeds_wrong"] > 0].reset_index()
    return per_image.sort_values(
        ["seeds_wrong", "mean_prob_wrong", "position"], ascending=[False, False, True]
    ).reset_index(drop=True)


def hard_samples_over_seeds(
    probs, labels, indices, pairs: pd.DataFrame, classes: list[str]
) -> pd.DataFrame:
    """The hard samples of each pair (rows of top_pairs), in the pairs' order, each pair's
    images hardest first (pair_samples): group ('3-as-5', a gallery's name), rank within the
    group, index (the image's position in the whole test split), true and predicted (the
    pair's wrong class), their names, seeds_wrong of seeds, and the probabilities. Also
    `position`, the image's place among the test images given, to pick it out again."""
    indices = np.asarray(indices)
    frames = []
    for true, predicted in zip(pairs["true"], pairs["predicted"], strict=True):
        samples = pair_samples(probs, labels, int(true), int(predicted))
        samples.insert(0, "group", f"{true}-as-{predicted}")
        samples.insert(1, "rank", np.arange(1, len(samples) + 1))
        samples["index"] = indices[samples["position"].to_numpy()]
        samples["true"], samples["predicted"] = int(true), int(predicted)
        samples["true_class"], samples["predicted_class"] = classes[true], classes[predicted]
        frames.append(samples)
    if not frames:
        return pd.DataFrame(columns=[*HARD_COLUMNS, "position"])
    return pd.concat(frames, ignore_index=True)[[*HARD_COLUMNS, "position"]]
