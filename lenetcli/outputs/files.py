"""The output folder: checked before anything runs, and every file written whole or not at all.

Each file is written to a temporary name beside its target and renamed into place, so an
interrupted run never leaves a half-written CSV, figure or checkpoint behind; what a killed
run leaves of a temporary is removed when a command next takes the folder (in_use). A write
the system refuses (a full disk, a name too long) ends in one LenetError naming the file. A
command's last writes run under `finishing`: a signal waits until they are done, and
config.json says meanwhile that they are not.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import sys
import threading
import warnings
from datetime import datetime, timezone
from itertools import chain, count
from pathlib import Path

import pandas as pd
import torch

from lenetcli import __version__
from lenetcli.errors import (
    Interrupted,
    LenetError,
    os_error_behind,
    os_failure,
    stop_signals,
    warn,
)


def timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def default_folder(name: str) -> Path:
    """runs/<name>-<time>, or <that>-2, -3, ... when a run started in the same second has it."""
    base = Path("runs") / f"{name}-{timestamp()}"
    taken_or_not = chain([base], (base.with_name(f"{base.name}-{n}") for n in count(2)))
    return next(path for path in taken_or_not if not path.exists())


def check_output_dir(path: Path, overwrite: bool, command: str, inputs: list[Path] = ()) -> Path:
    """Refuse a non-empty folder (unless overwrite) or one that cannot be created; write nothing.

    --overwrite replaces an earlier output of the same command only. Over another command's
    folder it would leave a mix (a sweep's tables beside an old model.pt that `--from` would
    then read); over a folder no lenet command wrote it would replace files of the user's; over
    a folder holding one of the command's inputs (a checkpoint, a study or transition file,
    the data, a folder reported on) it might remove them.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LenetError(f"output folder {path} is a file; choose another --out")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise LenetError(
            f"output folder {path} is not empty; choose another --out or add --overwrite"
        )
    if overwrite and path.is_dir() and any(path.iterdir()):
        check_overwrite(path, command, inputs)
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise LenetError(
            f"output folder {path} cannot be created: {existing} is a file; choose another --out"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LenetError(
            f"output folder {path} cannot be written (no write permission in {existing}); choose another --out"
        )
    return path


def check_overwrite(path: Path, command: str, inputs: list[Path]) -> None:
    for given in inputs:
        if Path(given).resolve().is_relative_to(path.resolve()):
            raise LenetError(
                f"--overwrite would replace {path}, which holds {given}, an input of this "
                "command; choose another --out"
            )
    if (path / "config.json").exists() and read_config(path) is None:
        raise LenetError(
            f"output folder {path} has a config.json lenet cannot read, so --overwrite cannot "
            "tell which files are lenet's to replace; choose another --out"
        )
    written_by = command_of(path)
    if written_by is None:
        raise LenetError(
            f"output folder {path} holds files no lenet command wrote; --overwrite replaces only "
            f"an earlier output of lenet {command}, so choose another --out"
        )
    if written_by != command:
        raise LenetError(
            f"output folder {path} holds the output of lenet {written_by}; --overwrite replaces "
            f"only that of the same command, so choose another --out for lenet {command}"
        )


def read_json(path: Path):
    """A JSON file's value; ValueError, saying why, for a file that cannot be read, is not
    UTF-8 or not JSON. Every JSON file lenet reads back is read here: json.loads raises
    RecursionError on arrays nested some thousands deep, which no lenet file is."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError("it nests arrays or objects thousands of levels deep") from None
    except OSError as exc:
        raise ValueError(exc.strerror or str(exc)) from None


def read_json_dict(path: Path) -> dict | None:
    """A JSON file holding an object (config.json, course.json, inputs.json); None when it
    cannot be read or holds anything else."""
    try:
        record = read_json(path)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def read_config(folder: Path) -> dict | None:
    """A folder's config.json as a lenet command wrote it; None when it has no readable one."""
    return read_json_dict(folder / "config.json")


def command_of(folder: Path) -> str | None:
    """The lenet command that wrote a folder, from its config.json; None if none did.

    confusion and hardsamples on several datasets write a subfolder per dataset and no
    config.json above them: such a folder counts as theirs.
    """
    if (record := read_config(folder)) is not None:
        command = record.get("command")
        return command if isinstance(command, str) else None
    commands = {command_of(sub) for sub in dataset_subfolders(folder)}
    return commands.pop() if len(commands) == 1 else None


PER_DATASET = ("confusion", "hardsamples")  # the commands that may write dataset subfolders


def dataset_subfolders(folder: Path) -> list[Path]:
    """The subfolders that confusion or hardsamples on several datasets wrote in folder: real
    folders (not links) named after a dataset, whose config.json says it is one of several.
    A run that merely lies in a folder named `mnist` is none of them."""
    from lenetcli.science.data import DATASETS

    if not is_real_folder(folder) or read_config(folder) is not None:
        return []
    found = []
    for name in DATASETS:
        record = read_config(folder / name) if is_real_folder(folder / name) else None
        if record is None or record.get("command") not in PER_DATASET:
            continue
        options = record.get("options")
        datasets = options.get("datasets") if isinstance(options, dict) else None
        if isinstance(datasets, list) and len(datasets) > 1 and name in datasets:
            found.append(folder / name)
    return found


def is_real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


# What each command writes in its output folder; confusion and hardsamples write train's files
# too when they train the model first. A noise study's per-setting files are named from the
# settings its config.json lists (noise_files), never by a pattern that could match a
# file of the user's.
TRAIN_OUTPUT = ["config.json", "metrics.csv", "predictions.csv", "curves.png", "model.pt", "models",
                "results.json"]  # fmt: skip
STUDY_OUTPUT = ["config.json", "runs.csv", "metrics.csv", "summary.csv", "summary.md",
                "accuracy.png", "compare.png", "curves", "tables", "models", "results.json"]  # fmt: skip
OUTPUT_NAMES = {
    "train": TRAIN_OUTPUT,
    "sweep": STUDY_OUTPUT,
    "noise": [*STUDY_OUTPUT, "accuracy_vs_noise.png"],
    "confusion": [
        *TRAIN_OUTPUT,
        "confusion.csv",
        "confusion_counts.csv",
        "confusion.png",
        "per_class.csv",
        "confused_pairs.csv",
    ],  # fmt: skip
    "hardsamples": [*TRAIN_OUTPUT, "hard_samples.csv", "hard"],
    "report": [
        "config.json",
        "results.csv",
        "compare.png",
        "report.md",
        "report.html",
        "figures",
        "results.json",
    ],
}
# confusion and hardsamples on several datasets: what they write beside the dataset folders
PARENT_OUTPUT = ["results.json"]
NOISE_FILES = ["transition-{}.csv", "noisy-confusion-{}.csv", "noisy-confusion-{}.png"]
# What write_atomic leaves of a file if killed: .<name>.lenet-<12 hex digits>.tmp, or, from
# lenet 0.1, .<name>.<12 hex digits>.tmp.
UNFINISHED = re.compile(r"\.(.+)\.(?:lenet-)?[0-9a-f]{12}\.tmp")
# The temporaries any lenet left, wherever in a folder: the name says lenet (or, for lenet
# 0.1's, the name of a file lenet writes), so that no file of the user's can match.
TEMPORARY = re.compile(
    r"\..+\.lenet-[0-9a-f]{12}\.tmp|\..+\.(csv|png|pt|json|md|html)\.[0-9a-f]{12}\.tmp"
)
LEFT_ASIDE = re.compile(r"\.lenet-overwrite-[0-9a-f]{12}")  # what an --overwrite could not delete


def previous_output(folder: Path, command: str) -> list[Path]:
    """What the same command wrote in folder before (and in its dataset subfolders), or
    nothing when another command, or none, wrote it."""
    if command_of(folder) != command:
        return []
    found = []
    if (record := read_config(folder)) is not None:  # not the bare parent of dataset folders
        names = set(OUTPUT_NAMES[command]) | noise_files(record, command)
        names |= study_report_files(record, command)
        found = [
            entry
            for entry in sorted(folder.iterdir())
            if entry.name in names
            or unfinished_of(entry.name, names)
            or LEFT_ASIDE.fullmatch(entry.name)
        ]
    else:
        names = set(PARENT_OUTPUT)
        found = [
            e for e in sorted(folder.iterdir()) if e.name in names or unfinished_of(e.name, names)
        ]
    for sub in dataset_subfolders(folder):
        found += previous_output(sub, command)
    return found


def unfinished_of(name: str, names: set[str]) -> bool:
    """Whether name is what write_atomic left of one of these files when it was killed."""
    match = UNFINISHED.fullmatch(name)
    return match is not None and match.group(1) in names


def noise_files(record: dict, command: str) -> set[str]:
    """A noise study's per-setting files, named from the settings its config.json lists."""
    if command != "noise":
        return set()
    options = record.get("options")
    settings = options.get("noise_settings") if isinstance(options, dict) else None
    settings = settings if isinstance(settings, list) else []
    labels = [s.get("setting") for s in settings if isinstance(s, dict)]
    return {name.format(label) for name in NOISE_FILES for label in labels if label}


# What `lenet report --study` writes beside the report's files; its section folders are
# named from the sections its config.json lists (study_report_files).
STUDY_REPORT_OUTPUT = ["course.json", "discussion.csv", "tables"]
SECTION_FOLDER = re.compile(r"[0-9]+-[A-Za-z0-9][A-Za-z0-9._-]*")


def study_report_files(record: dict, command: str) -> set[str]:
    """The files of a `lenet report --study` folder: its section folders (1-hyperparameters,
    ...), named from the study its config.json records, and its own tables; nothing for a
    report of folders, or a name that is not a section folder's."""
    options = record.get("options")
    study = options.get("study") if command == "report" and isinstance(options, dict) else None
    if not isinstance(study, dict):
        return set()
    folders = study.get("folders")
    folders = folders if isinstance(folders, list) else []
    own = {f for f in folders if isinstance(f, str) and SECTION_FOLDER.fullmatch(f)}
    return own | set(STUDY_REPORT_OUTPUT)


def remove_previous_output(folder: Path, command: str) -> None:
    """Remove what the same command wrote in folder before; --overwrite calls it.

    Writing over the old files is not enough: the new run need not write all of them, and
    leftovers such as models/seed-44.pt of an earlier --repeats 3 would pass for new results.
    Only the names lenet writes go (its own folders, such as models/ or curves/, whole);
    other files stay, links are removed but never followed, and nothing is removed from a
    folder that another command, or none, wrote. The old files are first moved aside, all or
    none: one that cannot be moved puts the others back.
    """
    entries = previous_output(folder, command)
    if not entries:
        return
    parts = dataset_subfolders(folder)
    aside = folder / f".lenet-overwrite-{secrets.token_hex(6)}"
    moved, failed = [], folder
    try:
        aside.mkdir()
        for failed in entries:
            target = aside / str(len(moved))
            os.rename(failed, target)
            moved.append((failed, target))
    except OSError as exc:
        for done, target in reversed(moved):
            os.rename(target, done)
        with contextlib.suppress(OSError):
            aside.rmdir()
        left = f" (and an empty {aside.name} that could not be removed)" if aside.exists() else ""
        raise LenetError(
            f"--overwrite cannot remove {failed}: {exc.strerror}; nothing was removed{left}, so "
            f"fix its permissions or choose another --out"
        ) from None
    for part in parts:
        with contextlib.suppress(OSError):
            part.rmdir()  # emptied: the new run may not cover that dataset
    undeletable = []
    shutil.rmtree(aside, onerror=lambda _function, path, _exc: undeletable.append(path))
    if undeletable:
        # The old output is out of the way, so the run goes on; what is left is said.
        warn(
            f"--overwrite could not delete {len(undeletable)} file(s) of the previous output, "
            f"e.g. {undeletable[0]}; they are left in {aside}"
        )


@contextlib.contextmanager
def in_use(folder: Path, command: str, replace: bool = False):
    """Hold the output folder while this command writes in it: a second lenet command that
    wants to replace or resume it meanwhile stops with an error, rather than mixing its files
    with this one's. With replace (--overwrite), the previous output is removed first; the
    temporaries a killed lenet left are removed in any case (--resume keeps the folder)."""
    with folder_lock(folder):
        if replace:
            remove_previous_output(folder, command)
        remove_stale_temporaries(folder)
        yield


def stale_temporaries(folder: Path) -> list[Path]:
    """The temporaries that lenet commands killed while writing (SIGKILL, a power cut) left in
    folder and its subfolders (curves/, models/<setting>/, ...). Only this folder's: the
    search enters no link, no hidden folder and no other output folder (one with its own
    config.json), where another lenet may be writing now."""
    found = []
    for root, folders, names in os.walk(folder):
        found += [Path(root) / name for name in names if TEMPORARY.fullmatch(name)]
        folders[:] = [
            name for name in folders
            if not name.startswith(".") and not (Path(root) / name / "config.json").exists()
        ]  # fmt: skip
    return sorted(found)


def remove_stale_temporaries(folder: Path) -> None:
    for path in stale_temporaries(folder):
        with contextlib.suppress(OSError):  # a leftover that cannot go harms nothing
            path.unlink()


@contextlib.contextmanager
def folder_lock(folder: Path):
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks on folders
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise LenetError(
                f"output folder {folder} is in use by another lenet command; wait until it "
                "ends, or choose another --out"
            ) from None
        yield
    finally:
        os.close(descriptor)


def create_output_dir(path: Path, fresh_name: bool = False, exclusive: bool = False) -> Path:
    """Create the output folder and return it.

    Two commands started at once may both have found the folder absent. So a folder that did
    not exist is claimed atomically (exclusive): the second command gets an error rather than
    writing among the first one's files. With fresh_name (a default name such as
    runs/train-mnist-<time>), a name already taken becomes <name>-2, <name>-3, ... instead.
    """
    candidate = path
    for n in range(2, 1000):
        try:
            candidate.mkdir(parents=True, exist_ok=not (fresh_name or exclusive))
            return candidate
        except FileExistsError:
            if not fresh_name:
                raise LenetError(
                    f"output folder {path} was just created by another command; choose another --out"
                ) from None
            candidate = path.with_name(f"{path.name}-{n}")
        except OSError as exc:
            raise LenetError(
                f"cannot create output folder {path}: {exc.strerror}; choose another --out"
            ) from None
    raise LenetError(f"output folders {path}-2 to {candidate} exist already; give --out")


def write_atomic(path: Path, write) -> Path:
    """Call write(temporary_path), then rename the result to path. What the system refuses (a
    full disk, a name too long, a read-only disk) ends in one LenetError naming path, with
    the file that was there before intact and no temporary left."""
    path = Path(path)
    # A fresh name that write() creates itself, so the file gets the usual permissions
    # (umask); tempfile.mkstemp would leave every output readable by its owner only.
    tmp = path.parent / f".{path.name}.lenet-{secrets.token_hex(6)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if (cause := os_error_behind(exc)) is not None:
            raise os_failure(cause, path, "writing") from None
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: Path, data: dict) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def read_csv(path: Path) -> pd.DataFrame:
    """A CSV that write_csv wrote, read back as written: names and keys stay text (a setting
    named "01" or "NA" is not a number or a missing value), and only an empty cell, which is
    how write_csv writes a missing value, is missing."""
    text = {name: str for name in ("setting", "run_key", "dataset", "status")}
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=text)


