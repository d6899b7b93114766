"""The pure functions behind `lenet confusion` and `lenet hardsamples`, on known arrays."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from lenetcli.science import analysis

CLASSES = ["zero", "one", "two", "three"]

# A hand-made count matrix (rows true, columns predicted) with known ties:
#   (2,0) and (0,2) both 7, but 7 of 39 beats 7 of 60; (2,3) and (3,2) both 2, likewise.
COUNTS = np.array(
    [
        [50, 3, 7, 0],  # 60 images
        [1, 40, 0, 9],  # 50
        [7, 0, 30, 2],  # 39
        [0, 4, 2, 44],  # 50
    ]
)


def labels_and_predictions_from(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Any label/prediction lists with this count matrix."""
    pairs = [
        (i, j) for i in range(len(counts)) for j in range(len(counts)) for _ in range(counts[i, j])
    ]
    labels, predicted = np.array(pairs).T
    return labels, predicted


@pytest.fixture
def random_predictions():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 5, size=400)
    # Mostly right, sometimes wrong; class 5 is never a label and never predicted,
    # class 4 is a label but never predicted: the zero rows and columns must stay zero.
    predicted = np.where(rng.random(400) < 0.7, labels, rng.integers(0, 4, size=400))
    predicted = np.where(predicted == 4, 3, predicted)
    return labels, predicted, 6


@pytest.mark.parametrize("mode", analysis.NORMALIZE_MODES)
def test_confusion_equals_scikit_learn(random_predictions, mode):
    labels, predicted, k = random_predictions
    expected = confusion_matrix(
        labels, predicted, labels=np.arange(k), normalize=None if mode == "none" else mode
    )
    got = analysis.confusion(labels, predicted, k, mode)
    assert got.shape == (k, k)
    np.testing.assert_allclose(got, expected)


def test_normalized_rows_columns_and_total_sum_to_one(random_predictions):
    labels, predicted, k = random_predictions
    rows = analysis.confusion(labels, predicted, k, "true").sum(axis=1)
    cols = analysis.confusion(labels, predicted, k, "pred").sum(axis=0)
    # classes with images (0-4 as labels, 0-3 as predictions) sum to 1; empty ones stay 0
    np.testing.assert_allclose(rows, [1, 1, 1, 1, 1, 0])
    np.testing.assert_allclose(cols, [1, 1, 1, 1, 0, 0])
    assert analysis.confusion(labels, predicted, k, "all").sum() == pytest.approx(1.0)
    counts = analysis.confusion(labels, predicted, k, "none")
    assert counts.dtype.kind == "i" and counts.sum() == len(labels)


def test_confusion_frame_has_true_class_then_one_column_per_prediction():
    frame = analysis.confusion_frame(COUNTS, CLASSES)
    assert list(frame.columns) == ["true", *CLASSES]
    assert list(frame["true"]) == CLASSES
    np.testing.assert_array_equal(frame[CLASSES].to_numpy(), COUNTS)


def test_counts_rebuilt_from_labels():
    labels, predicted = labels_and_predictions_from(COUNTS)
    np.testing.assert_array_equal(analysis.confusion(labels, predicted, 4), COUNTS)
    assert analysis.accuracy(labels, predicted) == pytest.approx(100 * 164 / 199)


def test_ranked_pairs_on_a_hand_made_matrix():
    pairs = analysis.ranked_pairs(COUNTS, CLASSES)
    assert list(pairs.columns) == [
        "rank", "true", "predicted", "true_class", "predicted_class", "count", "rate",
    ]  # fmt: skip
    assert len(pairs) == 12  # every off-diagonal cell
    ranked = list(zip(pairs["true"], pairs["predicted"], strict=True))
    assert ranked == [
        (1, 3), (2, 0), (0, 2), (3, 1), (0, 1), (2, 3), (3, 2), (1, 0),
        (0, 3), (1, 2), (2, 1), (3, 0),
    ]  # fmt: skip
    assert list(pairs["rank"]) == list(range(1, 13))
    first = pairs.iloc[0]
    assert (first.true_class, first.predicted_class, first["count"]) == ("one", "three", 9)
    assert first.rate == pytest.approx(9 / 50)
    assert pairs.iloc[1].rate == pytest.approx(7 / 39)


def test_ranked_unordered_pairs_add_both_directions():
    pairs = analysis.ranked_unordered_pairs(COUNTS, CLASSES)
    assert list(pairs.columns) == [
        "rank", "class_a", "class_b", "class_a_name", "class_b_name", "count", "a_as_b",
        "b_as_a", "rate",
    ]  # fmt: skip
    assert len(pairs) == 6
    ranked = list(zip(pairs["class_a"], pairs["class_b"], pairs["count"], strict=True))
    # {2,3} and {0,1} tie at 4: 4 of 89 images beats 4 of 110
    assert ranked == [(0, 2, 14), (1, 3, 13), (2, 3, 4), (0, 1, 4), (0, 3, 0), (1, 2, 0)]
    top = pairs.iloc[0]
    assert (top.a_as_b, top.b_as_a) == (7, 7)
    assert top.rate == pytest.approx(14 / 99)


