"""Property-based tests: whatever a user types or a file holds, an option parser or a validator
either gives a valid value or raises one LenetError of one line, never another exception.

Hypothesis draws the inputs: random text, text made of the characters that matter (digits,
commas, colons, signs, 'e', 'inf', 'all'), and study files built from the keys and value types
a study file may hold. Each test keeps to a second or two (max_examples)."""

from __future__ import annotations

import math
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lenetcli import config
from lenetcli.commands.diagnostics import parse_datasets
from lenetcli.commands.noise import parse_noise_types, parse_pairs, parse_rates
from lenetcli.commands.sweep import FIELDS, file_plan, grid_plan, parse_lists
from lenetcli.commands.sweep import read_study_file as read_study
from lenetcli.config import (
    DATASET_NAMES,
    HYPERPARAMETERS,
    MAX_SEED,
    TrainConfig,
    check_seed_range,
    comma_items,
)
from lenetcli.errors import LenetError
from lenetcli.outputs.transition_file import read_transition_csv
from lenetcli.science.noise import NOISE_TYPES, check_pairs, validate_transition

K = 10
# Slow shared machines: no deadline per example; the files written per example are in tmp_path,
# which is the same folder for every example of one test (hence the health check).
QUICK = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def valid_or_one_line(call, *args):
    """call(*args), or None when it raised a LenetError of one non-empty line; any other
    exception propagates, and fails the test."""
    try:
        return call(*args)
    except LenetError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and "\r" not in message, repr(message)
        return None


# Text made of the characters an option's value is made of, and words that parse specially.
WORDS = ["all", "ALL", "inf", "-inf", "nan", "1e400", "0x10", "1_000", "mnist", "digits"]
OPTION_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=string.digits + ",.:-+e% ", max_size=30),
    st.lists(
        st.one_of(
            st.sampled_from(WORDS), st.integers(-(2**70), 2**70).map(str), st.floats().map(repr)
        ),
        max_size=6,
    ).map(",".join),
)


# --------------------------------------------------------------------------- option parsers


@QUICK
@given(text=OPTION_TEXT)
def test_comma_lists_are_stripped_items_or_one_line(text):
    items = valid_or_one_line(comma_items, "--lr", text)
    if items is not None:
        assert items and all(item and item == item.strip() for item in items)


@QUICK
@given(field=st.sampled_from(FIELDS), text=OPTION_TEXT)
@example(field="train_subset", text="all,300")
@example(field="lr", text="1e400")
@example(field="seed", text=str(2**40))
def test_sweep_lists_and_the_grid_they_make_are_valid_or_one_line(field, text):
    lists = valid_or_one_line(parse_lists, {field: text})
    if lists is None:
        return
    (values,) = lists.values()
    assert values and len(values) == len({repr(v) for v in values})  # each value once
    plan = grid_plan(lists)
    for each in plan.configs:
        valid_or_one_line(each.validate)  # a typed value out of range: one line too
    if field in ("train_subset", "test_subset"):
        assert all(v is None or isinstance(v, int) for v in values)  # 'all' is the whole split


@QUICK
@given(first=st.integers(-(2**80), 2**80), count=st.integers(1, 10**6))
@example(first=MAX_SEED, count=1)
@example(first=MAX_SEED, count=2)
def test_seed_ranges_lie_within_0_and_the_largest_seed_or_are_one_line(first, count):
    if valid_or_one_line(check_seed_range, "--seed", first, count) is None:
        return
    assert 0 <= first and first + count - 1 <= MAX_SEED


@QUICK
@given(seed=st.integers(-(2**40), 2**40), repeats=st.integers(-5, 2**34))
def test_seed_and_repeats_of_a_configuration_are_valid_or_one_line(seed, repeats):
    config = valid_or_one_line(TrainConfig(dataset="digits", seed=seed, repeats=repeats).validate)
    if config is not None:  # its seeds, seed to seed + repeats - 1 (config.seeds lists them)
        assert repeats >= 1 and seed >= 0 and seed + repeats - 1 <= MAX_SEED


@QUICK
@given(text=OPTION_TEXT)
@example(text="0,0.2,0.4")
@example(text="20")
@example(text="nan")
def test_noise_rates_are_increasing_fractions_or_one_line(text):
    rates = valid_or_one_line(parse_rates, text)
    if rates is not None:
        assert rates == sorted(set(rates)) and all(0 <= r < 1 for r in rates)


