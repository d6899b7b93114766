"""The noise models, the sampler and the validation of user matrices (no training here)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from lenetcli.errors import LenetError
from lenetcli.science.noise import (
    achieved_noise_rate,
    noisy_confusion,
    pair_transition,
    parse_pairs,
    read_transition_csv,
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


def one_line_error(call) -> str:
    with pytest.raises(LenetError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


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


def test_a_pandas_file_with_its_index_column_is_read(tmp_path):
    matrix = symmetric_transition(K, 0.3)
    pd.DataFrame(matrix).to_csv(tmp_path / "T.csv")  # index=True, as pandas does by default
    np.testing.assert_allclose(read_transition_csv(tmp_path / "T.csv", K), matrix)


def test_a_file_separated_by_semicolons_is_named_so(tmp_path):
    path = tmp_path / "T.csv"
    path.write_text("\n".join(";".join(str(v) for v in row) for row in np.eye(K)) + "\n")
    message = one_line_error(lambda: read_transition_csv(path, K))
    assert "separates its values by semicolons; save it with commas" in message


def test_a_spreadsheet_with_decimal_commas_and_semicolons_is_named_so(tmp_path):
    path = tmp_path / "T.csv"
    rows = symmetric_transition(K, 0.2).round(4).tolist()
    path.write_text("\n".join(";".join(str(v).replace(".", ",") for v in r) for r in rows))
    message = one_line_error(lambda: read_transition_csv(path, K))
    assert "separates its values by semicolons; save it with commas" in message


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("80%", "row 0, column 0 is '80%', not a number; write probabilities such as 0.8, not"),
        ("0.8x", "row 0, column 0 is '0.8x', not a number; every entry must be a probability"),
    ],
)
def test_a_bad_first_row_of_a_bare_matrix_is_reported_where_it_stands(tmp_path, first, expected):
    rows = pair_transition(K, 0.2).tolist()
    if first.endswith("%"):
        rows[0] = [f"{100 * v:g}%" for v in rows[0]]
    rows[0][0] = first
    path = tmp_path / "T.csv"
    write_rows(path, rows)
    assert expected in one_line_error(lambda: read_transition_csv(path, K))


def test_a_row_summing_to_1_within_the_tolerance_as_typed_is_accepted():
    matrix = np.eye(K)
    matrix[0] = [0.333] + [0.074] * 9  # 0.999 as typed, 0.99899999... in binary
    used = validate_transition(matrix, K)
    np.testing.assert_allclose(used[0].sum(), 1.0)


def write_rows(path, rows) -> None:
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")


def test_read_transition_csv_reads_with_or_without_a_header(tmp_path):
    matrix = pair_transition(K, 0.25)
    plain, headed = tmp_path / "plain.csv", tmp_path / "headed.csv"
    write_rows(plain, matrix.tolist())
    write_rows(headed, [list(range(K)), *matrix.tolist()])
    headed.write_text(headed.read_text().replace("0,1,2", "a,b,c", 1))
    np.testing.assert_allclose(read_transition_csv(plain, K), matrix)
    np.testing.assert_allclose(read_transition_csv(headed, K), matrix)
    numbered = tmp_path / "numbered.csv"  # as pandas writes a bare matrix
    write_rows(numbered, [list(range(K)), *matrix.tolist()])
    np.testing.assert_allclose(read_transition_csv(numbered, K), matrix)


def test_read_transition_csv_reports_file_row_and_column(tmp_path):
    path = tmp_path / "T.csv"
    rows = np.eye(3).tolist()
    rows[1][2] = "x"
    write_rows(path, rows)
    message = one_line_error(lambda: read_transition_csv(path, 3))
    assert str(path) in message and "row 1, column 2 is 'x', not a number" in message
    write_rows(path, np.eye(3).tolist())
    assert "has 3 rows, expected 10" in one_line_error(lambda: read_transition_csv(path, K))
    missing = tmp_path / "missing.csv"
    assert "cannot read transition matrix" in one_line_error(
        lambda: read_transition_csv(missing, K)
    )


def test_a_file_laid_out_as_lenet_writes_it_with_a_row_or_column_too_few_says_so(tmp_path):
    # the header of the digits' files, true,0,1,...,9, was taken for a row of the matrix
    # whenever the file did not have exactly K + 1 rows ("row 0, column 0 is 'true'")
    matrix = pair_transition(K, 0.25).tolist()
    header = ["true", *range(K)]
    named = [[i, *row] for i, row in enumerate(matrix)]
    cases = {
        "has 9 rows, expected 10": [header, *named[:-1]],
        "has 11 rows, expected 10": [header, *named, named[0]],
        "row 0 has 9 columns, expected 10": [header[:-1], *[row[:-1] for row in named]],
    }
    path = tmp_path / "T.csv"
    write_rows(path, [header, *named])
    np.testing.assert_allclose(read_transition_csv(path, K, [str(i) for i in range(K)]), matrix)
    for expected, rows in cases.items():
        write_rows(path, rows)
        assert expected in one_line_error(lambda: read_transition_csv(path, K)), expected


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


# --------------------------------------------------------------------------- the files written


def test_noise_files_name_the_true_class_first_and_read_back(tmp_path):
    from lenetcli.commands.noise import matrix_frame
    from lenetcli.outputs.files import write_csv
    from lenetcli.science.data import FASHION_CLASSES

    classes = list(FASHION_CLASSES)
    matrix = pair_transition(K, 0.3)
    path = write_csv(tmp_path / "transition-pair-0.3.csv", matrix_frame(matrix, classes))
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["true", *classes]  # as confusion.csv
    assert list(frame["true"]) == classes
    np.testing.assert_allclose(read_transition_csv(path, K, classes), matrix)
    np.testing.assert_allclose(read_transition_csv(path, K), matrix)  # names not checked
    numbered = write_csv(tmp_path / "digits.csv", matrix_frame(matrix, [str(i) for i in range(K)]))
    np.testing.assert_allclose(read_transition_csv(numbered, K), matrix)


def test_a_noise_file_of_lenet_0_1_0_still_reads_back():
    from pathlib import Path

    old = Path(__file__).parent / "fixtures" / "v0" / "noise" / "transition-pair-0.4.csv"
    assert old.read_text().startswith("noisy_0,noisy_1,")
    np.testing.assert_allclose(read_transition_csv(old, K), pair_transition(K, 0.4))


def test_rows_named_out_of_class_order_are_refused(tmp_path):
    from lenetcli.commands.noise import matrix_frame
    from lenetcli.outputs.files import write_csv
    from lenetcli.science.data import CIFAR_CLASSES

    classes = list(CIFAR_CLASSES)
    frame = matrix_frame(pair_transition(K, 0.3), classes).iloc[[1, 0, *range(2, K)]]
    path = write_csv(tmp_path / "T.csv", frame)
    message = one_line_error(lambda: read_transition_csv(path, K, classes))
    assert message == (
        f"transition matrix {path} names row 0 'automobile', but row 0 is class 0 (airplane); "
        "keep the rows in class order"
    )


# --------------------------------------------------------------------------- hostile files


def test_a_file_far_longer_than_a_matrix_is_not_read_whole(tmp_path):
    import tracemalloc

    path = tmp_path / "T.csv"
    write_rows(path, np.eye(K).tolist())
    with open(path, "r+b") as f:
        f.truncate(64 * 2**20)  # 64 MiB, sparse: NUL bytes after the matrix
    tracemalloc.start()
    try:
        message = one_line_error(lambda: read_transition_csv(path, K))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message.startswith(f"transition matrix {path} is longer than a 10 x 10 matrix can be")
    assert peak < 2**20


def test_dev_zero_as_transition_matrix_ends_in_one_line_with_little_memory():
    """/dev/zero never ends: read unbounded, it would fill the memory. The child process may
    use 512 MiB beyond what it holds after its imports, and must finish within a minute."""
    import subprocess
    import sys

    code = """if True:
        import resource
        from lenetcli.errors import LenetError
        from lenetcli.science.noise import read_transition_csv
        with open("/proc/self/statm") as f:
            held = int(f.read().split()[0]) * resource.getpagesize()
        _, most = resource.getrlimit(resource.RLIMIT_AS)
        limit = held + 512 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit if most < 0 else min(limit, most), most))
        try:
            read_transition_csv("/dev/zero", 10)
        except LenetError as exc:
            print(exc)
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == (
        "transition matrix /dev/zero is longer than a 10 x 10 matrix can be (over 94 KB); "
        "check the --transition path"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"1,0\x00,0\n", "is not a text file (it holds NUL bytes); check the --transition"),
        (b"1,0,0\n0,1," + b"x" * 1000 + b"\n0,0,1\n", "row 1, column 2 is 'xxxxxxxxx"),
        (b'"1,0,0\n0,1,0\n0,0,1\n', "is not a CSV file (unexpected end of data)"),
        (b"\xff\xfe1,0,0\n", "is not UTF-8 text (byte 1 is not); save it as CSV UTF-8"),
        (b"\x00\xb0", "is not UTF-8 text (byte 2 is not)"),  # NUL bytes, but not UTF-8 first
    ],
)
def test_a_file_that_is_not_csv_text_is_one_line(tmp_path, content, expected):
    path = tmp_path / "T.csv"
    path.write_bytes(content)
    message = one_line_error(lambda: read_transition_csv(path, 3))
    assert expected in message and len(message) < len(str(path)) + 200
