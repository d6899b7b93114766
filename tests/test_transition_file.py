"""Reading a user's transition matrix from CSV (outputs/transition_file.py): the layouts that
read, the files lenet writes read back, and one-line errors for every other file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import one_line_error

from lenetcli.outputs.transition_file import read_transition_csv
from lenetcli.science.noise import pair_transition, symmetric_transition

K = 10


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
        from lenetcli.outputs.transition_file import read_transition_csv
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
