"""Every option of the commands that train, declared once: its name, type, default, help text,
choices, and its comma-list form in `lenet sweep`.

cli.py builds the parameters of train, sweep, noise, confusion and hardsamples from these
declarations (so no help text is written twice), and `lenet sweep` parses comma lists and
checks study-file values with them (commands/sweep.py). Defaults come from TrainConfig and
choices from config's tuples, so a new choice (a loss, an activation) shows in every help text
and is accepted everywhere once config.py lists it.

A new training option: add the field to TrainConfig, then its `Option` to TRAINING below, in
the place its help should take; the commands and study files pick it up from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from lenetcli.config import (
    ACTIVATIONS,
    BACKENDS,
    DATASET_NAMES,
    GROUP_BY,
    LOSSES,
    LR_SCHEDULES,
    OPTIMIZERS,
    POOLS,
    RAY_DATA,
    RunOptions,
    TrainConfig,
    option_name,
)
from lenetcli.errors import LenetError

DEFAULTS = TrainConfig()
RUN_DEFAULTS = RunOptions()


def one_of(choices: tuple[str, ...], notes: dict[str, str] | None = None) -> str:
    """'max or avg', 'adam or sgd (momentum 0.9)': the choices for a help text, with a note
    after those that have one. Made from config's tuples, so that the text follows them."""
    notes = notes or {}
    words = [f"{c} ({notes[c]})" if c in notes else c for c in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def number_text(value) -> str:
    """A default as the help shows it: 0.001, 0 (not 0.0), all (None: the whole split)."""
    if value is None:
        return "all"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Option:
    """One option of the command line: what cli.py turns into a typer option, and what parses
    and checks its values where they come as text (a comma list) or from a TOML file."""

    name: str  # the command's parameter: the TrainConfig or RunOptions field where there is one
    kind: type  # int, float, str, bool (a flag) or Path: the type of one value
    help: str
    default: object = None
    choices: tuple[str, ...] = ()  # offered by shell completion; TrainConfig.validate checks them
    flags: tuple[str, ...] = ()  # the option's names; default: --name-with-dashes
    metavar: str | None = None  # None: typer's (<int>, <path>, ...)
    all_is_none: bool = False  # 'all' stands for None: the whole split (subset sizes)
    # The form `lenet sweep` gives it: a comma list such as `example`, one setting per value,
    # or (one_value) a single value that every setting shares.
    example: str = ""
    list_note: str = ""  # what a list of it means, beyond the help
    one_value: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return self.flags or (option_name(self.name),)

    @property
    def flag(self) -> str:
        """The option as error messages name it: --batch-size."""
        return self.names[0]

    @property
    def is_flag(self) -> bool:
        return self.kind is bool

    def value_of(self, text: str):
        """One value from text, of this option's type; ValueError says why it is none."""
        if self.all_is_none and text.strip().lower() == "all":
            return None
        if self.kind is Path:  # Path('') is '.', the folder lenet runs in: never meant
            if not text.strip():
                raise ValueError("an empty path names no file or folder; give one")
            return Path(text)
        if self.kind is int:
            try:
                return int(text)
            except ValueError:
                also = " or all" if self.all_is_none else ""
                raise ValueError(f"'{text}' is not a whole number{also}") from None
        if self.kind is float:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"'{text}' is not a number") from None
            if not math.isfinite(value):  # a sweep's setting ids and run keys need one
                raise ValueError(f"'{text}' is not a finite number")
            return value
        return text

    def parse(self, text: str, where: str):
        """One value from text; where names it in the error ('--lr', 'study.toml')."""
        try:
            return self.value_of(text)
        except ValueError as exc:
            raise LenetError(f"{where}: {exc}") from None

    def checked(self, value, location: str):
        """A value read from a TOML file, of the type this option needs (an integer is a fine
        learning rate); location names the file and key in the error."""
        if self.all_is_none and value == "all":
            return None
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                also = ' or "all"' if self.all_is_none else ""
                raise LenetError(f"{location} must be a whole number{also}, got {value!r}")
            return value
        if self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise LenetError(f"{location} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise LenetError(f"{location} must be a finite number, got {value!r}")
            return float(value)
        if not isinstance(value, str):
            raise LenetError(f"{location} must be a text value in quotes, got {value!r}")
        return value

    def list_help(self) -> str:
        """The help of the option in `lenet sweep`, where it takes a comma list (or one value)."""
        if self.one_value:
            form = "One value, the same for every setting."
        else:
            form = f"A comma list sweeps several, e.g. {self.example}."
        parts = [self.help, form, self.list_note, f"Default: {number_text(self.default)}."]
        return " ".join(part for part in parts if part)

    def one_completion(self, incomplete: str) -> list[str]:
        """What shell completion offers where the option takes one value (lenet train's
        options): the choices that start with what is typed, and no list."""
        return [choice for choice in self.choices if choice.startswith(incomplete)]

    def completions(self, incomplete: str) -> list[str]:
        """What shell completion offers for the value typed so far: the choices that start
        with it; after a comma (a sweep's list), the choices for the item after it, but for
        those listed already (a list names each value once)."""
        done, comma, item = incomplete.rpartition(",")
        head, listed = done + comma, set(done.split(","))
        return [
            head + choice
            for choice in self.choices
            if choice.startswith(item) and choice not in listed
        ]


def subset(which: str, example: str) -> Option:
    """--train-subset and --test-subset: a number of images, or all."""
    return Option(
        f"{which}_subset",
        int,
        f"{which.capitalize()} on a class-balanced subset of N images (as many of each class); all: the "
        "whole split.",
        metavar="N",
        all_is_none=True,
        example=example,
    )


# --------------------------------------------------------------------------- what to train

SCHEDULE_NOTES = {  # TrainConfig.lr_at
    "cosine": "down to lr/100 in the last epoch",
    "step": "lr/10 from the middle epoch, lr/100 from three quarters, as MultiStepLR",
}

# Every TrainConfig field, in the order the help lists them; defaults from TrainConfig.
TRAINING: dict[str, Option] = {
    option.name: replace(option, default=getattr(DEFAULTS, option.name))
    for option in [
        Option(
            "dataset",
            str,
            f"{one_of(DATASET_NAMES, {'digits': 'scikit-learn, no download'})}.",
            choices=DATASET_NAMES,
            example="mnist,fashion-mnist",
            list_note="Every setting runs on each dataset listed.",
        ),
        Option("epochs", int, "Training epochs.", example="10,15"),
        Option("lr", float, "Learning rate.", example="0.001,0.005"),
        Option(
            "lr_schedule",
            str,
            f"{one_of(LR_SCHEDULES, SCHEDULE_NOTES)}.",
            choices=LR_SCHEDULES,
            example="constant,cosine",
        ),
        Option("batch_size", int, "Training batch size.", example="32,8"),
        Option(
            "optimizer",
            str,
            f"{one_of(OPTIMIZERS, {'sgd': 'momentum 0.9'})}.",
            choices=OPTIMIZERS,
            example="adam,sgd",
        ),
        Option("weight_decay", float, "L2 weight decay.", example="0,0.0005"),
        Option(
            "loss",
            str,
            f"{one_of(LOSSES)}; mse and l1 compare the softmax with one-hot targets, bce each "
            "output's sigmoid (binary cross-entropy).",
            choices=LOSSES,
            example="cross-entropy,mse",
        ),
        Option(
            "activation", str, f"{one_of(ACTIVATIONS)}.", choices=ACTIVATIONS, example="relu,tanh"
        ),  # fmt: skip
        Option("pool", str, f"{one_of(POOLS)} pooling.", choices=POOLS, example="max,avg"),
        Option(
            "seed",
            int,
            "Seed of the first model; repeats use seed, seed+1, ...",
            example="42,1000",
        ),
        # One value in a sweep: settings that differ by repeats alone would train their first
        # seeds twice (a later --resume with more repeats adds seeds instead).
        Option(
            "repeats", int, "Models trained with consecutive seeds.", metavar="N", one_value=True
        ),  # fmt: skip
        subset("train", "1000,5000,all"),
        subset("test", "500,1000"),
        Option(
            "val_split",
            float,
            "Hold out this share of the training images (stratified by class, the same for "
            "every seed) to validate on each epoch, e.g. 0.1; 0 holds none out.",
            example="0,0.1",
            list_note="Where every setting of a dataset holds some out, summary.csv picks the "
            "best setting by validation accuracy.",
        ),
    ]
}

# --------------------------------------------------------------------------- how to run

# Defaults from RunOptions (config.py); --out's help names each command's default folder.
RUNNING: dict[str, Option] = {
    option.name: option
    for option in [
        Option(
            "device",
            str,
            "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps.",
            default=RUN_DEFAULTS.device,
            choices=("auto", "cpu", "cuda", "mps"),
        ),
        Option(
            "data_dir",
            Path,
            "Dataset folder (torchvision layout). Default: $LENET_DATA_DIR, else "
            "~/.cache/lenetcli/data.",
        ),
        Option("no_download", bool, "Never download missing files.", default=False),
        Option(
            "mirror",
            str,
            "Base URL of a mirror to download the datasets from (a lab's local copy); the MD5 "
            "sums are checked all the same. Default: $LENET_MIRROR, else the official mirrors.",
            metavar="URL",
        ),
        Option("out", Path, "Output folder."),  # see out_option
        Option(
            "overwrite",
            bool,
            "Replace an earlier output of the same command in --out.",
            default=False,
        ),
        Option(
            "quiet",
            bool,
            "Print nothing but errors and warnings.",
            default=False,
            flags=("--quiet", "-q"),
        ),
        Option(
            "group_size",
            int,
            "Most models trained at once as one group. Default: 10 on the CPU, 64 on a GPU "
            "(fewer if memory is small).",
        ),
        Option(
            "group_by",
            str,
            "shape: runs of any settings that differ only in seed, learning rate, weight decay "
            "or training labels train as one group (fastest); setting: each setting's runs "
            "apart, as lenetcli 0.1 grouped them.",
            default=RUN_DEFAULTS.group_by,
            choices=GROUP_BY,
        ),
        Option(
            "backend",
            str,
            "What trains the study's jobs: local (this process) or ray (Ray tasks, on a "
            "local instance or the cluster of --ray-address; pip install 'lenetcli[ray]').",
            default=RUN_DEFAULTS.backend,
            choices=BACKENDS,
        ),
        Option(
            "ray_address",
            str,
            "With --backend ray: auto, HOST:PORT or ray://HOST:PORT joins that cluster. "
            "Default: a Ray instance on this machine, started and stopped by the command.",
            metavar="ADDRESS",
        ),
        Option("task_cpus", float, "With --backend ray: CPUs per task (one job). Default: 1."),
        Option(
            "task_gpus",
            float,
            "With --backend ray on a GPU: GPUs per task, a fraction lets small groups share "
            "one. Default: 0.25.",
        ),
        Option(
            "ray_data",
            str,
            "With --backend ray: driver sends the datasets once; workers read them from "
            "--data-dir (a shared file system) or their own cache.",
            default=RUN_DEFAULTS.ray_data,
            choices=RAY_DATA,
        ),
        Option(
            "no_graph",
            bool,
            "On CUDA, run steps eagerly instead of replaying a CUDA graph.",
            default=False,
        ),
        Option(
            "resume",
            bool,
            "Continue the study in --out (refused where --out holds none): runs already "
            "finished there are kept, not trained again.",
            default=False,
        ),
        Option(
            "dry_run",
            bool,
            "Print the plan (jobs, runs per job, model-epochs and, where a cost is known, an "
            "ETA) and stop, the dataset files checked as the run checks them; nothing is "
            "trained, downloaded or written.",
            default=False,
        ),
        # lenet report --study: the course study from a study file (commands/course/)
        Option(
            "study",
            bool,
            "Run a study file with sections into --out and write its report: the file is "
            "the argument (none: the shipped LeNet-5 course, see --print-study).",
            default=False,
        ),
        Option(
            "print_study",
            bool,
            "Print the shipped LeNet-5 course study file, to copy and edit, and stop.",
            default=False,
        ),
        Option(
            "profile",
            str,
            "With --study: full (the file as written) or another profile the file declares, "
            "such as the shipped study's quick (small subsets, few epochs, 2 repeats).",
            default="full",
            choices=("full", "quick"),
        ),
        Option(
            "sections",
            str,
            "With --study: the sections to run, by number, e.g. 1,4 (a section that builds "
            "on others needs them run too, or in --out already); the report shows every "
            "section --out holds. Default: all.",
            metavar="LIST",
        ),
        # -q, not its long name: a help line naming --quiet would read as the flag itself
        Option(
            "json_output",
            bool,
            "Print results.json (the results as JSON) to stdout as the last thing the command "
            "does; add -q to print nothing else, for jq and scripts.",
            default=False,
            flags=("--json",),
        ),
    ]
}

# Where each command writes when --out is not given (outputs/files.py: default_folder).
DEFAULT_OUT = {
    "train": "runs/train-<dataset>-<time>",
    "sweep": "runs/sweep-<time>",
    "noise": "runs/noise-<dataset>-<time>",
    "confusion": "runs/confusion-<datasets>-<time>",
    "hardsamples": "runs/hardsamples-<datasets>-<time>",
    "report": "runs/report-<time>",
}


def out_option(command: str) -> Option:
    """--out as a command shows it: its default folder named."""
    out = RUNNING["out"]
    return replace(out, help=f"{out.help} Default: {DEFAULT_OUT[command]}.")


def declared(name: str, command: str) -> Option:
    """The declaration of an option of command, by its parameter name."""
    if name == "out":
        return out_option(command)
    if name in TRAINING:
        return TRAINING[name]
    return RUNNING[name]
