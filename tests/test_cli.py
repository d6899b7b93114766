import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from lenetcli import __version__, cli
from lenetcli.cli import app
from lenetcli.commands import train as runs
from lenetcli.outputs import files as outputs
from lenetcli.outputs.files import HOLDING
from lenetcli.science.engine import Reporter, resolve_device
from lenetcli.science.model import Architecture, LeNet5

runner = CliRunner()
QUICK = [
    "--dataset",
    "digits",
    "--epochs",
    "2",
    "--train-subset",
    "300",
    "--test-subset",
    "100",
    "--quiet",
]


def lenet(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_version_and_help():
    result = lenet("--version")
    assert result.exit_code == 0 and result.output.strip() == f"lenet {__version__}"
    help_text = lenet("--help").output
    assert "train" in help_text


@pytest.mark.parametrize(
    "command", ["train", "sweep", "noise", "confusion", "hardsamples", "report"]
)
def test_help_shows_flags_without_a_value(command):
    text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "80"}).output
    flags = [line for line in text.splitlines() if "--quiet" in line or "--overwrite" in line]
    assert len(flags) == 2 and "<bool>" not in text, flags
    assert "--no-overwrite" not in text and "--no-resume" not in text


def test_help_answers_without_loading_torch():
    # torch takes seconds to import; `lenet --help` should not wait for it
    code = "import sys, lenetcli.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_top_level_help_shows_flags_without_a_value():
    text = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).output
    assert "--help" in text and "--version" in text and "<bool>" not in text


def test_train_writes_every_output(tmp_path):
    out = tmp_path / "run"
    result = lenet("train", *QUICK, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "curves.png", "metrics.csv", "model.pt", "predictions.csv", "results.json",
    ]  # fmt: skip

    record = json.loads((out / "config.json").read_text())
    assert record["command"] == "train"
    assert record["options"]["epochs"] == 2 and record["options"]["dataset"] == "digits"
    assert record["environment"]["torch"] == torch.__version__
    assert record["environment"]["lenetcli"] == __version__
    assert record["environment"]["device"] == resolve_device().type  # cuda on a GPU machine
    assert record["data"]["train_size"] == 300 and record["data"]["test_size"] == 100

    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns) == [
        "seed", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds",
    ]  # fmt: skip
    assert metrics["epoch"].tolist() == [1, 2] and (metrics["seed"] == 42).all()
    assert metrics["test_acc"].between(0, 100).all()

    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns) == ["seed", "index", "label", "predicted", "confidence"]
    assert len(predictions) == 100
    accuracy = 100 * (predictions["label"] == predictions["predicted"]).mean()
    assert accuracy == pytest.approx(metrics["test_acc"].iloc[-1], abs=1e-3)

    checkpoint = torch.load(out / "model.pt", weights_only=True)
    model = LeNet5(Architecture(**checkpoint["architecture"]))
    model.load_state_dict(checkpoint["state_dict"])
    assert checkpoint["dataset"] == "digits" and checkpoint["seed"] == 42
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_validation_split_is_measured_shown_and_recorded(tmp_path):
    out = tmp_path / "run"
    result = lenet("train", *QUICK[:-1], "--val-split", "0.2", "--out", out)
    assert result.exit_code == 0, result.output
    assert "240 train / 60 validation / 100 test images" in result.output
    assert "val acc (%)" in result.output
    record = json.loads((out / "config.json").read_text())
    assert record["options"]["val_split"] == 0.2
    assert (record["data"]["train_size"], record["data"]["val_size"]) == (240, 60)
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns)[-2:] == ["val_loss", "val_acc"]
    assert metrics["val_acc"].between(0, 100).all() and len(metrics) == 2
    # the model trained on 240 images: --from reads that back from its checkpoint
    result = lenet("confusion", "--from", out, "--out", tmp_path / "conf", "-q")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "conf" / "config.json").read_text())
    assert (record["data"]["train_size"], record["data"]["val_size"]) == (240, 60)


