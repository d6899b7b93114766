"""lenet sweep's inputs: comma lists, grids, setting ids, TOML study files, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import one_line_error
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.commands.sweep import (
    file_plan,
    grid_plan,
    parse_list,
    parse_lists,
    read_study_file,
    setting_ids,
    sweep_plan,
)
from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "mnist-study.toml"


# --------------------------------------------------------------------------- comma lists


def test_parse_list_types_each_item():
    assert parse_list("lr", "0.001, 5e-3") == [0.001, 0.005]
    assert parse_list("batch_size", "32,8") == [32, 8]
    assert parse_list("dataset", "mnist,fashion-mnist") == ["mnist", "fashion-mnist"]
    assert parse_list("train_subset", "500") == [500]
    assert parse_list("train_subset", "500,all") == [500, None]  # all: the whole split
    assert parse_list("test_subset", "ALL") == [None]


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        ("lr", "0.1,,0.2", "--lr '0.1,,0.2' has an empty item"),
        ("lr", "0.1,", "--lr '0.1,' has an empty item"),
        ("lr", ",", "--lr ',' has an empty item"),
        ("lr", "abc", "--lr: 'abc' is not a number"),
        ("lr", "nan", "--lr: 'nan' is not a finite number"),
        ("batch_size", "32,1.5", "--batch-size: '1.5' is not a whole number"),
        ("epochs", "", "--epochs is empty"),
        ("lr", "0.1,0.1", "--lr '0.1,0.1' lists 0.1 twice"),
        ("train_subset", "500,al", "--train-subset: 'al' is not a whole number or all"),
        ("train_subset", "all,All", "--train-subset 'all,All' lists All twice"),
        ("epochs", "all", "--epochs: 'all' is not a whole number$"),
        ("repeats", "3,5", "--repeats '3,5' lists several values; every setting trains the same"),
    ],
)
def test_malformed_lists_name_option_and_value(field, text, expected):
    with pytest.raises(LenetError, match="^" + expected.replace("(", r"\(")):
        parse_list(field, text)


def test_parse_lists_keeps_only_given_options_in_field_order():
    lists = parse_lists({"batch_size": "32,8", "lr": "0.001", "epochs": None})
    assert list(lists) == ["lr", "batch_size"]


# --------------------------------------------------------------------------- grids and ids


def test_grid_is_the_cartesian_product_on_every_dataset():
    lists = parse_lists(
        {"dataset": "mnist,fashion-mnist", "lr": "0.001,0.005", "batch_size": "32,8",
         "epochs": "15", "repeats": "5"}
    )  # fmt: skip
    settings = grid_plan(lists).settings()
    assert len(settings) == 8
    assert [s.config.dataset for s in settings] == ["mnist"] * 4 + ["fashion-mnist"] * 4
    assert [s.name for s in settings[:4]] == [
        "lr0.001-bs32", "lr0.001-bs8", "lr0.005-bs32", "lr0.005-bs8",
    ]  # fmt: skip
    first = settings[0].config
    assert (first.lr, first.batch_size, first.epochs, first.repeats) == (0.001, 32, 15, 5)
    assert first.seeds == [42, 43, 44, 45, 46]
    assert settings[0].stem == "mnist-lr0.001-bs32"
    assert all(s.config.optimizer == TrainConfig().optimizer for s in settings)


def test_setting_ids_name_only_what_varies():
    configs = [
        TrainConfig(optimizer="sgd", pool="avg", weight_decay=0.0005),
        TrainConfig(optimizer="adam", pool="max", weight_decay=1e-05),
    ]
    assert setting_ids(configs) == ["sgd-wd0.0005-avgpool", "adam-wd1e-05-maxpool"]
    # Whole numbers without ".0"; other values exact, so that no two settings share an id
    configs = [TrainConfig(lr=lr, weight_decay=wd) for lr, wd in [(1000.0, 0.0), (0.1 + 0.2, 1.0)]]
    assert setting_ids(configs) == ["lr1000-wd0", "lr0.30000000000000004-wd1"]
    # Nothing varies: the id still says what ran.
    assert setting_ids([TrainConfig(lr=0.01, epochs=3)]) == ["lr0.01-bs32-ep3"]
    schedules = [TrainConfig(lr=0.01, lr_schedule=s) for s in ("constant", "cosine")]
    assert setting_ids(schedules) == ["constant", "cosine"]


def test_sweep_without_any_list_or_file_is_refused():
    with pytest.raises(LenetError, match="nothing to sweep"):
        sweep_plan({"lr": None}, None)


# --------------------------------------------------------------------------- study files


def test_example_study_file_holds_the_three_mnist_settings():
    settings = file_plan(read_study_file(EXAMPLE), {}).settings()
    described = [
        (s.name, s.config.dataset, s.config.lr, s.config.batch_size, s.config.epochs,
         s.config.repeats, s.config.seed)
        for s in settings
    ]  # fmt: skip
    assert described == [
        ("lr0.001-bs32-ep15", "mnist", 0.001, 32, 15, 5, 42),
        ("lr0.005-bs32-ep15", "mnist", 0.005, 32, 15, 5, 42),
        ("lr0.001-bs8-ep10", "mnist", 0.001, 8, 10, 5, 42),
    ]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_study_file_merges_defaults_settings_and_overrides(tmp_path):
    path = write(
        tmp_path,
        """