# Significant digits of every number lenet writes to a CSV (and to results.json): a mean or
# std computed from the file (by `lenet report`, or from a resumed study's runs) agrees with
# one computed in memory to far below the 2 decimals shown.
CSV_DIGITS = 10


def as_written(value):
    """A float as write_csv writes it and read_csv reads it back: a fresh run's results then
    equal a resumed study's kept ones to the last digit, and so do the statistics over them."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{CSV_DIGITS}g}")
    return value


# Text that a spreadsheet or pandas reads as another type, besides what does not start with a
# letter (a formula, =1+2; a number or a date, 1e5, 0012, 1-2): a month and a day, and words
# for a missing value, a number or a truth value.
DATE_LIKE = re.compile(r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*-\d{1,4}", re.I)
NOT_TEXT = {"na", "n/a", "nan", "null", "none", "inf", "infinity", "true", "false"}


def reads_as_text(value: str) -> bool:
    """Whether a spreadsheet and pandas read value back as the text it is."""
    return value[:1].isalpha() and not DATE_LIKE.fullmatch(value) and value.lower() not in NOT_TEXT


def write_csv(path: Path, rows: list[dict] | pd.DataFrame) -> Path:
    """A spreadsheet-friendly CSV: header row, no index, plain numbers (CSV_DIGITS), UTF-8."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    return write_atomic(
        path,
        lambda tmp: frame.to_csv(
            tmp, index=False, float_format=f"%.{CSV_DIGITS}g", encoding="utf-8"
        ),
    )


