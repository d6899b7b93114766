"""Confusion and hard samples over several seeds' models (lenetcli/science/seeds.py), on
hand-made probabilities whose answers are worked out in the comments."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import confusion_matrix

from lenetcli.science import seeds

CLASSES = ["a", "b", "c"]
LABELS = np.array([0, 0, 0, 1, 1, 2])
INDICES = np.array([10, 11, 12, 13, 14, 15])  # the images' places in the whole test split


def answer(predicted: int, p: float, k: int = 3) -> list[float]:
    """A probability row: p on the predicted class, the rest shared by the others."""
    row = [(1 - p) / (k - 1)] * k
    row[predicted] = p
    return row


# Three seeds' answers over the six images:
#   image 0 (a): seed 2 says b (p 0.6)
#   image 1 (a): every seed says b (p 0.9, 0.8, 0.7)
#   image 2 (a): seed 0 says b (p 0.95): as many seeds wrong as image 0, more confident
#   image 4 (b): seed 1 says a (p 0.5)
PROBS = np.array(
    [
        [answer(0, .9), answer(1, .9), answer(1, .95), answer(1, .9), answer(1, .9), answer(2, .9)],
        [answer(0, .9), answer(1, .8), answer(0, .9), answer(1, .9), answer(0, .5), answer(2, .9)],
        [answer(1, .6), answer(1, .7), answer(0, .9), answer(1, .9), answer(1, .9), answer(2, .9)],
    ]
)  # fmt: skip


@pytest.fixture
def cells():
    return seeds.confusion_over_seeds(PROBS, LABELS, CLASSES)


def cell(cells: pd.DataFrame, true: int, predicted: int) -> pd.Series:
    return cells[(cells["true"] == true) & (cells["predicted"] == predicted)].iloc[0]


def test_the_mean_matrix_is_the_mean_of_each_seeds_normalised_matrix(cells):
    expected = np.mean(
        [confusion_matrix(LABELS, p.argmax(1), labels=[0, 1, 2], normalize="true") for p in PROBS],
        axis=0,
    )
    np.testing.assert_allclose(seeds.cell_matrix(cells, "rate_mean", 3), expected)
    assert len(cells) == 9 and list(cells.columns) == seeds.CELL_COLUMNS


def test_a_cell_has_its_spread_over_the_seeds(cells):
    # a as b: seed 0 confuses 2 of the 3 a's (images 1, 2), seed 1 one, seed 2 two (0, 1)
    a_as_b = cell(cells, 0, 1)
    assert a_as_b["rate_mean"] == pytest.approx((2 / 3 + 1 / 3 + 2 / 3) / 3)
    assert a_as_b["rate_std"] == pytest.approx(np.std([2 / 3, 1 / 3, 2 / 3], ddof=1))
    assert (a_as_b["rate_min"], a_as_b["rate_max"]) == pytest.approx((1 / 3, 2 / 3))
    assert a_as_b["count_mean"] == pytest.approx(5 / 3)
    assert (a_as_b["seeds"], a_as_b["seeds_confused"]) == (3, 3)
    b_as_a = cell(cells, 1, 0)  # only seed 1, one of the two b's
    assert b_as_a["rate_mean"] == pytest.approx(0.5 / 3)
    assert b_as_a["seeds_confused"] == 1
    assert cell(cells, 2, 2)["rate_std"] == 0  # every seed right on c


def test_the_matrix_frame_has_lenet_confusions_layout(cells):
    frame = seeds.matrix_frame(cells, "rate_mean", CLASSES)
    assert list(frame.columns) == ["true", *CLASSES]
    assert list(frame["true"]) == CLASSES
    np.testing.assert_allclose(frame[CLASSES].sum(axis=1), 1.0)  # every row of a mean of rows


def test_top_pairs_rank_by_mean_rate_and_leave_out_pairs_no_seed_confused(cells):
    pairs = seeds.top_pairs(cells, top=3)
    # only two cells off the diagonal were ever confused: a as b (5/9), b as a (1/6)
    assert list(zip(pairs["true_class"], pairs["predicted_class"], strict=True)) == [
        ("a", "b"),
        ("b", "a"),
    ]
    assert list(pairs["rank"]) == [1, 2]
    assert list(seeds.top_pairs(cells, top=1)["true_class"]) == ["a"]


def test_equal_mean_rates_keep_the_cells_order():
    # one seed confuses one of the two a's as b and one of the two b's as a: both rate 1/2
    labels = np.array([0, 0, 1, 1])
    probs = np.array([[answer(1, 0.9), answer(0, 0.9), answer(0, 0.9), answer(1, 0.9)]])
    cells = seeds.confusion_over_seeds(probs, labels, CLASSES)
    pairs = seeds.top_pairs(cells)
    assert list(zip(pairs["true"], pairs["predicted"], strict=True)) == [(0, 1), (1, 0)]
    assert pairs["rate_std"].isna().all()  # one seed: no sample std


def test_rates_equal_but_for_float_rounding_keep_the_cells_order():
    # ten a's and ten b's; a as b: 6 and 7 of ten (mean 0.6499999999999999 in floats),
    # b as a: 3 and 10 of ten (mean 0.65)
    labels = np.array([0] * 10 + [1] * 10)
    probs = np.array(
        [
            [answer(1 if i < wrong_a else 0, 0.9) for i in range(10)]
            + [answer(0 if i < wrong_b else 1, 0.9) for i in range(10)]
            for wrong_a, wrong_b in ((6, 3), (7, 10))
        ]
    )
    cells = seeds.confusion_over_seeds(probs, labels, CLASSES)
    assert cell(cells, 0, 1)["rate_mean"] < cell(cells, 1, 0)["rate_mean"]  # by a rounding error
    pairs = seeds.top_pairs(cells)
    assert list(zip(pairs["true"], pairs["predicted"], strict=True)) == [(0, 1), (1, 0)]


def test_hard_samples_order_by_seeds_wrong_then_mean_wrong_probability(cells):
    pairs = seeds.top_pairs(cells)
    hard = seeds.hard_samples_over_seeds(PROBS, LABELS, INDICES, pairs, CLASSES)
    a_as_b = hard[hard["group"] == "0-as-1"]
    # image 1 (3 seeds wrong) first; then images 2 and 0, one seed each, image 2 with the
    # higher mean probability of b: (0.95 + 0.05 + 0.05) / 3 against (0.05 + 0.05 + 0.6) / 3
    assert list(a_as_b["index"]) == [11, 12, 10]
    assert list(a_as_b["seeds_wrong"]) == [3, 1, 1]
    assert list(a_as_b["rank"]) == [1, 2, 3]
    assert a_as_b["mean_prob_wrong"].tolist() == pytest.approx([0.8, 1.05 / 3, 0.7 / 3])
    assert a_as_b["mean_prob_true"].iloc[0] == pytest.approx((0.05 + 0.1 + 0.15) / 3)
    assert (a_as_b["seeds"] == 3).all()
    assert set(a_as_b["predicted_class"]) == {"b"} and set(a_as_b["true_class"]) == {"a"}
    b_as_a = hard[hard["group"] == "1-as-0"]
    assert list(b_as_a["index"]) == [14] and list(b_as_a["seeds_wrong"]) == [1]
    assert list(hard.columns) == [*seeds.HARD_COLUMNS, "position"]
    assert list(b_as_a["position"]) == [4]


def test_no_confused_pair_gives_no_hard_samples():
    probs = np.array([[answer(int(y), 0.9) for y in LABELS]] * 2)
    cells = seeds.confusion_over_seeds(probs, LABELS, CLASSES)
    pairs = seeds.top_pairs(cells)
    assert pairs.empty
    hard = seeds.hard_samples_over_seeds(probs, LABELS, INDICES, pairs, CLASSES)
    assert hard.empty and list(hard.columns) == [*seeds.HARD_COLUMNS, "position"]


def test_probabilities_that_do_not_fit_the_labels_are_a_programming_error():
    with pytest.raises(ValueError, match="probs must be"):
        seeds.confusion_over_seeds(PROBS[:, :4], LABELS, CLASSES)
