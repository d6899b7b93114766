"""The typed objects that travel through lenet: `TrainConfig` (what to train, validated before
anything runs) and `RunOptions` (how to run it: device, data, output), with their checks."""

from __future__ import annotations

import math
import os
import urllib.parse
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from lenetcli.errors import LenetError, unknown_choice

SEVERAL = "run once for each, or compare them with lenet sweep"  # a list of a training option

# Names only: model.py maps them to functions. Importing it here would load torch for
# everything that reads a configuration, `lenet --help` included.
DATASET_NAMES = ("mnist", "fashion-mnist", "cifar10", "digits")  # data.DATASETS describes each
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leakyrelu", "elu")
POOLS = ("max", "avg")
OPTIMIZERS = ("adam", "sgd")
LOSSES = ("cross-entropy", "mse", "l1", "bce")
LR_SCHEDULES = ("constant", "cosine", "step")  # see TrainConfig.lr_at
GROUP_BY = ("shape", "setting")  # RunOptions.group_by
BACKENDS = ("local", "ray")  # RunOptions.backend: what trains a study's jobs
RAY_DATA = ("driver", "workers")  # RunOptions.ray_data: who reads the datasets on Ray
# TrainConfig fields added after the first release: a run that leaves them at their defaults
# is the run an earlier lenetcli made (same run key; what a folder written before them means).
ADDED_FIELDS = ("val_split", "lr_schedule")
# torch's CPU generator keeps 32 bits of a seed: 0 and 2**32 would give the same run.
MAX_SEED = 2**32 - 1


MAX_REPEATS = 10_000


def check_seed_range(option: str, first: int, count: int) -> None:
    """Seeds first, first+1, ..., first+count-1 must all lie in 0..MAX_SEED."""
    last = first + count - 1
    if first < 0 or last > MAX_SEED:
        within = f" (with {count} repeats, up to {MAX_SEED - count + 1})" if count > 1 else ""
        raise LenetError(
            f"{option} must be a whole number from 0 to {MAX_SEED}{within}, got {first}"
        )


def check_positive(option: str, value: int, default: int) -> None:
    """A whole-number option that must be 1 or more, with its default as the fix."""
    if value < 1:
        raise LenetError(
            f"{option} must be a positive whole number, got {value}; e.g. {default}, the default"
        )