def test_top_confused_skips_pairs_never_confused():
    pairs = analysis.ranked_pairs(COUNTS, CLASSES)
    assert len(analysis.top_confused(pairs, 3)) == 3
    assert len(analysis.top_confused(pairs, 50)) == 8  # only 8 cells are non-zero
    perfect = analysis.ranked_pairs(np.diag([5, 5, 5, 5]), CLASSES)
    assert analysis.top_confused(perfect, 3).empty


def test_per_class_metrics_equal_scikit_learn(random_predictions):
    labels, predicted, k = random_predictions
    names = [f"c{i}" for i in range(k)]
    frame = analysis.per_class_metrics(labels, predicted, names)
    assert list(frame.columns) == ["class", "name", "precision", "recall", "f1", "support"]
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=np.arange(k), zero_division=0
    )
    np.testing.assert_allclose(frame["precision"], precision)
    np.testing.assert_allclose(frame["recall"], recall)
    np.testing.assert_allclose(frame["f1"], f1)
    np.testing.assert_array_equal(frame["support"], support)
    assert frame.loc[4, "precision"] == 0 and frame.loc[5, "support"] == 0


# --------------------------------------------------------------------------- hard samples

# Eight images of three classes; rows are probabilities, argmax is the prediction.
PROBS = np.array(
    [
        [0.70, 0.20, 0.10],  # 0: label 0, right (0.70)
        [0.10, 0.60, 0.30],  # 1: label 0, as 1 with 0.60
        [0.05, 0.90, 0.05],  # 2: label 0, as 1 with 0.90
        [0.45, 0.40, 0.15],  # 3: label 0, right but unsure (0.45)
        [0.20, 0.60, 0.20],  # 4: label 0, as 1 with 0.60 (ties with 1: test order)
        [0.10, 0.80, 0.10],  # 5: label 1, right
        [0.30, 0.20, 0.50],  # 6: label 1, as 2 with 0.50
        [0.05, 0.05, 0.90],  # 7: label 2, right
    ]
)
LABELS = np.array([0, 0, 0, 0, 0, 1, 1, 2])
INDICES = np.array([100, 101, 102, 103, 104, 105, 106, 107])  # original test indices
NAMES = ["a", "b", "c"]


def test_pair_positions_hardest_first_ties_in_test_order():
    np.testing.assert_array_equal(analysis.pair_positions(PROBS, LABELS, 0, 1), [2, 1, 4])
    np.testing.assert_array_equal(analysis.pair_positions(PROBS, LABELS, 1, 2), [6])
    assert len(analysis.pair_positions(PROBS, LABELS, 2, 0)) == 0


def test_least_confident_correct_and_most_confident_wrong():
    np.testing.assert_array_equal(analysis.least_confident_correct(PROBS, LABELS, 0), [3, 0])
    np.testing.assert_array_equal(analysis.most_confident_wrong(PROBS, LABELS, 0), [2, 1, 4])
    assert len(analysis.most_confident_wrong(PROBS, LABELS, 2)) == 0


def test_hard_sample_groups_follow_the_pairs_and_cap_each_group():
    pairs = pd.DataFrame({"true": [0, 1], "predicted": [1, 2]})
    groups = analysis.hard_sample_groups(PROBS, LABELS, pairs, NAMES, per_pair=2, per_class=False)
    assert [g.name for g in groups] == ["0-as-1", "1-as-2"]
    np.testing.assert_array_equal(groups[0].positions, [2, 1])
    assert groups[0].total == 3 and groups[0].title == "a classified as b"

    with_classes = analysis.hard_sample_groups(PROBS, LABELS, pairs, NAMES, 2, per_class=True)
    assert [g.name for g in with_classes[2:]] == [
        "class-0-correct", "class-0-wrong", "class-1-correct", "class-1-wrong",
        "class-2-correct", "class-2-wrong",
    ]  # fmt: skip
    assert with_classes[-1].total == 0


def test_hard_samples_frame_rows():
    group = analysis.SampleGroup("0-as-1", "a as b", np.array([2, 1]), 3, "hardest first")
    rows = analysis.hard_samples_frame([group], PROBS, LABELS, INDICES, NAMES)
    assert list(rows.columns) == analysis.HARD_SAMPLE_COLUMNS
    assert list(rows["index"]) == [102, 101]  # original indices, not positions
    assert list(rows["rank"]) == [1, 2]
    assert list(rows["true"]) == [0, 0] and list(rows["predicted"]) == [1, 1]
    assert list(rows["predicted_class"]) == ["b", "b"]
    np.testing.assert_allclose(rows["prob_predicted"], [0.90, 0.60])
    np.testing.assert_allclose(rows["prob_true"], [0.05, 0.10])
    np.testing.assert_allclose(rows["margin"], [0.05 - 0.90, 0.10 - 0.60])


def test_margin_is_positive_for_correct_images():
    group = analysis.SampleGroup("class-0-correct", "", np.array([3, 0]), 2, "")
    rows = analysis.sample_rows(group, PROBS, LABELS, INDICES, NAMES)
    np.testing.assert_allclose(rows["margin"], [0.45 - 0.40, 0.70 - 0.20])


def test_hard_samples_frame_without_images_keeps_its_columns():
    empty = analysis.SampleGroup("2-as-0", "", np.array([], dtype=int), 0, "")
    rows = analysis.hard_samples_frame([empty], PROBS, LABELS, INDICES, NAMES)
    assert rows.empty and list(rows.columns) == analysis.HARD_SAMPLE_COLUMNS
