"""The noise models, the sampler and the validation of matrices (no training here); the
--pairs text too (commands/noise.py), which the models take."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import one_line_error

from lenetcli.commands.noise import parse_pairs
from lenetcli.errors import LenetError
from lenetcli.science.noise import (
    achieved_noise_rate,
    noise_settings,
    noisy_confusion,
    pair_transition,
    sample_noisy_labels,
    symmetric_transition,
    validate_transition,
)

K = 10
N = 60_000
RATES = [0.0, 0.2, 0.4, 0.6, 0.8]


@pytest.fixture(scope="module")
def labels() -> torch.Tensor:
    """60,000 synthetic labels, as many as MNIST's training set, unevenly spread over classes."""
    rng = np.random.default_rng(1234)
    return torch.from_numpy(
        rng.choice(K, size=N, p=np.linspace(1, 2, K) / np.linspace(1, 2, K).sum())
    )


def standard_error(rate: float, n: int) -> float:
    return math.sqrt(rate * (1 - rate) / n)


def expected_noise_rate(transition: np.ndarray, labels) -> float:
    """The fraction of these labels a draw from transition is expected to change."""
    true = torch.as_tensor(labels).long().cpu().numpy()
    return float(np.mean(1.0 - np.diag(transition)[true]))


def per_class_noise_rates(true, noisy, k: int) -> np.ndarray:
    """For each true class, the fraction of its labels that were changed (nan if absent)."""
    true = torch.as_tensor(true).cpu().numpy()
    noisy = torch.as_tensor(noisy).cpu().numpy()
    counts = np.bincount(true, minlength=k)
    flipped = np.bincount(true[true != noisy], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, flipped / counts, np.nan)


# --------------------------------------------------------------------------- matrices


@pytest.mark.parametrize("rate", RATES)
def test_symmetric_transition_keeps_1_minus_rate_and_spreads_the_rest(rate):
    matrix = symmetric_transition(K, rate)
    assert matrix.shape == (K, K)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.diag(matrix), 1 - rate)
    off_diagonal = matrix[~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(off_diagonal, rate / (K - 1))


@pytest.mark.parametrize("rate", RATES)
def test_pair_transition_flips_only_i_to_i_plus_1(rate):
    matrix = pair_transition(K, rate)
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.diag(matrix), 1 - rate)
    for i in range(K):
        for j in range(K):
            if j == (i + 1) % K:
                assert matrix[i, j] == pytest.approx(rate)
            elif j != i:
                assert matrix[i, j] == 0.0


def test_pair_transition_follows_given_pairs_and_leaves_other_classes_clean():
    matrix = pair_transition(K, 0.3, parse_pairs("0:5, 3:2"))
    assert matrix[0, 5] == pytest.approx(0.3) and matrix[0, 0] == pytest.approx(0.7)
    assert matrix[3, 2] == pytest.approx(0.3) and matrix[3, 3] == pytest.approx(0.7)
    untouched = [i for i in range(K) if i not in (0, 3)]
    np.testing.assert_array_equal(matrix[untouched], np.eye(K)[untouched])


def test_parse_pairs_reads_true_to_noisy():
    assert parse_pairs("0:1,1:2,9:0") == {0: 1, 1: 2, 9: 0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0-1", "not of the form TRUE:NOISY"),
        ("0:1,", "has an empty item"),
        ("a:1", "not of the form TRUE:NOISY"),
        ("0:1,0:2", "maps class 0 twice"),
    ],
)
def test_parse_pairs_rejects_bad_text(text, message):
    with pytest.raises(LenetError, match=message):
        parse_pairs(text)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [({0: 10}, "names class 10"), ({4: 4}, "maps a class to itself")],
)
def test_pair_transition_rejects_bad_pairs(pairs, message):
    with pytest.raises(LenetError, match=message):
        pair_transition(K, 0.2, pairs)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 20, float("nan")])