WRITING = "while writing its outputs"  # config.json's "interrupted" during finishing


@contextlib.contextmanager
def finishing(folder: Path, record: dict, go_on: str):
    """A command's last writes (its tables, figures, models), done whole or marked undone.

    While they run, folder's config.json is record with "interrupted": "while writing its
    outputs", and record again once they are done: a folder that SIGKILL, a power cut or a
    full disk leaves half-written is never taken for a finished one (lenet report, --from).
    Ctrl-C, SIGTERM and SIGHUP wait until the writes are done (a second or two), then stop
    the command with Interrupted, saying that folder is complete; a second signal stops at
    once, with folder marked, and go_on (e.g. 'run the command again with --overwrite').
    """
    complete = False
    try:
        with signals_held():
            write_json(folder / "config.json", {**record, "interrupted": WRITING})
            yield
            write_json(folder / "config.json", record)
            complete = True
    except KeyboardInterrupt:
        if complete:
            raise Interrupted(
                f"interrupted while writing the outputs, which were finished first: {folder} "
                "is complete"
            ) from None
        raise Interrupted(
            f"interrupted while writing the outputs: {folder} is unfinished, as its "
            f"config.json says; {go_on}"
        ) from None


HOLDING = "stopping once the files being written are complete; press Ctrl-C again to stop now"


