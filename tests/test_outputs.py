import os
import shutil
import signal
import stat
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from lenetcli.errors import Interrupted, LenetError
from lenetcli.outputs import files as outputs_files
from lenetcli.outputs.files import (
    UNFINISHED,
    check_output_dir,
    command_of,
    create_output_dir,
    finishing,
    in_use,
    previous_output,
    read_config,
    read_json,
    read_json_dict,
    remove_previous_output,
    save_checkpoint,
    save_figure,
    signals_held,
    write_atomic,
    write_csv,
    write_json,
    write_text,
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


def lenet_folder(path, command, *names, **record):
    write_json(path / "config.json", {"command": command, **record})
    for name in names:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("old")
    return path


def test_remove_previous_output_removes_what_the_command_wrote_and_nothing_else(tmp_path):
    # confusion on two datasets: a subfolder each, no config.json above them
    both, part = tmp_path / "both", {"options": {"datasets": ["mnist", "digits"]}}
    lenet_folder(
        both / "mnist", "confusion", "confusion.csv", "models/seed-43.pt", "mine.txt", **part
    )
    lenet_folder(
        both / "digits", "confusion", "confusion.png", ".confusion.csv.0a1b2c3d4e5f.tmp", **part
    )
    (both / "metrics.csv").write_text("mine: lenet writes nothing above the dataset folders")
    assert command_of(both) == "confusion"
    remove_previous_output(both, "confusion")
    assert sorted(p.name for p in both.rglob("*")) == ["metrics.csv", "mine.txt", "mnist"]

    train = lenet_folder(
        tmp_path / "train", "train", "metrics.csv", "model.pt", "notes.csv",
        ".metrics.csv.0a1b2c3d4e5f.tmp", ".thesis draft.cafe00beef11.tmp",
    )  # fmt: skip
    remove_previous_output(train, "confusion")  # another command's folder: left alone
    assert len(list(train.iterdir())) == 6
    remove_previous_output(train, "train")
    assert sorted(p.name for p in train.iterdir()) == [
        ".thesis draft.cafe00beef11.tmp",
        "notes.csv",
    ]

    mine = tmp_path / "mine"  # no lenet folder at all: nothing of it is lenet's to remove
    (mine / "metrics.csv").parent.mkdir()
    (mine / "metrics.csv").write_text("mine")
    remove_previous_output(mine, "train")
    assert (mine / "metrics.csv").read_text() == "mine"


def test_other_runs_inside_the_folder_are_never_removed(tmp_path):
    runs = tmp_path / "runs"  # a folder of runs, or a run with a backup copy inside
    lenet_folder(runs / "train-a", "train", "metrics.csv")
    lenet_folder(runs / "train-b", "train", "metrics.csv")
    assert command_of(runs) is None
    remove_previous_output(runs, "train")
    backup = lenet_folder(runs / "train-a" / "backup", "train", "metrics.csv")
    remove_previous_output(runs / "train-a", "train")
    assert (runs / "train-b" / "metrics.csv").is_file() and (backup / "metrics.csv").is_file()


def test_links_are_removed_but_never_followed(tmp_path):
    elsewhere = lenet_folder(tmp_path / "elsewhere", "confusion", "confusion.csv", "models/a.pt")
    both, part = tmp_path / "both", {"options": {"datasets": ["mnist", "digits"]}}
    lenet_folder(both / "digits", "confusion", "confusion.csv", **part)
    (both / "mnist").symlink_to(elsewhere, target_is_directory=True)
    (both / "digits" / "models").symlink_to(elsewhere / "models", target_is_directory=True)
    remove_previous_output(both, "confusion")
    assert not (both / "digits" / "models").exists()  # the link, not what it points to
    assert sorted(p.name for p in elsewhere.rglob("*")) == [
        "a.pt", "config.json", "confusion.csv", "models",
    ]  # fmt: skip


def test_a_run_in_a_folder_named_after_a_dataset_is_a_run_of_its_own(tmp_path):
    # lenet confusion --dataset digits --out A/digits: one dataset, so no part of A
    lenet_folder(tmp_path / "A" / "digits", "confusion", "confusion.csv",
                 options={"datasets": ["digits"]})  # fmt: skip
    lenet_folder(tmp_path / "C" / "mnist" / "digits", "confusion", "confusion.csv",
                 options={"datasets": ["mnist", "digits"]})  # fmt: skip
    for folder in (tmp_path / "A", tmp_path / "C"):
        assert command_of(folder) is None and previous_output(folder, "confusion") == []
        with pytest.raises(LenetError, match="holds files no lenet command wrote"):
            check_output_dir(folder, True, "confusion")
    (tmp_path / "T").mkdir()
    (tmp_path / "T" / "mnist").mkdir()  # the user's, empty
    lenet_folder(tmp_path / "T", "train", "metrics.csv")
    remove_previous_output(tmp_path / "T", "train")
    assert [p.name for p in (tmp_path / "T").iterdir()] == ["mnist"]


def test_records_lenet_did_not_write_as_such_are_no_lenet_output(tmp_path):
    odd = [
        {"command": ["confusion"]},
        {"command": "noise", "options": None},
        {"command": "noise", "options": {"noise_settings": ["symmetric-0.2"]}},
        {"command": "noise", "options": {"noise_settings": 5}},
    ]
    for i, record in enumerate(odd):
        folder = tmp_path / str(i)
        write_json(folder / "config.json", record)
        (folder / "metrics.csv").write_text("x")
        remove_previous_output(folder, "noise")  # no traceback
    assert command_of(tmp_path / "0") is None
    assert not (tmp_path / "1" / "metrics.csv").exists()  # lenet's name in a noise folder
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "config.json").write_text('{"a": ' * 50_000)
    assert command_of(tmp_path / "deep") is None  # absurdly nested: unreadable, no crash


