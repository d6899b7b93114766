"""lenetcli/options.py: every option declared once, and the commands built from the declarations."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lenetcli import cli, config
from lenetcli.cli import app
from lenetcli.config import RunOptions, TrainConfig
from lenetcli.errors import LenetError
from lenetcli.options import RUNNING, TRAINING, Option, declared, one_of, out_option

runner = CliRunner()
CHOICES = {
    "dataset": config.DATASET_NAMES,
    "optimizer": config.OPTIMIZERS,
    "loss": config.LOSSES,
    "activation": config.ACTIVATIONS,
    "pool": config.POOLS,
    "lr_schedule": config.LR_SCHEDULES,
}


def help_of(command: str) -> str:
    """A command's --help as one line of words: rich wraps the help column anywhere."""
    text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
    return " ".join(text.replace("│", " ").split())


def parameters(function) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(function).parameters)


# --------------------------------------------------------------------------- the declarations


def test_every_train_config_field_is_declared_with_its_default():
    assert sorted(TRAINING) == sorted(TrainConfig.field_names())
    defaults = TrainConfig()
    for name, option in TRAINING.items():
        assert option.default == getattr(defaults, name), name
        assert option.kind is type(option.default) or option.default is None, name


def test_the_run_options_are_declared_with_the_defaults_of_run_options():
    defaults = RunOptions()
    assert RUNNING["device"].default == defaults.device
    for flag, field in [("no_download", "download"), ("no_graph", "graph")]:
        assert RUNNING[flag].default is (not getattr(defaults, field))
    for name in ("data_dir", "group_size", "mirror"):
        assert RUNNING[name].default is getattr(defaults, name) is None
    assert RUNNING["quiet"].names == ("--quiet", "-q") and RUNNING["json_output"].flag == "--json"


@pytest.mark.parametrize("name", CHOICES)
def test_choices_and_their_help_come_from_config(name):
    option = TRAINING[name]
    assert option.choices == CHOICES[name]
    for choice in CHOICES[name]:
        assert choice in option.help


def test_one_of_joins_choices_with_their_notes():
    assert one_of(("max", "avg")) == "max or avg"
    assert one_of(("a", "b", "c"), {"c": "the third"}) == "a, b or c (the third)"
    assert one_of(("only",)) == "only"


def test_a_new_choice_in_config_shows_in_the_help_texts():
    # what --loss bce needs: a loss added to config.LOSSES is offered and explained everywhere
    code = (
        "import lenetcli.config as c; c.LOSSES = (*c.LOSSES, 'bce'); "
        "from lenetcli.options import TRAINING as T; loss = T['loss']; "
        "print(loss.choices[-1], 'or bce;' in loss.help, 'bce' in loss.list_help())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["bce", "True", "True"], done.stderr


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("lr", "5e-3", 0.005),
        ("epochs", "7", 7),
        ("train_subset", "all", None),
        ("test_subset", "ALL", None),
        ("train_subset", "500", 500),
        ("loss", "mse", "mse"),
    ],
)
def test_a_value_parses_to_its_type(name, text, value):
    assert TRAINING[name].parse(text, "--x") == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("lr", "abc", "--lr: 'abc' is not a number"),
        ("lr", "inf", "--lr: 'inf' is not a finite number"),
        ("batch_size", "1.5", "--batch-size: '1.5' is not a whole number"),
        ("epochs", "all", "--epochs: 'all' is not a whole number$"),
        ("train_subset", "half", "--train-subset: 'half' is not a whole number or all"),
    ],
)
def test_a_bad_value_names_where_it_came_from(name, text, message):
    with pytest.raises(LenetError, match="^" + message):
        TRAINING[name].parse(text, TRAINING[name].flag)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [("lr", 1, 1.0), ("epochs", 3, 3), ("test_subset", "all", None), ("pool", "avg", "avg")],
)
def test_a_file_value_of_the_right_type_is_kept(name, value, expected):
    checked = TRAINING[name].checked(value, "here")
    assert checked == expected and type(checked) is type(expected)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("epochs", True, "here must be a whole number, got True"),
        ("train_subset", 1.5, 'here must be a whole number or "all", got 1.5'),
        ("lr", "0.1", "here must be a number, got '0.1'"),
        ("lr", float("nan"), "here must be a finite number, got nan"),
        ("loss", 3, "here must be a text value in quotes, got 3"),
    ],
)
def test_a_file_value_of_the_wrong_type_is_refused(name, value, message):
    with pytest.raises(LenetError, match="^" + message):
        TRAINING[name].checked(value, "here")