def exact(value: float) -> str:
    """A float as written in a setting's name: exact (repr), so that two values never share a
    name, but 1000 rather than 1000.0."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def option_name(field: str) -> str:
    """The command-line option of a TrainConfig field: batch_size -> --batch-size."""
    return "--" + field.replace("_", "-")


def comma_items(option: str, text: str, example: str = "1,2") -> list[str]:
    """The items of an option's comma list, stripped; an empty list or item is an error."""
    if not text.strip():
        raise LenetError(f"{option} is empty; give a value or a comma list such as {example}")
    items = [item.strip() for item in text.split(",")]
    if "" in items:
        raise LenetError(
            f"{option} '{text}' has an empty item; separate values by single commas, e.g. {example}"
        )
    return items


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training configuration (repeats share all but the seed)."""

    dataset: str = "mnist"
    epochs: int = 15
    lr: float = 0.001
    batch_size: int = 32
    optimizer: str = "adam"
    weight_decay: float = 0.0
    loss: str = "cross-entropy"
    activation: str = "relu"
    pool: str = "max"
    seed: int = 42
    repeats: int = 1
    train_subset: int | None = None
    test_subset: int | None = None
    val_split: float = 0.0  # share of the training images held out for validation
    lr_schedule: str = "constant"

    def __post_init__(self):
        # -0.0 equals 0.0 but is written '-0' in config.json and runs.csv: store a plain zero.
        for name in ("weight_decay", "val_split"):
            if getattr(self, name) == 0:
                object.__setattr__(self, name, 0.0)

    @property
    def seeds(self) -> list[int]:
        """Repeats use seeds seed, seed+1, ..., seed+repeats-1."""
        return [self.seed + i for i in range(self.repeats)]

    def lr_at(self, epoch: int) -> float:
        """The learning rate of an epoch (1 to epochs): constant; cosine, from lr down along
        half a cosine to lr/100 in the last epoch; or step, lr divided by 10 from the middle
        epoch on (epochs // 2 + 1) and by 100 from epoch 3 * epochs // 4 + 1, as torch's
        MultiStepLR with those milestones (the first never before epoch 2, the second at
        least an epoch after the first)."""
        if self.lr_schedule == "cosine":
            done = (epoch - 1) / max(1, self.epochs - 1)
            return self.lr * (0.01 + 0.99 * (1 + math.cos(math.pi * done)) / 2)
        if self.lr_schedule == "step":
            first = max(1, self.epochs // 2)
            second = max(first + 1, 3 * self.epochs // 4)
            done = epoch - 1
            return self.lr * (1.0 if done < first else 0.1 if done < second else 0.01)
        return self.lr

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def validate(self) -> TrainConfig:
        """Raise LenetError naming the first bad value; return self so calls can chain."""
        choices = {
            "dataset": DATASET_NAMES,
            "optimizer": OPTIMIZERS,
            "loss": LOSSES,
            "activation": ACTIVATIONS,
            "pool": POOLS,
            "lr_schedule": LR_SCHEDULES,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise unknown_choice(name, value, allowed, SEVERAL)
        for name in ("epochs", "batch_size", "repeats"):
            check_positive(option_name(name), getattr(self, name), getattr(TrainConfig, name))
        if self.repeats > MAX_REPEATS:  # the seeds are listed: billions would fill the memory
            raise LenetError(
                f"--repeats must be at most {MAX_REPEATS} (runs per setting), got {self.repeats}"
            )
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise LenetError(
                f"--lr must be a positive finite number, got {self.lr}; e.g. {TrainConfig.lr}, "
                "the default"
            )
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise LenetError(
                f"--weight-decay must be a finite number, zero or positive, got "
                f"{self.weight_decay}; e.g. 0 (none), the default"
            )
        if not (0 <= self.val_split < 1):  # also refuses nan
            raise LenetError(
                f"--val-split must be a fraction from 0 (no validation set) up to but not "
                f"including 1, e.g. 0.1, got {self.val_split}"
            )
        check_seed_range("--seed", self.seed, self.repeats)
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise LenetError(
                    f"{option_name(name)} must be a positive whole number, got {value}; give "
                    "all to use every image"
                )
        return self


# The fields that make one setting differ from another: all but where it trains (dataset)
# and which runs it has (seed, repeats). runs.csv's columns, a study file's setting keys.
HYPERPARAMETERS = [f for f in TrainConfig.field_names() if f not in ("dataset", "seed", "repeats")]


# --------------------------------------------------------------------------- how to run

DATA_DIR_ENV = "LENET_DATA_DIR"
MIRROR_ENV = "LENET_MIRROR"
# torchvision downloads over HTTP(S) only: a file:// URL leaves an empty file behind
MIRROR_SCHEMES = ("http", "https")


def default_data_dir() -> Path:
    """--data-dir is absent: use $LENET_DATA_DIR, else the per-user cache folder."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lenetcli" / "data"


def check_mirror(url: str, where: str) -> str:
    """A mirror's base URL, ending in '/' so that a file's path can follow; a one-line error
    for anything torchvision cannot download from (a bare path, file://, a mistyped scheme)."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in MIRROR_SCHEMES or not parts.netloc:
        raise LenetError(
            f"{where} '{url}' is not a base URL; give one such as http://data.example.org/lenet/ "
            "(a data folder as lenet fills it, served over HTTP or HTTPS)"
        )
    return url.strip().rstrip("/") + "/"


@dataclass(frozen=True)
class RunOptions:
    """How to run, as opposed to what to train (TrainConfig). The device, the group size and
    the graph change the numbers only at the level of float rounding (docs/cli.md)."""

    data_dir: Path | None = None
    download: bool = True
    device: str = "auto"
    group_size: int | None = None
    # shape: runs of any settings that differ only in seed, lr, weight decay or training
    # labels train as one group; setting: each setting's runs apart (lenetcli 0.1's groups)
    group_by: str = "shape"
    graph: bool = True
    quiet: bool = False  # only what a download prints; not recorded
    mirror: str | None = None  # base URL to download datasets from (see download_mirror)
    # The executor of a study's jobs: this process, or Ray tasks (docs/cluster.md)
    backend: str = "local"
    ray_address: str | None = None  # None: a local Ray instance for the command
    task_cpus: float | None = None  # per Ray task; None: 1
    task_gpus: float | None = None  # per Ray task on a GPU; None: 0.25
    ray_data: str = "driver"  # driver: sent once (ray.put); workers: read from --data-dir

    def validate(self) -> RunOptions:
        """Raise LenetError for a group size below 1; return self so calls can chain."""
        if self.group_size is not None and self.group_size < 1:
            raise LenetError(
                f"--group-size must be a positive whole number, got {self.group_size}; leave it "
                "out for the device's default"
            )
        return self

    def ray_options(self) -> dict:
        return {
            "ray_address": self.ray_address, "task_cpus": self.task_cpus,
            "task_gpus": self.task_gpus, "ray_data": self.ray_data,
        }  # fmt: skip

    def data_folder(self) -> Path:
        """Where the datasets are read: --data-dir, else $LENET_DATA_DIR or the cache folder."""
        return default_data_dir() if self.data_dir is None else Path(self.data_dir).expanduser()

    def download_mirror(self) -> str | None:
        """The base URL that missing datasets are downloaded from instead of their official
        hosts: --mirror, else $LENET_MIRROR, else None (the official hosts). Checked here, so
        that a mistyped mirror is reported before anything is written."""
        if self.mirror is not None:
            return check_mirror(self.mirror, "--mirror")
        if os.environ.get(MIRROR_ENV):
            return check_mirror(os.environ[MIRROR_ENV], f"${MIRROR_ENV}")
        return None

    def to_dict(self) -> dict:
        return {
            "data_dir": None if self.data_dir is None else str(self.data_dir),
            "mirror": self.mirror,
            "download": self.download,
            "device": self.device,
            "group_size": self.group_size,
            "group_by": self.group_by,
            "backend": self.backend,
            **(self.ray_options() if self.backend == "ray" else {}),
            "graph": self.graph,
        }