def test_a_noise_study_removes_its_own_setting_files_only(tmp_path):
    settings = [{"setting": "symmetric-0.2"}, {"setting": "none-0"}]
    study = lenet_folder(
        tmp_path / "n", "noise", "transition-symmetric-0.2.csv", "noisy-confusion-none-0.png",
        "transition-mine.csv", options={"noise_settings": settings},
    )  # fmt: skip
    remove_previous_output(study, "noise")
    assert [p.name for p in study.iterdir()] == ["transition-mine.csv"]


def test_removal_is_all_or_nothing(tmp_path, monkeypatch):
    folder = lenet_folder(tmp_path / "t", "train", "metrics.csv", "model.pt", "models/s.pt")
    real_rename, calls = os.rename, []

    def rename_fails_the_third_time(src, dst):
        calls.append(src)
        if len(calls) == 3:
            raise PermissionError(13, "Permission denied")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_fails_the_third_time)
    with pytest.raises(
        LenetError, match="cannot remove .*model.pt: Permission denied; nothing was removed"
    ):
        remove_previous_output(folder, "train")
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "metrics.csv", "model.pt", "models",
    ]  # fmt: skip


def test_old_files_that_cannot_be_deleted_are_left_aside_with_a_warning(
    tmp_path, monkeypatch, capsys
):
    folder = lenet_folder(tmp_path / "t", "train", "metrics.csv", "models/s.pt", "notes.txt")

    def rmtree_that_cannot_delete_one_file(path, onerror):
        onerror(os.unlink, str(Path(path) / "1" / "s.pt"), None)

    monkeypatch.setattr(shutil, "rmtree", rmtree_that_cannot_delete_one_file)
    remove_previous_output(folder, "train")  # the run goes on
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "Warning: --overwrite could not delete 1 file(s)" in err and ".lenet-overwrite-" in err
    left = [p.name for p in folder.iterdir() if p.name.startswith(".lenet-overwrite-")]
    assert len(left) == 1 and sorted(p.name for p in folder.iterdir())[1:] == ["notes.txt"]
    # the next --overwrite clears what was left aside
    lenet_folder(folder, "train", "metrics.csv")
    remove_previous_output(folder, "train")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_overwrite_is_refused_over_inputs_and_unreadable_records(tmp_path):
    folder = lenet_folder(tmp_path / "c", "confusion", "model.pt")
    with pytest.raises(LenetError, match="which holds .*model.pt, an input of this command"):
        check_output_dir(folder, True, "confusion", [folder / "model.pt"])
    with pytest.raises(LenetError, match="which holds .*data, an input of this command"):
        check_output_dir(folder, True, "confusion", [folder / "data"])  # a --data-dir
    (folder / "config.json").write_text("{")
    with pytest.raises(LenetError, match="has a config.json lenet cannot read"):
        check_output_dir(folder, True, "confusion")
    (folder / "config.json").write_text('{"name": "another program"}')
    with pytest.raises(LenetError, match="holds files no lenet command wrote"):
        check_output_dir(folder, True, "confusion")


