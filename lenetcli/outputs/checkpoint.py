"""The checkpoints `lenet train` writes (`make_checkpoint`), read back safely and checked
against the dataset.

torch.load runs with weights_only=True: the file may hold tensors and plain values only, so a
checkpoint from anywhere can never run code when it is read. Every problem ends in one
LenetError that names the file and what to do.
"""

from __future__ import annotations

import math
import pickle
import re
import typing
import warnings
from dataclasses import fields
from pathlib import Path

import torch

from lenetcli import __version__
from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError, one_line
from lenetcli.outputs.files import read_config, read_csv
from lenetcli.science.data import DATASETS, Dataset, DatasetSpec, check_subset, get_spec
from lenetcli.science.engine import MemberResult, architecture_for
from lenetcli.science.model import ACTIVATIONS, POOLS, Architecture, LeNet5

CHECKPOINT_NAME = "model.pt"
REQUIRED_KEYS = ("format", "architecture", "dataset", "classes", "state_dict")


FORMAT = "lenetcli.checkpoint/1"  # as lenetcli 0.1.0 wrote it: the models it wrote still load
# written by development versions between 0.1.0 and 0.2.0 (a module's rename had reached it)
FORMATS = (FORMAT, "lenetcli.outputs.checkpoint/1")


def make_checkpoint(
    result: MemberResult, config: TrainConfig, data: Dataset, setting: dict | None = None
) -> dict:
    """Weights plus all that is needed to rebuild the model; plain types only (weights_only).
    setting: a study's setting the model belongs to (its name and columns, e.g. noise_rate)."""
    extra = {} if setting is None else {"setting": setting}
    return {
        "format": FORMAT,
        "lenetcli_version": __version__,
        "architecture": architecture_for(config, data.spec).to_dict(),
        "dataset": data.spec.name,
        "classes": list(data.spec.classes),
        "config": config.to_dict(),
        "seed": result.seed,
        "final_test_acc": result.metrics[-1]["test_acc"],
        "state_dict": {k: v.cpu() for k, v in result.model.state_dict().items()},
        **extra,
    }


def find_checkpoint(run_dir: Path, dataset: str | None = None) -> Path:
    """The model.pt of a run folder: <run_dir>/<dataset>/model.pt first, then <run_dir>/model.pt."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LenetError(
            f"run folder {run_dir} does not exist; give a folder written by `lenet train` to --from"
        )
    candidates = [run_dir / CHECKPOINT_NAME]
    if dataset is not None:
        candidates.insert(0, run_dir / dataset / CHECKPOINT_NAME)
    for path in candidates:
        if path.is_file():
            return path
    looked = " or ".join(str(p) for p in candidates)
    if (run_dir / "runs.csv").is_file():
        best = best_study_model(run_dir, dataset)
        which = f"e.g. {best}, of its best setting" if best else "one of its models/*/seed-*.pt"
        raise LenetError(
            f"{run_dir} is a study (sweep or noise), with one model per run: give one to "
            f"--checkpoint, {which}"
        )
    nested = sorted(p.parent.name for p in run_dir.glob(f"*/{CHECKPOINT_NAME}"))
    if nested and dataset is None:
        raise several_models(run_dir, nested)
    if (read_config(run_dir) or {}).get("command") == "train":  # stopped before its model
        raise LenetError(
            f"run folder {run_dir} holds a lenet train that did not finish (no {looked}); "
            f"train it again (lenet train ... --out {run_dir} --overwrite), or give another"
        )
    raise LenetError(
        f"no checkpoint in run folder {run_dir} (looked for {looked}); give a folder written by "
        f"`lenet train`, or a checkpoint file with --checkpoint"
    )


def several_models(run_dir: Path, folders: list[str]) -> LenetError:
    """A folder holding models in subfolders, and no model.pt of its own: lenet train on several
    datasets writes <dataset>/model.pt, which --dataset picks; other subfolders (two runs kept
    side by side, a/ and b/) are no datasets, and only --from one of them works."""
    first = f"--from {run_dir / folders[0]}"
    if all(name in DATASETS for name in folders):
        return LenetError(
            f"{run_dir} holds one model per dataset ({', '.join(folders)}); add --dataset "
            f"{','.join(folders)}, or give {first}"
        )
    return LenetError(
        f"{run_dir} holds no model.pt, but its subfolders {', '.join(folders)} do; give one of "
        f"them, e.g. {first}"
    )


def best_study_model(run_dir: Path, dataset: str | None = None) -> Path | None:
    """The first seed's model of a study's best setting (on dataset, if given), if its
    summary.csv says which and the model is there."""
    import pandas as pd

    try:
        summary = read_csv(run_dir / "summary.csv")
        best = summary[(summary["best"] == 1) & (dataset is None or summary["dataset"] == dataset)]
        row = best.iloc[0]
    except (OSError, ValueError, KeyError, IndexError, pd.errors.ParserError):
        return None
    found = seed_models(run_dir / "models" / f"{row['dataset']}-{row['setting']}")
    return found[0] if found else None


SEED_MODEL = re.compile(r"seed-([0-9]+)\.pt")  # ASCII digits: int() refuses '²', isdigit() not


def seed_models(folder: Path) -> list[Path]:
    """A study setting's models, models/<dataset>-<setting>/seed-S.pt, by seed; other files
    there are not lenet's and are left out."""
    found = [path for path in folder.glob("seed-*.pt") if SEED_MODEL.fullmatch(path.name)]
    return sorted(found, key=seed_of)