@QUICK
@given(text=OPTION_TEXT)
@example(text="symmetric,pair")
def test_noise_types_are_known_types_or_one_line(text):
    types = valid_or_one_line(parse_noise_types, text)
    if types is not None:
        assert set(types) <= set(NOISE_TYPES) and len(set(types)) == len(types)


@QUICK
@given(text=OPTION_TEXT)
@example(text="0:1,1:2")
@example(text="0:1,0:2")
@example(text="٣:1")  # an Arabic-Indic digit is a digit to str.isdigit
@example(text="²:1")  # and so is a superscript two, which int() refuses
def test_pairs_map_classes_to_other_classes_or_one_line(text):
    pairs = valid_or_one_line(parse_pairs, text)
    if pairs is None:
        return
    checked = valid_or_one_line(check_pairs, pairs, K)
    if checked is not None:
        assert all(0 <= a < K and 0 <= b < K and a != b for a, b in checked.items())


@QUICK
@given(text=OPTION_TEXT)
@example(text="mnist,digits")
def test_dataset_lists_name_known_datasets_once_or_one_line(text):
    names = valid_or_one_line(parse_datasets, text)
    if names is not None:
        assert set(names) <= set(DATASET_NAMES) and len(set(names)) == len(names)


# --------------------------------------------------------------------------- transition matrices

ENTRIES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 1 / 3, 0.9999, 1.0001]),
)


@st.composite
def matrices(draw):
    """Mostly K x K (some rows of a valid matrix, some random), sometimes of another shape."""
    rows = draw(st.integers(0, 12))
    width = st.integers(0, 12) if draw(st.booleans()) else st.just(K)
    matrix = []
    for _ in range(rows):
        if draw(st.booleans()):  # a valid row: a one somewhere, or a random distribution
            weights = draw(st.lists(st.floats(0, 1), min_size=K, max_size=K))
            total = sum(weights)
            matrix.append([w / total for w in weights] if total > 0 else list(np.eye(K)[0]))
        else:
            columns = draw(width)
            matrix.append(draw(st.lists(ENTRIES, min_size=columns, max_size=columns)))
    return matrix


@QUICK
@given(matrix=matrices())
def test_a_validated_matrix_is_row_stochastic_or_one_line(matrix):
    checked = valid_or_one_line(validate_transition, matrix, K)
    if checked is not None:
        assert checked.shape == (K, K) and np.isfinite(checked).all()
        assert (checked >= 0).all() and (checked <= 1 + 1e-12).all()
        np.testing.assert_allclose(checked.sum(axis=1), 1.0, rtol=0, atol=1e-9)


def csv_text(matrix, header: bool, separator: str) -> str:
    lines = [separator.join(f"noisy_{j}" for j in range(K))] if header else []
    lines += [separator.join(repr(v) for v in row) for row in matrix]
    return "\n".join(lines) + "\n"


@QUICK
@given(
    content=st.one_of(
        st.builds(csv_text, matrices(), st.booleans(), st.sampled_from([",", ",", ";", "\t"])),
        st.text(alphabet=string.digits + ",.;\n\r\t \"'e-", max_size=400),
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    )
)
def test_a_transition_file_reads_as_a_valid_matrix_or_one_line(tmp_path, content):
    path = tmp_path / "T.csv"
    path.write_bytes(content.encode("utf-8", "surrogatepass"))
    matrix = valid_or_one_line(read_transition_csv, path, K)
    if matrix is not None:
        assert matrix.shape == (K, K)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- study files