def test_rates_outside_0_to_1_are_refused(rate):
    with pytest.raises(LenetError, match=r"out of range; choose a value in \[0, 1\)"):
        symmetric_transition(K, rate)


# --------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("kind", ["symmetric", "pair"])
@pytest.mark.parametrize("rate", RATES)
def test_achieved_rate_is_within_3_standard_errors(labels, kind, rate):
    matrix = symmetric_transition(K, rate) if kind == "symmetric" else pair_transition(K, rate)
    noisy = sample_noisy_labels(labels, matrix, noise_seed=0)
    achieved = achieved_noise_rate(labels, noisy)
    if rate == 0:
        assert achieved == 0.0
        assert torch.equal(noisy, labels)
    else:
        assert abs(achieved - rate) < 3 * standard_error(rate, N)
    assert expected_noise_rate(matrix, labels) == pytest.approx(rate)


@pytest.mark.parametrize("kind", ["symmetric", "pair"])
def test_every_class_is_flipped_at_the_rate_and_to_the_right_classes(labels, kind):
    rate = 0.4
    matrix = symmetric_transition(K, rate) if kind == "symmetric" else pair_transition(K, rate)
    noisy = sample_noisy_labels(labels, matrix, noise_seed=3)
    counts = np.bincount(labels.numpy(), minlength=K)
    # 4 standard errors: ten classes are checked at once, so 3 would fail too often by chance.
    per_class = per_class_noise_rates(labels, noisy, K)
    for c in range(K):
        assert abs(per_class[c] - rate) < 4 * standard_error(rate, counts[c])
    confusion = noisy_confusion(labels, noisy, K)
    np.testing.assert_allclose(confusion.sum(axis=1), 1.0)
    np.testing.assert_allclose(confusion, matrix, atol=0.025)
    if kind == "pair":
        allowed = (np.eye(K) + np.roll(np.eye(K), 1, axis=1)).astype(bool)
        assert (confusion[~allowed] == 0).all()


def test_a_hybrid_matrix_is_sampled_as_given(labels):
    matrix = np.eye(K)
    matrix[2] = 0.0
    matrix[2, [2, 7, 5]] = [0.5, 0.3, 0.2]  # 2 -> 7 or 5
    matrix[6, 6], matrix[6, 0] = 0.6, 0.4  # 6 -> 0
    noisy = sample_noisy_labels(labels, validate_transition(matrix, K), noise_seed=0)
    np.testing.assert_allclose(noisy_confusion(labels, noisy, K), matrix, atol=0.025)


def test_the_same_noise_seed_gives_the_same_labels_whatever_the_model_seed(labels):
    matrix = symmetric_transition(K, 0.4)
    torch.manual_seed(1)
    np.random.seed(1)
    first = sample_noisy_labels(labels, matrix, noise_seed=7)
    torch.manual_seed(2)
    np.random.seed(2)
    torch.rand(100)  # the model side of a run draws from torch's global generator
    second = sample_noisy_labels(labels, matrix, noise_seed=7)
    assert torch.equal(first, second)
    other = sample_noisy_labels(labels, matrix, noise_seed=8)
    assert not torch.equal(first, other)


def test_draws_are_nested_across_rates(labels):
    """With one noise seed, the labels flipped at a low rate are flipped the same way at higher."""
    for make in (symmetric_transition, pair_transition):
        low = sample_noisy_labels(labels, make(K, 0.2), noise_seed=0)
        high = sample_noisy_labels(labels, make(K, 0.6), noise_seed=0)
        flipped_low = low != labels
        assert torch.equal(high[flipped_low], low[flipped_low])
        assert (high != labels).sum() > flipped_low.sum()


def test_sampling_does_not_modify_the_labels_given(labels):
    before = labels.clone()
    sample_noisy_labels(labels, symmetric_transition(K, 0.8), noise_seed=0)
    assert torch.equal(labels, before)


# --------------------------------------------------------------------------- validation