@contextlib.contextmanager
def signals_held():
    """Ctrl-C, SIGTERM and SIGHUP wait until the block ends, then take effect as they would
    have (through the handlers in place before: the CLI's raise KeyboardInterrupt); a second
    one takes effect at once. Outside the main thread, where Python delivers no signal, the
    block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held, previous = [], {}

    def hold(number, frame):
        if held:  # asked twice: stop now
            deliver(number, previous)
        held.append(number)
        # A report's last writes can take seconds: say why nothing happens yet.
        print(HOLDING, file=sys.stderr, flush=True)

    for number in stop_signals():
        if signal.getsignal(number) is not signal.SIG_IGN:  # ignored (nohup): nothing to hold
            previous[number] = signal.signal(number, hold)
    try:
        yield
    finally:
        restore(previous)
    if held:
        deliver(held[0], previous)


def restore(handlers: dict) -> None:
    for number, handler in handlers.items():
        signal.signal(number, handler)


def deliver(number: int, handlers: dict) -> None:
    """Signal `number` as if it arrived now, under `handlers` (restored first)."""
    restore(handlers)
    signal.raise_signal(number)  # runs the handler, or the default action (SIGTERM: exit)


DPI = 200  # print quality: a 7-inch panel is 1400 pixels wide


def save_figure(fig, path: Path) -> Path:
    """fig as a PNG at path, closed. Characters its font lacks (a folder named 数据 in a
    legend) are one warning line, not matplotlib's two lines per character."""
    import matplotlib.pyplot as plt

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            written = write_atomic(
                path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
            )
    finally:
        plt.close(fig)
    glyphs = [w for w in caught if MISSING_GLYPH.search(str(w.message))]
    for w in caught:
        if w not in glyphs:  # as they were, through the caller's filters
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if glyphs:
        warn(f"{path}: some characters of its text are not in matplotlib's font and show as boxes")
    return written