def test_a_folder_created_meanwhile_by_another_command_is_refused(tmp_path):
    # Both commands found runs/study absent; the second to create it must not write into it
    folder = tmp_path / "runs" / "study"
    assert create_output_dir(folder, exclusive=True) == folder
    with pytest.raises(LenetError, match="was just created by another command"):
        create_output_dir(folder, exclusive=True)


# --------------------------------------------------------------------------- faults


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def test_a_full_disk_is_one_line_naming_the_file_and_the_old_file_stays(small_disk):
    old = write_csv(small_disk / "metrics.csv", [{"x": 1}])
    big = pd.DataFrame({"x": range(100_000)})  # about 600 KB of text: more than the disk
    with pytest.raises(LenetError) as error:
        write_csv(small_disk / "metrics.csv", big)
    assert str(error.value) == (
        f"no space left on device writing {old}; free space or choose another --out"
    )
    assert pd.read_csv(old)["x"].tolist() == [1] and temporaries(small_disk) == []

    # torch.save's own report of a full disk is "enforce fail at inline_container.cc"
    with pytest.raises(LenetError, match=r"^no space left on device writing .*model\.pt; free"):
        save_checkpoint(small_disk / "model.pt", {"w": torch.zeros(200_000)})
    figure = plt.figure(figsize=(30, 30))
    plt.imshow(torch.rand(1000, 1000).numpy())
    with pytest.raises(LenetError, match=r"^no space left on device writing .*figure\.png; free"):
        save_figure(figure, small_disk / "figure.png")
    assert sorted(p.name for p in small_disk.iterdir()) == ["metrics.csv"]


@pytest.mark.parametrize(
    ("number", "message"),
    [
        (28, "no space left on device writing {path}; free space or choose another --out"),
        (122, "disk quota exceeded writing {path}; free space or choose another --out"),
        (30, "read-only file system writing {path}; choose another --out"),
    ],
)
def test_what_the_system_refuses_in_any_writer_is_one_line(tmp_path, number, message):
    """Simulated (the writer raises the OSError a full disk raises), so it runs everywhere;
    with torch.save's wrapping of it, as a full disk gives it."""
    target = write_csv(tmp_path / "runs.csv", [{"x": 1}])

    def refused(tmp):
        with open(tmp, "w") as file:
            file.write("half")
        try:
            raise OSError(number, os.strerror(number))
        except OSError:
            # as torch raises it: while handling the OSError, which it does not name
            raise RuntimeError("[enforce fail at inline_container.cc:672]")  # noqa: B904

    with pytest.raises(LenetError) as error:
        write_atomic(target, refused)
    assert str(error.value) == message.format(path=target)
    assert pd.read_csv(target)["x"].tolist() == [1] and temporaries(tmp_path) == []


def test_a_name_too_long_is_one_line_naming_the_path(tmp_path):
    path = tmp_path / ("a" * 300) / "config.json"
    with pytest.raises(LenetError) as error:
        write_json(path, {"a": 1})
    assert str(error.value) == (
        f"file name too long writing {path}; shorten it: a file or folder name may have at "
        "most 255 bytes"
    )


def test_the_temporaries_a_killed_lenet_left_go_when_a_command_takes_the_folder(tmp_path):
    study = lenet_folder(tmp_path / "study", "sweep", "runs.csv", "curves/a.png")
    left = [
        ".summary.csv.lenet-0a1b2c3d4e5f.tmp",  # a SIGKILL during a write
        "curves/.b.png.lenet-00ff00ff00ff.tmp",  # a 0-byte figure, in a subfolder
        "models/lr0.001/.seed-42.pt.lenet-123456abcdef.tmp",
        ".metrics.csv.0a1b2c3d4e5f.tmp",  # as lenet 0.1 named them
    ]
    mine = [".notes.tmp", ".thesis draft.cafe00beef11.tmp", "curves/.x.lenet.tmp"]
    inner = lenet_folder(study / "copy", "train", ".metrics.csv.lenet-0a1b2c3d4e5f.tmp")
    for name in left + mine:
        (study / name).parent.mkdir(parents=True, exist_ok=True)
        (study / name).write_text("")
    with in_use(study, "sweep"):  # as --resume takes it, without --overwrite
        assert temporaries(study) == sorted(
            [Path(name).name for name in mine] + [".metrics.csv.lenet-0a1b2c3d4e5f.tmp"]
        )  # the user's own, and the one in another output folder, where lenet may write now
    assert (study / "runs.csv").is_file() and (inner / "config.json").is_file()