def test_validation_keeps_a_row_stochastic_matrix_as_it_is():
    matrix = symmetric_transition(K, 0.3)
    np.testing.assert_array_equal(validate_transition(matrix, K), matrix)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda m: m[:-1], "has 9 rows, expected 10"),
        (lambda m: [list(r) for r in m[:4]] + [list(m[4][:-1])] + [list(r) for r in m[5:]],
         "row 4 has 9 columns, expected 10"),
        (lambda m: m[:, :-1], "row 0 has 9 columns, expected 10"),
    ],
)  # fmt: skip
def test_validation_names_the_shape_problem(edit, expected):
    matrix = edit(symmetric_transition(K, 0.3))
    assert expected in one_line_error(lambda: validate_transition(matrix, K))


def test_validation_names_row_and_column_of_an_entry_out_of_range():
    matrix = np.eye(K)
    matrix[3, 3], matrix[3, 7] = 1.5, -0.5
    message = one_line_error(lambda: validate_transition(matrix, K))
    assert "row 3, column 3 is 1.5" in message and "[0, 1]" in message
    matrix[3, 3] = float("nan")
    assert "row 3, column 3 is nan" in one_line_error(lambda: validate_transition(matrix, K))


def test_validation_names_a_row_that_does_not_sum_to_1():
    matrix = np.eye(K)
    matrix[6, 6] = 0.9
    message = one_line_error(lambda: validate_transition(matrix, K))
    assert "row 6 (columns 0 to 9) sums to 0.9" in message and "within 0.001" in message


def test_a_matrix_typed_with_few_decimals_is_normalised():
    matrix = symmetric_transition(K, 0.3).round(4)  # rows sum to 0.9999 or 1.0001
    used = validate_transition(matrix, K)
    np.testing.assert_allclose(used.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(used, matrix, atol=5e-4)


def test_a_row_summing_to_1_within_the_tolerance_as_typed_is_accepted():
    matrix = np.eye(K)
    matrix[0] = [0.333] + [0.074] * 9  # 0.999 as typed, 0.99899999... in binary
    used = validate_transition(matrix, K)
    np.testing.assert_allclose(used[0].sum(), 1.0)


def test_noisy_confusion_is_row_normalised(labels):
    noisy = sample_noisy_labels(labels, symmetric_transition(K, 0.2), noise_seed=0)
    confusion = noisy_confusion(labels, noisy, K)
    assert confusion.shape == (K, K)
    np.testing.assert_allclose(confusion.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(confusion), 1 - per_class_noise_rates(labels, noisy, K))


# --------------------------------------------------------------------------- the figure of the draws


def test_the_noisy_label_matrix_is_drawn_like_a_confusion_matrix(tmp_path, monkeypatch):
    from lenetcli.commands import noise as noise_study
    from lenetcli.science.data import load_dataset
    from lenetcli.science.noise import NoiseSetting

    figures = []
    monkeypatch.setattr(noise_study, "save_figure", lambda figure, path: figures.append(figure))
    data = load_dataset("digits")
    true = data.train.labels
    noise = NoiseSetting("pair", 0.2, pair_transition(K, 0.2))
    noisy = torch.stack([sample_noisy_labels(true, noise.transition, seed) for seed in (0, 1)])
    noise_study.write_noise_files(tmp_path, noise, true, noisy, data)
    (ax, colorbar) = figures[0].axes
    assert "2 draws of 1,437 labels" in ax.get_title()
    assert colorbar.get_ylabel() == "share of the true class"
    assert any(t.get_text().startswith("0.") for t in ax.texts)  # 0.80, not .80


def test_a_setting_s_name_gives_its_rate_as_written_so_no_two_rates_share_one():
    names = [s.label for s in noise_settings(10, ["symmetric", "pair"], [0.0, 0.2, 0.1000001])]
    assert names == [
        "none-0", "symmetric-0.2", "symmetric-0.1000001", "pair-0.2", "pair-0.1000001",
    ]  # fmt: skip