def seed_of(path: Path) -> int:
    """The seed of a model file that seed_models found."""
    return int(SEED_MODEL.fullmatch(path.name).group(1))


def load_checkpoint(path: Path, dataset: str | None = None) -> tuple[LeNet5, dict]:
    """The model (on the CPU, in eval mode) and the checkpoint dict, checked against dataset.

    dataset None accepts the checkpoint's own dataset, as long as the tool knows it.
    """
    path = Path(path)
    checkpoint = read_checkpoint_file(path)
    check_keys(path, checkpoint)
    check_structure(path, checkpoint)
    spec = get_spec(dataset) if dataset is not None else known_spec(path, checkpoint)
    if checkpoint["dataset"] != spec.name:
        raise LenetError(
            f"checkpoint {path} is a model of {checkpoint['dataset']}, not {spec.name}; give a "
            f"{spec.name} checkpoint or change --dataset"
        )
    try:  # the training images it says it had: config.json records how many
        check_subset(
            spec.name, "train", checkpoint.get("config", {}).get("train_subset"), "train_subset"
        )
    except LenetError as exc:
        raise LenetError(
            f"checkpoint {path} is damaged: its config field {exc}; give the model.pt written "
            "by `lenet train`, or retrain"
        ) from None
    arch = architecture_of(path, checkpoint)
    check_fits(path, arch, list(checkpoint["classes"]), spec)
    model = LeNet5(arch)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise LenetError(
            f"checkpoint {path} holds weights that do not fit LeNet-5 ({one_line(exc, 2)}); "
            f"retrain with `lenet train`"
        ) from None
    return model.eval(), checkpoint


def read_checkpoint_file(path: Path) -> dict:
    if not path.exists():
        raise LenetError(
            f"checkpoint {path} does not exist; give the model.pt written by `lenet train`"
        )
    if path.is_dir():
        raise LenetError(f"checkpoint {path} is a folder; give its model.pt, or use --from {path}")
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols on foreign files; the error below says enough
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's safe unpickler met a class or function: something that could run code.
        blocked = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if blocked:
            raise LenetError(
                f"checkpoint {path} refers to {blocked.group(1)}, which could run code when "
                f"loaded; refused. Use a checkpoint written by `lenet train`"
            ) from None
        raise damaged(path, exc) from None
    except Exception as exc:  # zip, pickle and I/O errors of a damaged file all end here
        raise damaged(path, exc) from None
    if not isinstance(checkpoint, dict):
        raise LenetError(
            f"checkpoint {path} holds a {type(checkpoint).__name__}, not a lenet checkpoint; "
            f"give the model.pt written by `lenet train`"
        )
    return checkpoint


def damaged(path: Path, exc: BaseException) -> LenetError:
    # torch's unpickler error starts with advice to load with weights_only=False, which would
    # let the file run code: quote only the reason it gives after "WeightsUnpickler error:".
    reason = str(exc).split("WeightsUnpickler error:")[-1].split("Check the documentation")[0]
    quoted = one_line(reason, 1) if reason.strip() else type(exc).__name__
    return LenetError(
        f"checkpoint {path} is damaged or not a checkpoint ({quoted}); "
        f"give the model.pt written by `lenet train`, or retrain"
    )