def test_repeats_write_one_model_per_seed(tmp_path):
    out = tmp_path / "run"
    assert lenet("train", *QUICK, "--repeats", "2", "--seed", "5", "--out", out).exit_code == 0
    metrics = pd.read_csv(out / "metrics.csv")
    assert sorted(metrics["seed"].unique()) == [5, 6]
    assert sorted(p.name for p in (out / "models").iterdir()) == ["seed-5.pt", "seed-6.pt"]


def test_non_empty_output_is_refused_then_overwritten(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = lenet("train", *QUICK, "--out", out)
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    # --overwrite replaces an earlier run only, never a folder of the user's files
    result = lenet("train", *QUICK, "--out", out, "--overwrite")
    assert result.exit_code == 2 and "holds files no lenet command wrote" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    (out / "keep.txt").rename(tmp_path / "keep.txt")
    assert lenet("train", *QUICK, "--out", out).exit_code == 0
    (tmp_path / "keep.txt").rename(out / "keep.txt")  # a note beside an earlier run
    assert lenet("train", *QUICK, "--out", out, "--overwrite").exit_code == 0
    assert (out / "metrics.csv").is_file() and (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["train"], "train-digits-20261127-101500"),
        (["sweep", "--lr", "0.01"], "sweep-20261127-101500"),
        (["noise", "--noise-rate", "0.2"], "noise-digits-20261127-101500"),
        (["confusion"], "confusion-digits-20261127-101500"),
    ],
)
def test_a_default_folder_taken_in_the_same_second_gets_the_next_name(
    tmp_path, monkeypatch, args, name
):
    monkeypatch.setattr(outputs, "timestamp", lambda: "20261127-101500")
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = lenet(*args, *QUICK)
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [name, f"{name}-2"]
    assert (tmp_path / "runs" / f"{name}-2" / "config.json").is_file()


def test_overwrite_leaves_nothing_of_the_previous_run(tmp_path):
    out = tmp_path / "run"
    assert lenet("train", *QUICK, "--repeats", "3", "--out", out).exit_code == 0
    (out / "notes.txt").write_text("mine")
    assert lenet("train", *QUICK, "--out", out, "--overwrite").exit_code == 0
    # models/seed-43.pt and seed-44.pt would pass for this run's models
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "curves.png", "metrics.csv", "model.pt", "notes.txt", "predictions.csv",
        "results.json",
    ]  # fmt: skip


def test_a_folder_in_use_by_another_command_is_refused(tmp_path):
    out = tmp_path / "run"
    assert lenet("train", *QUICK, "--repeats", "2", "--out", out).exit_code == 0
    with outputs.folder_lock(out):  # as a second lenet process holds it while it writes
        result = lenet("train", *QUICK, "--out", out, "--overwrite")
    assert result.exit_code == 2 and "is in use by another lenet command" in result.stderr
    assert (out / "models" / "seed-43.pt").is_file()  # nothing removed
    assert lenet("train", *QUICK, "--out", out, "--overwrite").exit_code == 0  # released


def test_overwrite_never_removes_the_data_folder(tmp_path, monkeypatch):
    out = tmp_path / "run"
    assert lenet("train", *QUICK, "--out", out).exit_code == 0
    monkeypatch.setenv("LENET_DATA_DIR", str(out / "models"))  # the data, in a lenet folder
    result = lenet("train", *QUICK, "--out", out, "--overwrite")
    assert result.exit_code == 2 and "an input of this command" in result.stderr