def test_the_list_form_gives_an_example_and_the_default():
    assert TRAINING["lr"].list_help() == (
        "Learning rate. A comma list sweeps several, e.g. 0.001,0.005. Default: 0.001."
    )
    assert "Default: all." in TRAINING["train_subset"].list_help()
    assert "One value, the same for every setting." in TRAINING["repeats"].list_help()
    for option in TRAINING.values():
        if not option.one_value:
            items = option.example.split(",")
            assert len(items) > 1, option.name  # an example of a list, not of one value
            assert [option.parse(item, option.flag) for item in items]  # and valid


def test_completion_offers_the_choices_after_a_comma_too():
    activation = TRAINING["activation"]
    assert activation.completions("t") == ["tanh"]
    assert activation.completions("relu,t") == ["relu,tanh"]
    offered = activation.completions("relu,")  # each value once: relu,relu is refused
    assert "relu,relu" not in offered and "relu,tanh" in offered
    assert activation.completions("") == list(config.ACTIVATIONS)
    assert TRAINING["lr"].completions("0.") == []


def test_out_names_each_command_default_folder():
    assert out_option("sweep").help == "Output folder. Default: runs/sweep-<time>."
    assert declared("out", "report").help.endswith("runs/report-<time>.")
    assert declared("lr", "train") is TRAINING["lr"]


# --------------------------------------------------------------------------- the commands


def test_the_training_commands_have_every_training_option():
    for command in (cli.train_command, cli.sweep_command, cli.noise_command):
        assert set(TrainConfig.field_names()) <= set(parameters(command)), command.__name__


@pytest.mark.parametrize("command", ["train", "noise", "confusion", "hardsamples"])
def test_help_shows_the_declared_help_texts(command):
    text = help_of(command)
    names = cli.MODEL_OPTIONS if command in ("confusion", "hardsamples") else TRAINING
    for name in names:
        option = declared(name, command)
        assert " ".join(option.help.split()) in text, name


def test_sweep_help_shows_the_list_form_of_every_training_option():
    text = help_of("sweep")
    for option in TRAINING.values():
        assert option.list_help() in text, option.name
    assert "--dry-run" in text and "--mirror URL" in text


def test_sweep_takes_text_and_train_takes_typed_values():
    sweep, train = parameters(cli.sweep_command), parameters(cli.train_command)
    assert sweep["lr"].default is None and train["lr"].default == TrainConfig().lr
    assert list(train)[: len(TRAINING)] == list(TRAINING)


def test_a_function_parameter_left_out_of_the_layout_is_a_programming_error():
    def command(extra: int = 1, **options):
        pass

    with pytest.raises(TypeError, match="extra"):
        cli.with_options("train", "lr")(command)


def test_no_help_text_is_written_twice_in_cli():
    tree = ast.parse(Path(cli.__file__).read_text())
    texts = [
        keyword.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "help" and isinstance(keyword.value, ast.Constant)
    ]
    assert len(texts) == len(set(texts)), sorted(t for t in texts if texts.count(t) > 1)
    declared_texts = {o.help for o in [*TRAINING.values(), *RUNNING.values()]}
    assert not declared_texts & set(texts)


def test_subset_options_parse_all_in_the_typed_form(tmp_path, monkeypatch):
    seen = {}

    def run_train(config, options, out, overwrite, print_json):
        seen.update(config=config, options=options, print_json=print_json)

    monkeypatch.setattr("lenetcli.commands.train.run_train", run_train)
    args = ["train", "--train-subset", "all", "--test-subset", "50", "--mirror", "http://x/"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert seen["config"].train_subset is None and seen["config"].test_subset == 50
    assert seen["options"].mirror == "http://x/" and seen["print_json"] is True


@pytest.mark.parametrize(
    "command", [["sweep", "--lr", "0.001,0.01"], ["noise", "--noise-rate", "0,0.2"]]
)
def test_dry_run_prints_the_plan_and_writes_nothing(command, tmp_path):
    out = tmp_path / "study"
    args = [*command, "--dataset", "digits", "--epochs", "1", "--dry-run", "--json", "--out"]
    result = runner.invoke(app, [*args, str(out)])
    assert result.exit_code == 0, result.output
    assert "job 1: digits" in result.stdout and "nothing was trained or written" in result.stdout
    assert "1 job(s), 2 run(s) to train" in result.stdout  # the two settings as one group
    assert "{" not in result.stdout  # no results to print
    apart = runner.invoke(app, [*args, str(out), "--group-by", "setting"])
    assert "job 2: digits" in apart.stdout and "2 job(s), 2 run(s) to train" in apart.stdout
    assert not out.exists()


def test_an_option_is_a_frozen_declaration():
    option = Option("x", int, "X.")
    assert option.flag == "--x" and not option.is_flag
    with pytest.raises(AttributeError):
        option.help = "changed"