def check_keys(path: Path, checkpoint: dict) -> None:
    if checkpoint.get("format") not in FORMATS:
        found = str(checkpoint.get("format", "none"))[:60]
        raise LenetError(
            f"checkpoint {path} has format '{found}', expected '{FORMAT}'; give the "
            f"model.pt written by `lenet train`"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise LenetError(
            f"checkpoint {path} is incomplete (no {', '.join(missing)}); retrain with `lenet train`"
        )


# What make_checkpoint writes, with the kind of each value: the commands compute with them and
# config.json records them, so a value of another kind is refused before anything is written
# (check_structure), not met later. The fields of architecture and config have their types.
ENTRY_KINDS = {
    "dataset": str,
    "classes": list,
    "architecture": dict,
    "state_dict": dict,
    "config": dict,
    "seed": int,
    "final_test_acc": float,
    "lenetcli_version": str,
    "setting": dict,
}
ARCHITECTURE_KINDS = {f.name: type(getattr(Architecture(), f.name)) for f in fields(Architecture)}
CONFIG_KINDS = typing.get_type_hints(TrainConfig)  # int, float, str, or int | None
PLAIN = (str, int, float, bool, type(None))  # the values of config and setting: JSON's
KIND_NAMES = {str: "text", int: "a whole number", float: "a number", list: "a list",
              dict: "a table of names and values", int | None: "a whole number or None",
              torch.Tensor: "a tensor of real numbers", PLAIN: "a plain value"}  # fmt: skip


def of_kind(value, kind) -> bool:
    """isinstance, except that a bool is no number, that an int is a fine float, that a
    number is finite (config.json, which records them, is JSON: it has no NaN or infinity)
    and that weights are real numbers (a complex tensor would load, its imaginary part
    dropped, into other weights than those saved)."""
    if isinstance(value, bool):
        return kind is PLAIN
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if isinstance(value, torch.Tensor):
        return kind is torch.Tensor and value.dtype.is_floating_point
    return isinstance(value, int | float if kind is float else kind)


def check_structure(path: Path, checkpoint: dict) -> None:
    """Every entry the commands read has the kind make_checkpoint writes, down to the fields
    of the architecture and of the training configuration; a one-line error otherwise."""
    entries = [
        (key, checkpoint[key], kind) for key, kind in ENTRY_KINDS.items() if key in checkpoint
    ]
    check_kinds(path, entries)  # first: the fields below are read from these
    fields_ = [("class name", name, str) for name in checkpoint["classes"]]
    fields_ += [
        (f"architecture field {name}", value, ARCHITECTURE_KINDS.get(name, PLAIN))
        for name, value in checkpoint["architecture"].items()
    ]
    fields_ += [
        (f"weights of {name}", value, torch.Tensor)
        for name, value in checkpoint["state_dict"].items()
    ]
    for table in ("config", "setting"):
        kinds = CONFIG_KINDS if table == "config" else {}
        fields_ += [
            (f"{table} field {name}", value, kinds.get(name, PLAIN))
            for name, value in checkpoint.get(table, {}).items()
        ]
    check_kinds(path, fields_)
    check_config_values(path, checkpoint.get("config", {}))


def check_kinds(path: Path, found: list[tuple]) -> None:
    """found: (what, value, kind) of entries; the first whose value is not of its kind is
    reported."""
    for what, value, kind in found:
        if not of_kind(value, kind):
            shown = repr(value)[:40] if isinstance(value, PLAIN) else f"a {type(value).__name__}"
            raise LenetError(
                f"checkpoint {path} is damaged: its {str(what)[:60]} is {shown}, expected "
                f"{KIND_NAMES[kind]}; give the model.pt written by `lenet train`, or retrain"
            )


def check_config_values(path: Path, config: dict) -> None:
    """The values of the training configuration that the commands compute with, in range."""
    in_range = {
        "repeats": lambda v: v >= 1,
        "train_subset": lambda v: v is None or v >= 1,
        "val_split": lambda v: 0 <= v < 1,
    }
    for name, fine in in_range.items():
        if name in config and not fine(config[name]):
            raise LenetError(
                f"checkpoint {path} is damaged: its config field {name} is {config[name]!r}, out "
                f"of range; give the model.pt written by `lenet train`, or retrain"
            )


def known_spec(path: Path, checkpoint: dict) -> DatasetSpec:
    try:
        return get_spec(str(checkpoint["dataset"]))
    except LenetError:
        raise LenetError(
            f"checkpoint {path} is a model of an unknown dataset '{checkpoint['dataset']}'; "
            f"give a checkpoint of mnist, fashion-mnist, cifar10 or digits"
        ) from None


def architecture_of(path: Path, checkpoint: dict) -> Architecture:
    fields = checkpoint["architecture"]
    try:
        arch = Architecture(**fields)
    except TypeError:
        raise LenetError(
            f"checkpoint {path} describes an unknown architecture ({fields!r}); retrain with "
            f"`lenet train`"
        ) from None
    known = isinstance(arch.activation, str) and isinstance(arch.pool, str)
    if not known or arch.activation not in ACTIVATIONS or arch.pool not in POOLS:
        raise LenetError(
            f"checkpoint {path} uses activation '{arch.activation}' and pool '{arch.pool}', "
            f"which this version does not know; retrain with `lenet train`"
        )
    return arch


def check_fits(path: Path, arch: Architecture, classes: list, spec: DatasetSpec) -> None:
    """The architecture must take the dataset's images and answer with its classes."""
    expected = (spec.channels, spec.size, len(spec.classes))
    found = (arch.in_channels, arch.image_size, arch.num_classes)
    if found != expected:
        raise LenetError(
            f"checkpoint {path} is a LeNet-5 for {describe(*found)}, but {spec.title} has "
            f"{describe(*expected)}; give a checkpoint trained on {spec.name}"
        )
    if classes != list(spec.classes):
        raise LenetError(
            f"checkpoint {path} names classes {classes}, not {spec.title}'s; give a checkpoint "
            f"trained on {spec.name}"
        )


def describe(channels: int, size: int, classes: int) -> str:
    return f"{channels}x{size}x{size} images and {classes} classes"