def test_every_file_a_command_writes_is_one_overwrite_removes(tmp_path):
    """outputs.previous_output must find all a command writes, or --overwrite leaves it stale."""
    quick = QUICK[:-1]  # without --quiet, which CliRunner does not need
    folders = {
        "train": ["train", *quick, "--repeats", "2"],
        "sweep": ["sweep", *quick, "--lr", "0.001,0.01"],
        "noise": ["noise", *quick, "--noise-rate", "0,0.2"],
        "confusion": ["confusion", *quick],
        "hardsamples": ["hardsamples", "--from", tmp_path / "train", "--per-class"],
        "report": ["report", tmp_path / "train", tmp_path / "sweep", tmp_path / "noise"],
    }
    for command, args in folders.items():
        result = lenet(*args, "--out", tmp_path / command)
        assert result.exit_code == 0, result.output
        written = set((tmp_path / command).iterdir())
        assert set(outputs.previous_output(tmp_path / command, command)) == written, command


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "0"], "--lr must be a positive finite number"),
        (["--lr", "-1"], "--lr must be a positive finite number"),
        (["--lr", "inf"], "--lr must be a positive finite number, got inf"),
        (["--lr", "nan"], "--lr must be a positive finite number, got nan"),
        (["--weight-decay", "inf"], "--weight-decay must be a finite number"),
        (["--seed", "-1"], "--seed must be a whole number from 0 to 4294967295, got -1"),
        (["--seed", "4294967296"], "--seed must be a whole number from 0 to 4294967295"),
        (["--seed", "99999999999999999999"], "--seed must be a whole number from 0"),
        (["--seed", "4294967295", "--repeats", "2"], "(with 2 repeats, up to 4294967294)"),
        (["--batch-size", "0"], "--batch-size must be a positive"),
        (["--epochs", "0"], "--epochs must be a positive"),
        (["--dataset", "imagenet"], "unknown dataset 'imagenet'"),
        (["--activation", "gelu"], "unknown activation 'gelu'"),
        (["--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
        (["--loss", "hinge"], "unknown loss 'hinge'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (
            ["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "cuda:99"],
            "cuda",
        ),
        (["--train-subset", "99999"], "--train-subset 99999 is out of range"),
        (["--test-subset", "5000"], "--test-subset 5000 is out of range"),
        (["--val-split", "1"], "--val-split must be a fraction from 0"),
        (["--lr-schedule", "cosin"], "unknown lr_schedule 'cosin'; did you mean 'cosine'?"),
        (["--val-split", "0.0001"], "--val-split 0.0001 would hold out 0 of 1437"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, message):
    out = tmp_path / "run"
    result = lenet("train", "--dataset", "digits", "--epochs", "1", "--out", out, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


class CtrlCAfterEpoch(Reporter):
    def __init__(self, epoch):
        self.at = epoch

    def epoch(self, epoch, rows):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_the_finished_epochs_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "make_reporter", lambda *args: CtrlCAfterEpoch(2))
    out = tmp_path / "run"
    result = lenet("train", *QUICK, "--epochs", "4", "--repeats", "2", "--out", out)
    assert result.exit_code == 130
    assert result.stderr.startswith("interrupted after epoch 2 of 4:"), result.stderr
    assert "no model" in result.stderr and "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "curves.png", "metrics.csv"]
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics[["seed", "epoch"]].values.tolist() == [[42, 1], [42, 2], [43, 1], [43, 2]]
    record = json.loads((out / "config.json").read_text())
    assert record["interrupted"] == "after epoch 2 of 4"


def test_a_diverged_model_is_warned_about_even_when_quiet(tmp_path):
    result = lenet("train", *QUICK, "--epochs", "1", "--optimizer", "sgd", "--lr", "1000",
                   "--out", tmp_path / "run")  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.startswith("Warning: the model of seed 42 diverged")


def test_unwritable_output_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = lenet("train", *QUICK, "--out", blocker / "run")
    assert result.exit_code == 2
    assert f"cannot be created: {blocker} is a file; choose another --out" in result.stderr


def test_missing_data_without_download(tmp_path):
    result = lenet(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        tmp_path / "empty",
        "--no-download",
        "--out",
        tmp_path / "run",
    )
    assert result.exit_code == 2
    assert "MNIST files missing" in result.stderr and "train-images-idx3-ubyte" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--epochs", "abc"], "Error: Invalid value for '--epochs'"),
        (["train", "--bogus"], "Error: No such option: --bogus"),
        (["trian"], "Error: No such command 'trian'. Did you mean 'train'?; see 'lenet --help'"),
        (["report"], "Error: give the output folders to report on, or --study [FILE]"),
        (
            ["sweep", "--out", "x", "--lr"],
            "Error: Option '--lr' requires an argument; see 'lenet sweep --help'",
        ),
        (["--bogus"], "Error: No such option: --bogus; see 'lenet --help'"),
        (
            ["train", "--train-subset", "half"],
            "Error: Invalid value for '--train-subset': 'half' is not a whole number or all",
        ),
    ],
)
def test_what_the_parser_refuses_is_one_error_line_too(monkeypatch, capsys, args, message):
    monkeypatch.setattr(sys, "argv", ["lenet", *args])
    with pytest.raises(SystemExit) as end:
        cli.run()
    assert end.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err


def test_all_as_a_subset_size_is_the_whole_split(tmp_path):
    out = tmp_path / "run"
    result = lenet("train", "--dataset", "digits", "--epochs", "1", "--train-subset", "all",
                   "--test-subset", "100", "--out", out, "--quiet")  # fmt: skip
    assert result.exit_code == 0, result.output
    record = json.loads((out / "config.json").read_text())
    assert record["options"]["train_subset"] is None and record["data"]["train_size"] == 1437


def test_real_subprocess_prints_plain_lines(tmp_path):
    """As a user runs it: a separate process, output piped (not a terminal) gives plain lines."""
    out = tmp_path / "run"
    args = [sys.executable, "-m", "lenetcli", "train", *QUICK[:-1], "--out", str(out)]
    done = subprocess.run(
        args, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "seed 42 epoch 1/2:" in done.stdout and "seed 42 epoch 2/2:" in done.stdout
    assert "\x1b[" not in done.stdout  # no terminal control codes in a pipe
    assert (out / "metrics.csv").is_file()

    bad = subprocess.run(
        [*args[:-2], "--lr", "0", "--out", str(tmp_path / "bad")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        bad.returncode == 2
        and bad.stderr.strip()
        == "Error: --lr must be a positive finite number, got 0.0; e.g. 0.001, the default"
    )


# --------------------------------------------------------------------------- shell completion

SCRIPT_MARKS = {
    "bash": "complete -o default -F _lenet_completion lenet",
    "zsh": "#compdef lenet",
    "fish": "complete --command lenet",
}


@pytest.mark.parametrize("shell", SCRIPT_MARKS)
def test_show_completion_prints_the_script_of_the_shell_named(shell):
    done = subprocess.run(
        [sys.executable, "-m", "lenetcli", "--show-completion", shell],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SCRIPT_MARKS[shell] in done.stdout and "_LENET_COMPLETE" in done.stdout
    others = [mark for name, mark in SCRIPT_MARKS.items() if name != shell]
    assert not any(mark in done.stdout for mark in others)  # not the shell it runs under


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("lenet tr", ["train"]),
        ("lenet train --activation t", ["tanh"]),
        ("lenet sweep --activation relu,t", ["relu,tanh"]),
        ("lenet train --optimizer adam,s", []),  # lenet train takes one value, not a list
        ("lenet train --optimizer s", ["sgd"]),
        ("lenet confusion --dataset mnist,f", ["mnist,fashion-mnist"]),  # a list there
        ("lenet noise --lr-sch", ["--lr-schedule"]),
    ],
)
def test_the_completion_script_gets_its_answers_from_lenet(words, expected):
    """What the bash script runs on Tab: lenet itself, through cli.run(), answers."""
    env = {
        **os.environ, "_LENET_COMPLETE": "complete_bash", "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "lenetcli"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected


def test_install_completion_writes_the_script_for_the_shell_named(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "lenetcli", "--install-completion", "bash"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "bash completion installed" in done.stdout
    script = tmp_path / ".bash_completions" / "lenet.sh"
    assert "_lenet_completion" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


def test_help_shows_brackets_as_written_not_as_markup():
    assert "pip install 'lenetcli[ray]'" in lenet("sweep", "--help").output


@pytest.mark.parametrize("flag", ["--install-completion", "--show-completion"])
def test_a_shell_typer_does_not_know_is_refused_and_nothing_installed(tmp_path, flag):
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "lenetcli", flag, "tcsh"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"Error: Invalid value for '{flag}': unknown shell 'tcsh'; choose one of: bash, zsh, "
        "fish, powershell, pwsh; see 'lenet --help'\n"
    )
    assert list(tmp_path.iterdir()) == []  # no .bashrc, no script


# --------------------------------------------------------------------------- faults and signals


class CtrlCInGroup(Reporter):
    """Ctrl-C as the n-th group of seeds starts training."""

    def __init__(self, group):
        self.at, self.started = group, 0

    def start_group(self, seeds, epochs, batches):
        self.started += 1
        if self.started == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_the_models_of_the_seeds_whose_training_had_ended(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, "make_reporter", lambda *args: CtrlCInGroup(2))
    out = tmp_path / "run"
    result = lenet("train", *QUICK, "--repeats", "3", "--group-size", "2", "--out", out)
    assert result.exit_code == 130
    assert result.stderr.startswith("interrupted after 4 of 6 model-epochs:"), result.stderr
    assert "and the models of seeds 42, 43;" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "curves.png", "metrics.csv", "model.pt", "models",
    ]  # fmt: skip
    assert sorted(p.name for p in (out / "models").iterdir()) == ["seed-42.pt", "seed-43.pt"]
    metrics = pd.read_csv(out / "metrics.csv")
    last = metrics[metrics["seed"] == 43]["test_acc"].iloc[-1]
    assert torch.load(out / "models" / "seed-43.pt")["final_test_acc"] == pytest.approx(last)


def test_ctrl_c_during_the_final_writes_lets_them_finish(tmp_path, monkeypatch):
    """Ctrl-C just after the last epoch, while predictions.csv is computed: every file is
    written before the command stops, and the folder is no longer marked as being written."""
    computed = runs.predictions_frame

    def then_ctrl_c(*args):
        os.kill(os.getpid(), signal.SIGINT)  # as the terminal sends it
        return computed(*args)

    monkeypatch.setattr(runs, "predictions_frame", then_ctrl_c)
    out = tmp_path / "run"
    result = lenet("train", *QUICK, "--repeats", "2", "--out", out)
    assert result.exit_code == 130
    assert result.stderr == (
        f"{HOLDING}\n"
        f"interrupted while writing the outputs, which were finished first: {out} is complete\n"
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "curves.png", "metrics.csv", "model.pt", "models", "predictions.csv",
        "results.json",
    ]  # fmt: skip
    assert "interrupted" not in json.loads((out / "config.json").read_text())


def test_results_json_is_among_the_last_writes_of_train(tmp_path, monkeypatch):
    # A stop before results.json leaves config.json marked: the folder never passes for
    # finished without it.
    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "write_results", stopped)
    out = tmp_path / "run"
    result = lenet("train", *QUICK, "--out", out)
    assert result.exit_code == 130
    assert (
        json.loads((out / "config.json").read_text())["interrupted"] == "while writing its outputs"
    )
    assert (out / "model.pt").is_file() and not (out / "results.json").exists()


def test_a_full_disk_is_one_error_line_and_keeps_what_was_written(small_disk):
    out = small_disk / "run"  # 128 KiB: the CSVs fit, the model (250 KB) does not
    result = lenet("train", *QUICK, "--out", out)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"Error: no space left on device writing {out / 'model.pt'}; free space or choose "
        "another --out\n"
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "metrics.csv",
        "predictions.csv",
    ]
    assert len(pd.read_csv(out / "metrics.csv")) == 2
    # lenet report takes the folder for what it is: unfinished
    record = json.loads((out / "config.json").read_text())
    assert record["interrupted"] == "while writing its outputs"


