import math

from lenetcli.outputs.tables import (
    describe_seeds,
    fmt,
    markdown_table,
    mean_epoch,
    plain,
    shown,
    shown_difference,
)


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


def test_a_number_shows_alike_whichever_way_float_rounding_left_it():
    # 98.005 over two seeds, computed a hair below or above, and as summary.csv reads it back
    assert fmt(98.00499999999999) == fmt(98.00500000000001) == fmt(98.005)
    assert shown(98.87200000000001) == shown(98.87199999999999) == 98.87
    assert math.isnan(shown(None)) and math.isnan(shown(float("nan")))
    # a difference stated beside two means is theirs: 98.94 - 98.73, not 98.944 - 98.728
    assert shown_difference(98.944, 98.728) == 0.21 and fmt(98.944 - 98.728) == "0.22"
    assert shown_difference(99.156, 98.944) == 0.22  # not 0.21999999999999886
    assert fmt(-0.001) == fmt(0.001) == "0.00" and fmt(-0.006) == "-0.01"


def test_a_mean_epoch_has_a_decimal_only_where_it_is_not_whole():
    assert [mean_epoch(1.0), mean_epoch(3.4), mean_epoch(12.96), mean_epoch(3)] == [
        "1", "3.4", "13", "3",
    ]  # fmt: skip