def toml_value(value) -> str:
    """value written as TOML: strings quoted (JSON's escapes are TOML's for these
    characters), floats as Python writes them (inf and nan too), lists and inline tables."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


SCALARS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    st.text(alphabet=string.ascii_letters + string.digits + "-_. /", max_size=12),
)
ANY_VALUE = st.one_of(SCALARS, st.lists(SCALARS, max_size=3), st.just({"x": 1}))
CHOICES = {  # the text fields and what they take
    "optimizer": config.OPTIMIZERS, "loss": config.LOSSES, "activation": config.ACTIVATIONS,
    "pool": config.POOLS, "lr_schedule": config.LR_SCHEDULES,
}  # fmt: skip
SMALL_INTS = st.one_of(st.integers(-2, 300), st.integers(-(2**64), 2**64))


@st.composite
def mostly(draw, fitting, other=ANY_VALUE):
    """fitting, but other one time in twelve: a study file of a few values then holds one
    wrong value about as often as none. (st.one_of would flatten other's branches, drawing
    each as often as fitting.)"""
    # sampled_from, not integers(0, 11): hypothesis draws the bounds of a range often
    return draw(other) if draw(st.sampled_from(range(12))) == 5 else draw(fitting)


def value_of(key: str):
    """Mostly a value of the kind the key takes (in range or not), sometimes any value."""
    default = getattr(TrainConfig(), key, None)
    if key in CHOICES:
        fitting = st.sampled_from(CHOICES[key])
    elif key.endswith("_subset"):
        fitting = st.one_of(st.just("all"), SMALL_INTS)
    elif isinstance(default, float):
        fitting = st.one_of(st.floats(-1, 2), st.floats(), st.integers(-1, 3))
    elif isinstance(default, int):
        fitting = SMALL_INTS
    else:  # name
        fitting = st.text(alphabet=string.ascii_letters + string.digits + "-_./ ", max_size=12)
    return mostly(fitting)


@st.composite
def tables(draw, keys: list[str]) -> dict:
    """A table of up to four of keys (and now and then a key no study file takes)."""
    names = draw(
        st.lists(mostly(st.sampled_from(keys), st.just("colour")), max_size=4, unique=True)
    )
    return {name: draw(value_of(name)) for name in names}


@st.composite
def study_texts(draw) -> str:
    lines = []
    if draw(st.booleans()):
        names = mostly(st.sampled_from(DATASET_NAMES), st.sampled_from(["MNIST", ""]))
        datasets = st.lists(names, min_size=1, max_size=3, unique=True)
        lines.append(f"datasets = {toml_value(draw(mostly(datasets)))}")
    for key in ("seed", "repeats"):
        if draw(st.booleans()):
            lines.append(f"{key} = {toml_value(draw(value_of(key)))}")
    if draw(st.booleans()):
        lines.append("[defaults]")
        lines += [f"{k} = {toml_value(v)}" for k, v in draw(tables(HYPERPARAMETERS)).items()]
    for table in draw(st.lists(tables(["name", *HYPERPARAMETERS]), min_size=1, max_size=4)):
        lines.append("[[settings]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def plan_of(path: Path):
    """What `lenet sweep --config path` plans (before any check of the study machinery)."""
    return file_plan(read_study(path), {})


@settings(QUICK, max_examples=300)
@given(text=st.one_of(study_texts(), st.text(max_size=200)))
@example(text="\ufeff[[settings]]\nlr = 0.1\n")
@example(text="[[settings]]\nname = 'a'\nseed = 1\n")
def test_a_study_file_plans_valid_settings_or_is_one_line(tmp_path, text):
    path = tmp_path / "study.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    plan = valid_or_one_line(plan_of, path)
    if plan is None:
        return
    assert plan.configs and len(plan.names) == len(set(plan.names)) == len(plan.configs)
    assert len(plan.datasets) == len(set(plan.datasets))
    for setting in plan.settings():
        assert setting.config.validate() is setting.config  # every value in range


@pytest.mark.parametrize("depth", [10, 400, 5000])
def test_nesting_at_any_depth_is_valid_or_one_line(tmp_path, depth):
    path = tmp_path / "study.toml"
    path.write_text(f"[[settings]]\nlr = {'[' * depth}0.1{']' * depth}\n", encoding="utf-8")
    assert valid_or_one_line(plan_of, path) is None


# --------------------------------------------------------------------------- what they found


def test_control_characters_in_what_an_error_quotes_are_shown_escaped():
    # a value typed over two lines ('0<Enter>0' inside quotes) quoted as it is spans two lines
    with pytest.raises(LenetError) as caught:
        parse_rates("0\n0")
    assert str(caught.value).startswith("--noise-rate '0\\n0' is not a number;")
    assert str(LenetError("a\tb\x00c\u2028d\ufeffe")) == "a\\tb\\x00c\\u2028d\\ufeffe"
    assert str(LenetError("été, 二, ✓")) == "été, 二, ✓"  # printable text stays as it is


def test_a_pair_of_digits_int_cannot_read_is_one_line():
    with pytest.raises(LenetError, match="--pairs item '²:1' is not of the form TRUE:NOISY"):
        parse_pairs("²:1")  # str.isdigit() says yes, int() raised ValueError