datasets = ["digits", "mnist"]
repeats = 3
seed = 7
[defaults]
epochs = 4
lr = 1          # an integer is a fine learning rate
[[settings]]
batch_size = 16
[[settings]]
batch_size = 64
epochs = 2
[[settings]]
name = "tanh"
activation = "tanh"
""",
    )
    plan = file_plan(read_study_file(path), {"train_subset": 300, "repeats": 2})
    settings = plan.settings()
    assert [s.name for s in settings[:3]] == ["bs16-ep4-relu", "bs64-ep2-relu", "tanh"]
    assert [s.config.dataset for s in settings] == ["digits"] * 3 + ["mnist"] * 3
    first = settings[0].config
    assert (first.lr, first.epochs, first.seed, first.repeats, first.train_subset) == (
        1.0, 4, 7, 2, 300,
    )  # fmt: skip
    assert isinstance(first.lr, float)


def test_an_override_that_makes_two_settings_alike_is_named_not_the_file(tmp_path):
    path = write(tmp_path, "[[settings]]\nlr = 0.001\n[[settings]]\nlr = 0.005\n")
    with pytest.raises(LenetError) as error:
        file_plan(read_study_file(path), {"lr": 0.01})
    assert str(error.value) == (
        f"config file {path}: [[settings]] #1 and #2 differ only in lr, which --lr sets for "
        "every setting, so they would train the same configuration; leave out --lr, or drop "
        "one of them from the file"
    )
    assert len(file_plan(read_study_file(path), {"epochs": 2}).configs) == 2  # others are fine


def test_a_study_file_compares_a_subset_with_the_whole_split(tmp_path):
    text = "[defaults]\ntrain_subset = 300\n[[settings]]\nname = 'small'\n"
    path = write(tmp_path, text + "[[settings]]\nname = 'full'\ntrain_subset = 'all'\n")
    settings = file_plan(read_study_file(path), {}).settings()
    assert [(s.name, s.config.train_subset) for s in settings] == [("small", 300), ("full", None)]
    grid = grid_plan(parse_lists({"dataset": "digits", "train_subset": "300,all"})).settings()
    assert [(s.name, s.config.train_subset) for s in grid] == [
        ("train300", 300),
        ("trainall", None),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("color = 1\n[[settings]]\nlr = 0.1", "unknown key 'color' at the top level"),
        (
            "val_split = 0.1\n[[settings]]\nlr = 0.1",
            "unknown key 'val_split' at the top level (val_split goes in [defaults] or in a",
        ),
        (
            "[defaults]\nlearning_rate = 0.1\n[[settings]]\nlr = 0.1",
            "unknown key 'learning_rate' in [defaults]",
        ),
        (
            "[[settings]]\nlr = 0.1\n[[settings]]\nbatchsize = 8",
            "unknown key 'batchsize' in [[settings]] #2",
        ),
        (
            "[[settings]]\ndataset = 'mnist'",
            "unknown key 'dataset' in [[settings]] #1 (list datasets at the top",
        ),
        ("datasets = ['mnist']\n", "has no settings"),
        ("settings = []\n", "has no settings"),
        ("datasets = []\n[[settings]]\nlr = 0.1", "datasets must be a non-empty list"),
        ("[[settings]]\nlr = 'fast'", "lr in [[settings]] #1 must be a number, got 'fast'"),
        ("[[settings]]\nbatch_size = 8.5", "batch_size in [[settings]] #1 must be a whole number"),
        (
            "[[settings]]\ntrain_subset = 'half'",
            "train_subset in [[settings]] #1 must be a whole number or \"all\", got 'half'",
        ),
        ("repeats = true\n[[settings]]\nlr = 0.1", "repeats must be a whole number, got True"),
        (
            "[[settings]]\nname = 'a/b'\nlr = 0.1",
            "name in [[settings]] #1 'a/b' cannot be a file name",
        ),
        (  # a spreadsheet would read 1-2 as a date, 1e5 and 0012 as numbers
            "[[settings]]\nname = '1-2'\nlr = 0.1",
            "'1-2' cannot be a file name or a spreadsheet's text; use up to 100 letters, digits, "
            "'.', '_', '+' or '-', starting with a letter (e.g. 's1-2')",
        ),
        ("[[settings]]\nname = '1e5'\nlr = 0.1", "starting with a letter (e.g. 's1e5')"),
        (
            "[[settings]]\nname = 'Jan-2'\nlr = 0.1",
            "name in [[settings]] #1 'Jan-2' would read as a date in a spreadsheet; name it "
            "otherwise (e.g. 'Jan2')",
        ),
        *[  # pandas reads these as NaN, inf or a bool, so the setting would lose its name
            (
                f"[[settings]]\nname = '{word}'\nlr = 0.1",
                f"'{word}' would read as an empty value, a number or a truth value in pandas",
            )
            for word in ("NA", "null", "nan", "None", "TRUE", "false", "inf", "Infinity")
        ],
        (
            "[[settings]]\nname = 'x'\nlr = 0.1\n[[settings]]\nname = 'x'\nlr = 0.2",
            "two settings are named 'x'",
        ),
        *[
            (
                f"[[settings]]\nname = '{name}'\nlr = 0.1",
                f"'{name}' cannot be a file name on Windows",
            )
            for name in ("con", "NUL", "com1", "lpt9.x")
        ],
        (
            "[[settings]]\nlr = 0.1\n[[settings]]\nbatch_size = 8\n[[settings]]\nlr = 0.1",
            "[[settings]] #1 and #3 are the same configuration; make them differ or drop one",
        ),
        (
            "[[settings]]\nname = 'a'\nlr = 0.1\n[[settings]]\nname = 'b'\nlr = 0.1",
            "[[settings]] #1 and #2 are the same configuration",
        ),
        ("[[settings]\nlr = 0.1", "is not valid TOML"),
        ("[settings]\nlr = 0.1", "[settings] is one table; write [[settings]] (two brackets)"),
        (
            "datasets = ['MNIST']\n[[settings]]\nlr = 0.1",
            "unknown dataset 'MNIST'; did you mean 'mnist'?",
        ),
        (
            "[[settings]]\nname = 'slow'\nlr = -0.1",
            "setting 'slow': lr must be a positive finite number, got -0.1",
        ),
        (
            "[defaults]\nweight_decay = -1\n[[settings]]\nname = 'a'",
            "setting 'a': weight_decay must be a finite number, zero or positive",
        ),
        ("seed = -3\n[[settings]]\nname = 'a'", "setting 'a': seed must be a whole number from 0"),
    ],
)
def test_bad_study_files_name_the_file_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(LenetError) as caught:
        file_plan(read_study_file(path), {})
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_setting_names_that_differ_only_in_case_are_refused_before_anything_runs(tmp_path):
    path = write(
        tmp_path, "[[settings]]\nname = 'lr0.1'\nlr = 0.1\n[[settings]]\nname = 'LR0.1'\nlr = 0.2"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["sweep", "--config", str(path), "--dataset", "digits", "--out", str(out)]
    )
    assert result.exit_code == 2
    assert " ".join(result.output.split()) == (
        "Error: settings 'lr0.1' and 'LR0.1' on digits differ only in case: their files would "
        "be one on disks that ignore case (macOS, Windows); give each setting its own name"
    )
    assert not out.exists()


def test_a_subset_the_dataset_cannot_give_is_refused_naming_the_file_or_the_option(tmp_path):
    path = write(tmp_path, "datasets = ['digits']\n[[settings]]\nname = 'a'\ntest_subset = 5")
    message = one_line_error(lambda: file_plan(read_study_file(path), {}))
    assert message == (
        f"config file {path}, setting 'a': test_subset 5 is out of range for the test split of "
        "digits: the split has 360 samples and 10 classes; choose a size from 10 to 360"
    )
    message = one_line_error(lambda: file_plan(read_study_file(path), {"test_subset": 400}))
    assert message.startswith("--test-subset 400 is out of range for the test split of digits")
    out = tmp_path / "out"
    for args in (["--dry-run"], []):  # a grid too, before it writes anything
        result = CliRunner().invoke(
            app, ["sweep", "--dataset", "mnist", "--lr", "0.1,0.2", "--train-subset", "9",
                  "--out", str(out), *args],
        )  # fmt: skip
        assert result.exit_code == 2
        assert (
            "Error: --train-subset 9 is out of range for the train split of mnist" in result.output
        )
        assert not out.exists()


def test_a_bad_value_beside_a_study_file_is_the_command_lines(tmp_path):
    path = write(tmp_path, "[[settings]]\nname = 'a'\nlr = 0.1")
    with pytest.raises(LenetError) as caught:
        file_plan(read_study_file(path), {"epochs": 0})
    assert (
        str(caught.value) == "--epochs must be a positive whole number, got 0; e.g. 15, the default"
    )


def test_missing_study_file(tmp_path):
    with pytest.raises(LenetError, match="does not exist"):
        read_study_file(tmp_path / "nope.toml")


def test_lists_beside_a_study_file_are_refused():
    with pytest.raises(LenetError, match="--lr takes one value with --config"):
        sweep_plan({"lr": "0.1,0.2"}, EXAMPLE)


# --------------------------------------------------------------------------- the command


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--lr", "0.1,,0.2"], "--lr '0.1,,0.2' has an empty item"),
        (["--batch-size", "abc"], "--batch-size: 'abc' is not a whole number"),
        (["--lr", ""], "--lr is empty"),
        ([], "nothing to sweep"),
        (["--dataset", "mnist,imagenet", "--lr", "0.1"], "unknown dataset 'imagenet'"),
        (["--epochs", "2,0"], "--epochs must be a positive whole number, got 0"),
        (["--config", "missing.toml"], "config file missing.toml does not exist"),
        (["--config", "bad.toml"], "unknown key 'momentum' in [[settings]] #1"),
        (["--config", "bad.toml", "--resume"], "unknown key"),
        (["--lr", "0.1", "--resume"], "--resume needs --out"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.toml").write_text("[[settings]]\nmomentum = 0.9\n", encoding="utf-8")
    out = tmp_path / "out"
    extra = [] if "--resume" in args and "--config" not in args else ["--out", str(out)]
    result = CliRunner().invoke(app, ["sweep", *args, *extra, "--device", "cpu"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert expected in lines[0]
    assert not out.exists()
    assert not (tmp_path / "runs").exists()


def test_diverged_runs_are_warned_about(tmp_path):
    args = ["sweep", "--dataset", "digits", "--train-subset", "300", "--test-subset", "100",
            "--epochs", "1", "--optimizer", "sgd", "--lr", "0.01,1000", "--repeats", "2",
            "--out", str(tmp_path / "out")]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Warning: 2 run(s) of lr1000 (status diverged in runs.csv)" in result.stderr
    # the closing table counts them as summary.md does
    (row,) = [line for line in result.stdout.splitlines() if "lr1000" in line and "│" in line]
    assert "2 (2 diverged)" in row


# --------------------------------------------------------------------------- hostile study files


def sweep_refuses(tmp_path, path: Path, expected: str) -> None:
    """`lenet sweep --config path` ends in one Error line holding expected, writing nothing."""
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", "--config", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and expected in line
    assert not out.exists()


@pytest.mark.parametrize(
    "nested",
    ["x = " + "[" * 100_000 + "]" * 100_000, "x = " + "{a = " * 5000 + "1" + "}" * 5000],
    ids=["arrays", "inline-tables"],
)
def test_a_deeply_nested_study_file_is_one_line(tmp_path, nested):
    path = tmp_path / "deep.toml"
    path.write_text(nested + "\n[[settings]]\nlr = 0.1\n", encoding="utf-8")
    sweep_refuses(tmp_path, path, f"config file {path} nests arrays or tables hundreds of levels")


def test_a_study_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text("\ufeffdatasets = ['digits']\n[[settings]]\nlr = 0.1\n", encoding="utf-8")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # as Notepad saves UTF-8
    study = read_study_file(path)
    assert study.datasets == ["digits"] and study.settings == [{"lr": 0.1}]


def test_a_dataset_listed_twice_in_a_study_file_is_named_so(tmp_path):
    path = write(tmp_path, "datasets = ['digits', 'mnist', 'digits']\n[[settings]]\nlr = 0.1\n")
    with pytest.raises(LenetError) as caught:
        read_study_file(path)
    assert str(caught.value) == (
        f"config file {path}: datasets lists 'digits' twice; give each dataset once"
    )
    sweep_refuses(tmp_path, path, "datasets lists 'digits' twice")


def test_a_study_file_longer_than_any_study_is_not_read(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("[[settings]]\nlr = 0.1\n" + "# padding\n" * 200_000, encoding="utf-8")
    sweep_refuses(tmp_path, path, "is longer than a study file can be (over 1 MiB)")
    sweep_refuses(tmp_path, Path("/dev/zero"), "/dev/zero is longer than a study file can be")


def test_a_dry_run_checks_the_dataset_files_as_the_run_would(tmp_path):
    nowhere, args = tmp_path / "nodata", ["sweep", "--lr", "0.001,0.01", "--dry-run"]
    result = CliRunner().invoke(app, [*args, "--data-dir", str(nowhere), "--no-download"])
    assert result.exit_code == 2 and "MNIST files missing in" in result.output
    assert len(result.output.strip().splitlines()) == 1  # the error alone, before any plan
    result = CliRunner().invoke(app, [*args, "--data-dir", str(nowhere)])
    assert result.exit_code == 0, result.output
    assert f"Not in {nowhere} yet, downloaded first: MNIST" in " ".join(result.output.split())
    assert not nowhere.exists()  # nothing downloaded, nothing made
    result = CliRunner().invoke(app, [*args, "--dataset", "digits", "--data-dir", str(nowhere)])
    assert result.exit_code == 0 and "downloaded first" not in result.output  # scikit-learn's
    odd = tmp_path / "[/x]"  # no rich markup: the path is printed as it is
    result = CliRunner().invoke(app, [*args, "--data-dir", str(odd)])
    assert result.exit_code == 0 and f"Not in {odd} yet" in " ".join(result.output.split())