# matplotlib's UserWarning: 'Glyph 25454 (...) missing from font(s) DejaVu Sans.' (3.9 on;
# 'missing from current font.' before)
MISSING_GLYPH = re.compile(r"Glyph \d+ .*missing from")


def save_checkpoint(path: Path, checkpoint: dict) -> Path:
    return write_atomic(path, lambda tmp: save_torch(checkpoint, tmp))


def save_torch(checkpoint: dict, tmp: Path) -> None:
    # Through a file object of Python's: given a path, torch.save reports a full disk as
    # "enforce fail at inline_container.cc ... unexpected pos", with no errno; given a file,
    # it raises that while handling the file's OSError, which write_atomic then reports.
    with open(tmp, "wb") as file:
        torch.save(checkpoint, file)


# Whose versions every config.json records besides lenetcli, Python, torch and torchvision:
# the numbers depend on them (scikit-learn draws the validation images, scipy computes every
# p-value and interval, pandas the statistics, matplotlib draws the figures; ray if installed).
PACKAGES = ("scikit-learn", "scipy", "numpy", "pandas", "matplotlib", "ray")


def environment(device: torch.device, device_name: str) -> dict:
    """Versions and device: recorded in every config.json so results can be traced."""
    from importlib.metadata import PackageNotFoundError, version

    import torchvision

    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:  # ray, an optional extra
            continue
    return {
        "lenetcli": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,  # as the module says it: 0.29.1+cu130
        **versions,
        "platform": platform.platform(),
        "device": str(device),
        "device_name": device_name,
        "torch_threads": torch.get_num_threads(),
    }


def run_record(command: str, options: dict, env: dict, data: dict) -> dict:
    return {
        "command": command,
        "argv": sys.argv,
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "options": options,
        "environment": env,
        "data": data,
    }