def test_write_atomic_names_its_temporaries_as_lenets(tmp_path):
    seen = []
    write_atomic(tmp_path / "curves.png", lambda tmp: seen.append(tmp) or tmp.write_text(""))
    assert UNFINISHED.fullmatch(seen[0].name) and seen[0].name.startswith(".curves.png.lenet-")


def raise_signal_in(block_seconds: float = 0.0):
    """SIGINT as Ctrl-C sends it, to this process, now."""
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(block_seconds)  # where the signal would have been delivered


def test_a_signal_during_the_final_writes_waits_until_they_are_done(tmp_path, capsys):
    record = {"command": "train", "options": {}}
    write_json(tmp_path / "config.json", record)
    marks = []
    with pytest.raises(Interrupted) as stop:
        with finishing(tmp_path, record, go_on="run the command again with --overwrite"):
            marks.append(read_config(tmp_path).get("interrupted"))
            raise_signal_in(0.05)
            write_csv(tmp_path / "metrics.csv", [{"x": 1}])  # still written
            write_text(tmp_path / "summary.md", "done")
    assert marks == ["while writing its outputs"]
    assert capsys.readouterr().err == f"{outputs_files.HOLDING}\n"  # why nothing stops yet
    assert str(stop.value).endswith(f"which were finished first: {tmp_path} is complete")
    assert read_config(tmp_path) == record  # no longer marked
    assert (tmp_path / "summary.md").read_text() == "done"


def test_a_second_signal_stops_the_final_writes_with_the_folder_marked(tmp_path):
    record = {"command": "sweep", "options": {}}
    with pytest.raises(Interrupted) as stop:
        with finishing(tmp_path, record, go_on="run it again with --resume --out x"):
            raise_signal_in()
            raise_signal_in(0.05)
            write_text(tmp_path / "summary.md", "never")
    assert str(stop.value) == (
        f"interrupted while writing the outputs: {tmp_path} is unfinished, as its config.json "
        "says; run it again with --resume --out x"
    )
    assert read_config(tmp_path)["interrupted"] == "while writing its outputs"
    assert not (tmp_path / "summary.md").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_failed_final_write_leaves_the_folder_marked_unfinished(tmp_path):
    record = {"command": "train"}
    with pytest.raises(LenetError):
        with finishing(tmp_path, record, go_on=""):
            raise LenetError("no space left on device writing model.pt; ...")
    assert read_config(tmp_path)["interrupted"] == "while writing its outputs"


def test_signals_held_delivers_sigterm_as_it_would_have_been(tmp_path):
    """Under the CLI's handler a held SIGTERM raises KeyboardInterrupt once the block ends;
    a second one raises it at once."""
    caught = []

    def stop(number, frame):
        caught.append(number)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        done = []
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                done.append("the block ran on")
        assert done == ["the block ran on"] and caught == [signal.SIGTERM]
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                done.append("never")
        assert done == ["the block ran on"] and signal.getsignal(signal.SIGTERM) is stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_environment_names_every_package_the_numbers_depend_on():
    env = outputs_files.environment(torch.device("cpu"), "CPU")
    for package in ("lenetcli", "torch", "torchvision", "scikit-learn", "scipy", "numpy",
                    "pandas", "matplotlib"):  # fmt: skip
        assert env[package], package
    assert env["torch_threads"] == torch.get_num_threads()


def test_a_json_file_that_is_unreadable_for_any_reason_is_a_value_error(tmp_path):
    path = tmp_path / "x.json"
    cases = {
        "[" * 100_000 + "]" * 100_000: "thousands of levels deep",  # RecursionError in json
        "{not json": "Expecting property name",
    }
    for text, reason in cases.items():
        path.write_text(text)
        with pytest.raises(ValueError, match=reason):
            read_json(path)
        assert read_json_dict(path) is None
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ValueError, match="utf-8"):
        read_json(path)
    with pytest.raises(ValueError, match="No such file"):
        read_json(tmp_path / "missing.json")
    path.write_text("[1, 2]")
    assert read_json(path) == [1, 2] and read_json_dict(path) is None  # not an object
    path.write_text('{"a": [1]}')
    assert read_json_dict(path) == {"a": [1]}


def test_characters_missing_from_the_font_are_one_warning_line(tmp_path, capsys):
    import warnings

    figure = plt.figure()
    figure.gca().set_title("é ü 数据")  # no CJK glyphs in matplotlib's own font
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of matplotlib's reaches the user
        path = save_figure(figure, tmp_path / "figure.png")
    assert path.is_file()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "show as boxes" in err, err
    save_figure(plt.figure(), tmp_path / "plain.png")
    assert capsys.readouterr().err == ""