def test_a_report_on_a_full_disk_is_one_error_line(tmp_path, small_disk):
    assert lenet("train", *QUICK, "--out", tmp_path / "train").exit_code == 0
    result = lenet("report", tmp_path / "train", "--out", small_disk / "report", "--quiet")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: no space left on device writing {small_disk}/report/")
    assert result.stderr.endswith("; free space or choose another --out\n")
    assert not list(small_disk.rglob("*.tmp"))


LONG = "a" * 300  # over the 255 bytes a file or folder name may have


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--dataset", "digits", "--out", "{tmp}/" + LONG],
        ["train", "--dataset", "mnist", "--data-dir", "{tmp}/" + LONG, "--out", "{tmp}/run"],
        ["confusion", "--checkpoint", "{tmp}/" + LONG + "/model.pt", "--out", "{tmp}/run"],
        ["sweep", "--config", "{tmp}/" + LONG + ".toml", "--out", "{tmp}/run"],
        ["noise", "--transition", "{tmp}/" + LONG + ".csv", "--out", "{tmp}/run"],
        ["report", "{tmp}/" + LONG, "--out", "{tmp}/run"],
    ],
)
def test_a_name_too_long_is_one_error_line(tmp_path, args):
    result = lenet(*[arg.format(tmp=tmp_path) for arg in args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert f"{tmp_path}/{LONG}" in result.stderr and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_no_check_caught_names_the_path_and_the_reason(tmp_path):
    result = lenet("train", "--dataset", "digits", "--out", tmp_path / LONG / "run")
    assert result.stderr == (
        f"Error: file name too long: {tmp_path / LONG / 'run'}; shorten it: a file or folder "
        "name may have at most 255 bytes\n"
    )


def test_stop_signals_are_ctrl_c_but_what_the_caller_ignores_stays_ignored():
    """Under nohup SIGHUP is ignored, and it must stay so; SIGTERM stops as Ctrl-C does,
    and the exit code says which signal it was."""
    before = {number: signal.getsignal(number) for number in (signal.SIGHUP, signal.SIGTERM)}
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with cli.StopSignals() as stops:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # (Python runs the handler as os.kill returns)
        assert (stops.exit_code(130), stops.exit_code(2), stops.exit_code(0)) == (143, 2, 0)
        assert cli.StopSignals().exit_code(130) == 130  # no signal came: Ctrl-C's own code
        assert signal.getsignal(signal.SIGTERM) is before[signal.SIGTERM]
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_on_a_full_disk_is_said_on_stderr_and_a_closed_pipe_is_not():
    version = [sys.executable, "-m", "lenetcli", "--version"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(version, stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == (
        "Error: no space left on device writing to stdout: what lenet printed there is lost; "
        "free space, or send it elsewhere\n"
    )
    reader = subprocess.Popen(version, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # gone before lenet writes: `lenet --version | true`
    assert reader.wait(timeout=60) == 0 and reader.stderr.read() == b""


def test_the_noise_help_gives_the_defaults_the_noise_command_uses():
    # cli.py spells them out so that `lenet --help` and completion need not import torch
    from lenetcli.science.noise import DEFAULT_RATES, NOISE_TYPES

    help_text = " ".join(
        runner.invoke(app, ["noise", "--help"], env={"COLUMNS": "200"}).output.split()
    )
    assert f"Default: {','.join(f'{r:g}' for r in DEFAULT_RATES)}." in help_text
    assert f"Default: {NOISE_TYPES[0]}." in help_text


@pytest.mark.parametrize("option", ["--data-dir", "--out"])
def test_an_empty_path_is_refused_not_taken_for_the_current_folder(option, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["sweep", "--dataset", "digits", "--epochs", "1", option, ""])
    assert result.exit_code == 2
    assert f"'{option}': an empty path names no file or folder" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []
