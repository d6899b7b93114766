import math

from lenetcli.outputs.tables import describe_seeds, fmt, markdown_table, plain


def test_numbers_read_as_in_the_files_and_tables():
    assert fmt(98.9951) == "99.00" and fmt(float("nan")) == "–" and fmt(None) == "–"
    assert fmt(0.12345, digits=3) == "0.123"
    # a setting's value as runs.csv writes it, whatever its type
    assert [plain(0.0), plain(0.2), plain(1e-5), plain(32), plain("adam")] == [
        "0", "0.2", "1e-05", "32", "adam",
    ]  # fmt: skip
    assert plain(math.pi) == "3.141592654"


def test_markdown_table_aligns_text_left_numbers_right_and_escapes_bars():
    text = markdown_table(["Setting", "Kind", "Mean"], [["a|b", "x", "1.00"]], left=2)
    assert text.splitlines() == [
        "| Setting | Kind | Mean |",
        "| --- | --- | --: |",
        "| a\\|b | x | 1.00 |",
    ]


def test_seeds_are_named_once_each_and_as_a_range_only_when_consecutive():
    assert describe_seeds([47, 47]) == "seed 47"  # one seed of two settings, in one group
    assert describe_seeds([42, 43, 44, 42, 43, 44]) == "seeds 42-44"
    assert describe_seeds([44, 42]) == "seeds 42, 44"


def test_an_image_count_reads_as_the_console_writes_it():
    import numpy as np

    from lenetcli.outputs.tables import count

    assert [count(10_000), count(np.int64(60_000)), count(360)] == ["10,000", "60,000", "360"]
    assert [count(None), count(True), count("?")] == ["None", "True", "?"]  # not counts
