import os
import stat

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from lenetcli.errors import LenetError
from lenetcli.outputs import (
    check_output_dir,
    command_of,
    create_output_dir,
    remove_previous_output,
    save_checkpoint,
    save_figure,
    write_atomic,
    write_csv,
    write_json,
)


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_outputs_get_the_permissions_of_the_umask(tmp_path, umask_022):
    # Output folders are shared with students and colleagues: files must be as readable
    # as any file the user creates, not owner-only as a bare temporary file would be.
    figure = plt.figure()
    written = [
        write_json(tmp_path / "config.json", {"a": 1}),
        write_csv(tmp_path / "table.csv", [{"x": 1}]),
        save_figure(figure, tmp_path / "figure.png"),
        save_checkpoint(tmp_path / "model.pt", {"w": torch.zeros(2)}),
    ]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = write_csv(tmp_path / "table.csv", [{"x": 1}])

    def fail_halfway(tmp):
        with open(tmp, "w") as f:
            f.write("x\n")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, fail_halfway)
    assert pd.read_csv(target)["x"].tolist() == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_csv_is_plain_numbers_without_an_index(tmp_path):
    frame = pd.DataFrame({"acc": [99.12345678912, 50.0, 100 * 7 / 9], "n": [1, 2, 3]})
    path = write_csv(tmp_path / "t.csv", frame)
    assert path.read_text(encoding="utf-8") == "acc,n\n99.12345679,1\n50,2\n77.77777778,3\n"


def test_a_default_name_taken_meanwhile_becomes_the_next_free_one(tmp_path):
    # Two `lenet train` started in the same second pick the same default folder name.
    name = tmp_path / "runs" / "train-digits-20261127-101500"
    assert create_output_dir(name, fresh_name=True) == name
    assert create_output_dir(name, fresh_name=True) == name.with_name(name.name + "-2")
    assert create_output_dir(name, fresh_name=True) == name.with_name(name.name + "-3")
    # A folder the user named is used as it is (it was checked to be empty, or --overwrite).
    assert create_output_dir(name) == name


def test_overwrite_replaces_only_the_same_commands_output(tmp_path):
    write_json(tmp_path / "run" / "config.json", {"command": "train"})
    with pytest.raises(LenetError, match="not empty; choose another --out or add --overwrite"):
        check_output_dir(tmp_path / "run", False, "train")
    assert check_output_dir(tmp_path / "run", True, "train") == tmp_path / "run"
    with pytest.raises(LenetError) as refused:
        check_output_dir(tmp_path / "run", True, "sweep")
    assert "holds the output of lenet train; --overwrite replaces only that" in str(refused.value)


def test_remove_previous_output_removes_what_the_command_wrote_and_nothing_else(tmp_path):
    def folder(path, command, *names):
        write_json(path / "config.json", {"command": command})
        for name in names:
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text("old")
        return path

    # confusion on two datasets: a subfolder each, no config.json above them
    both = tmp_path / "both"
    folder(both / "mnist", "confusion", "confusion.csv", "models/seed-43.pt", "mine.txt")
    folder(both / "digits", "confusion", "confusion.png", ".confusion.csv.0a1b.tmp")
    assert command_of(both) == "confusion"
    remove_previous_output(both, "confusion")
    assert sorted(p.name for p in both.rglob("*")) == ["mine.txt", "mnist"]

    train = folder(tmp_path / "train", "train", "metrics.csv", "model.pt", "notes.csv")
    remove_previous_output(train, "confusion")  # another command's folder: left alone
    assert len(list(train.iterdir())) == 4
    remove_previous_output(train, "train")
    assert [p.name for p in train.iterdir()] == ["notes.csv"]

    mine = tmp_path / "mine"  # no lenet folder at all: nothing of it is lenet's to remove
    (mine / "metrics.csv").parent.mkdir()
    (mine / "metrics.csv").write_text("mine")
    remove_previous_output(mine, "train")
    assert (mine / "metrics.csv").read_text() == "mine"


def test_a_folder_created_meanwhile_by_another_command_is_refused(tmp_path):
    # Both commands found runs/study absent; the second to create it must not write into it
    folder = tmp_path / "runs" / "study"
    assert create_output_dir(folder, exclusive=True) == folder
    with pytest.raises(LenetError, match="was just created by another command"):
        create_output_dir(folder, exclusive=True)
