"""`lenet noise`: label-noise settings run as a study (lenetcli.studies.study) with noisy labels.

Each noise setting (a type and a rate, or a user's matrix) is one study `Setting` whose
repeats train together: repeat r has model seed `seed + r` and its own noisy training
labels, drawn with noise seed `noise_seed + r` (see lenetcli.science.noise). Test labels are never
touched. The study machinery does the rest (resume, runs.csv, metrics.csv, summary.csv,
tables, curves); this module adds the noise: the labels hook that draws each run's labels, the
per-run columns noise_seed and achieved_noise_rate, the matrices written per setting, and
accuracy_vs_noise.png.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lenetcli.config import RunOptions, TrainConfig, check_seed_range, comma_items
from lenetcli.errors import LenetError, unknown_choice
from lenetcli.outputs.files import (
    NOISE_FILES,
    noise_files,
    previous_output,
    read_config,
    save_figure,
    write_csv,
)
from lenetcli.outputs.plots import accuracy_vs_noise_figure, confusion_figure, noise_colors
from lenetcli.outputs.results_json import print_results
from lenetcli.outputs.transition_file import read_transition_csv
from lenetcli.science.analysis import confusion_frame
from lenetcli.science.data import Dataset, data_title, get_spec
from lenetcli.science.noise import (
    DEFAULT_RATES,
    NOISE_TYPES,
    NoiseSetting,
    achieved_noise_rate,
    check_rate,
    custom_setting,
    noise_settings,
    noisy_confusion,
    sample_noisy_labels,
)
from lenetcli.studies.session import execute
from lenetcli.studies.study import Labels, Setting, Study
from lenetcli.studies.summary import figure_titles

RUN_COLUMNS = ("noise_seed", "achieved_noise_rate")
VALUES = {
    "train_acc": "Training accuracy (noisy)",
    "train_acc_clean": "Training accuracy (true)",
    "test_acc": "Testing accuracy",
}


# --------------------------------------------------------------------------- the options' text

PAIR_ITEM = re.compile(r"[0-9]+:[0-9]+")  # an item of --pairs, TRUE:NOISY


def parse_pairs(text: str) -> dict[int, int]:
    """'0:1,1:2' -> {0: 1, 1: 2}: the --pairs option, each true class to its noisy class."""
    pairs: dict[int, int] = {}
    for item in comma_items("--pairs", text, "0:1,1:2"):
        source, sep, target = item.partition(":")
        # class numbers in ASCII digits: str.isdigit() also takes '²', which int() refuses
        if not (sep and PAIR_ITEM.fullmatch(source.strip() + ":" + target.strip())):
            raise LenetError(
                f"--pairs item '{item}' is not of the form TRUE:NOISY; write e.g. --pairs 0:1,1:2"
            )
        source_class, target_class = int(source), int(target)
        if source_class in pairs:
            raise LenetError(
                f"--pairs maps class {source_class} twice; give each true class at most one noisy class"
            )
        pairs[source_class] = target_class
    return pairs


def parse_noise_types(text: str) -> list[str]:
    """'symmetric,pair' -> ['symmetric', 'pair']: known types, each once."""
    types = comma_items("--noise-type", text, "symmetric,pair")
    for noise_type in types:
        if noise_type not in NOISE_TYPES:
            raise unknown_choice("--noise-type", noise_type, NOISE_TYPES)
    if len(set(types)) != len(types):
        raise LenetError(f"--noise-type '{text}' lists a type twice; give each type once")
    return types


def parse_rates(text: str) -> list[float]:
    """'0,0.2,0.4' -> [0.0, 0.2, 0.4]: fractions in [0, 1), each once, in increasing order."""
    rates = []
    for part in comma_items("--noise-rate", text, "0,0.2,0.4"):
        try:
            rate = float(part)
        except ValueError:
            raise LenetError(
                f"--noise-rate '{part}' is not a number; write fractions such as --noise-rate 0,0.2,0.4"
            ) from None
        rates.append(check_rate(rate))
    if len(set(rates)) != len(rates):
        raise LenetError(f"--noise-rate '{text}' lists a rate twice; give each rate once")
    return sorted(rates)


# --------------------------------------------------------------------------- the study


def run_noise_seed(setting: Setting, seed: int, noise_seed: int) -> int:
    """Repeat r (model seed seed + r) draws its labels with noise seed noise_seed + r."""
    return noise_seed + (seed - setting.config.seed)


def study_setting(config: TrainConfig, noise: NoiseSetting, noise_seed: int) -> Setting:
    """A study setting whose run keys also cover what decides the draws: seed and matrix.

    A run's key holds its own model seed, not the study's first one, yet its noise seed
    depends on both (run_noise_seed): the first seed joins the key, unless it is the
    default, so that keys written before it joined still match."""
    hidden = {"noise_seed": noise_seed, "transition": noise.transition.tolist()}
    if config.seed != TrainConfig().seed:
        hidden["first_seed"] = config.seed
    return Setting(
        noise.label,
        config,
        columns={"noise_type": noise.noise_type, "noise_rate": noise.rate},
        hidden=hidden,
    )


def matrix_frame(matrix: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Row i is true class i, column j noisy class j, laid out as confusion.csv is: first column
    `true` (the class name), then a column per class. --transition reads it back."""
    return confusion_frame(np.asarray(matrix), classes)


def write_noise_files(
    out: Path, noise: NoiseSetting, true: torch.Tensor, noisy: torch.Tensor, data: Dataset
) -> None:
    """The matrix asked for and the one realised, over all repeats' draws together."""
    classes = list(data.spec.classes)
    write_csv(out / f"transition-{noise.label}.csv", matrix_frame(noise.transition, classes))
    realised = noisy_confusion(true.repeat(len(noisy)), noisy.flatten(), len(classes))
    write_csv(out / f"noisy-confusion-{noise.label}.csv", matrix_frame(realised, classes))
    changed = achieved_noise_rate(true.expand_as(noisy), noisy)
    draws = "1 draw" if len(noisy) == 1 else f"{len(noisy)} draws"
    title = (
        f"Training labels under {describe(noise)}\n"
        f"{data_title(data)}: {draws} of {noisy.shape[1]:,} labels, {100 * changed:.1f}% changed"
    )
    # Rows sum to 1, as in lenet confusion's default: the same figure, other axis names.
    names = ("noisy label", "true label")
    figure = confusion_figure(realised, classes, "true", title, names)
    save_figure(figure, out / f"noisy-confusion-{noise.label}.png")


def describe(noise: NoiseSetting) -> str:
    """'symmetric noise at rate 0.2', for titles."""
    if noise.noise_type == "none":
        return "no noise (clean baseline)"
    if noise.noise_type == "transition":
        return f"the --transition matrix (mean flip rate {noise.rate:.3g})"
    return f"{noise.noise_type} noise at rate {noise.rate:g}"


@dataclass(frozen=True)
class NoisyLabels:
    """Study.labels and Study.setting_files for label noise.

    Repeat r of a setting draws its labels with noise seed noise_seed + r (run_noise_seed):
    a draw depends on its noise seed alone, so a run pending on resume, or trained in another
    group or process, gets exactly the labels it would have had. The setting's files show the
    draws of all its repeats together, also when only some are pending.
    """

    noise: dict[str, NoiseSetting]  # by setting name
    noise_seed: int

    def draw(self, setting: Setting, seed: int, data: Dataset) -> tuple[int, torch.Tensor]:
        """The noise seed of one run and its training labels."""
        noise_seed = run_noise_seed(setting, seed, self.noise_seed)
        return noise_seed, sample_noisy_labels(
            data.train.labels, self.noise[setting.name].transition, noise_seed
        )

    def __call__(self, setting: Setting, seed: int, data: Dataset) -> Labels:
        noise_seed, noisy = self.draw(setting, seed, data)
        rate = achieved_noise_rate(data.train.labels, noisy)
        return Labels(noisy, {"noise_seed": noise_seed, "achieved_noise_rate": rate})

    def setting_files(self, setting: Setting, data: Dataset, out: Path) -> None:
        draws = [self.draw(setting, seed, data)[1] for seed in setting.config.seeds]
        write_noise_files(
            out, self.noise[setting.name], data.train.labels, torch.stack(draws), data
        )


@dataclass(frozen=True)
class AccuracyVsNoise:
    """Study.figures of label noise: accuracy_vs_noise.png, final test accuracy per rate.
    dropped: files of settings that an earlier session wrote and this one leaves out; they go
    with the last writes, while the folder is still held (as a renamed setting's tables do)."""

    dataset: str
    dropped: frozenset[Path] = frozenset()

    def __call__(self, study: Study, summary: pd.DataFrame, out: Path) -> None:
        shown = figure_titles(study, out).get(self.dataset, self.dataset)
        title = f"LeNet-5 on {shown}: final test accuracy under label noise"
        save_figure(accuracy_vs_noise_figure(summary, title), out / "accuracy_vs_noise.png")
        for path in self.dropped:
            if path.is_file() and not path.is_symlink():
                path.unlink()


def noise_palette(settings: list[Setting]) -> dict:
    """`Study.palette` of label noise: a colour family per noise type, darker at higher rates."""
    return noise_colors(
        {s.name: (s.columns["noise_type"], s.columns["noise_rate"]) for s in settings}
    )


def noise_study(
    config: TrainConfig,
    settings: list[NoiseSetting],
    noise_seed: int,
    options: RunOptions,
    record: dict,
) -> Study:
    labels = NoisyLabels({noise.label: noise for noise in settings}, noise_seed)
    return Study(
        "noise",
        [study_setting(config, noise, noise_seed) for noise in settings],
        options,
        labels=labels,
        setting_files=labels.setting_files,
        figures=AccuracyVsNoise(config.dataset),
        run_columns=RUN_COLUMNS,
        values=dict(VALUES),
        palette=noise_palette,
        record=record,
    )


def check_setting_files_free(out: Path, settings: list[NoiseSetting]) -> None:
    """--overwrite replaces the earlier study's files; a file of the user's that happens to
    bear the name of a new setting's file (transition-symmetric-0.2.csv) is refused."""
    earlier = set(previous_output(out, "noise"))
    for setting in settings:
        for name in NOISE_FILES:
            path = out / name.format(setting.label)
            if (path.exists() or path.is_symlink()) and path not in earlier:
                raise LenetError(
                    f"{path} is not a file of the earlier noise study in {out}, and this one "
                    "would write over it; move it away or choose another --out"
                )


def earlier_noise_files(out: Path, record: dict) -> set[Path]:
    """The per-setting files of the noise study in out whose settings this record lacks."""
    earlier = noise_files(read_config(Path(out)) or {}, "noise")
    now = noise_files({"options": record}, "noise")
    return {Path(out) / name for name in earlier - now}


def run_noise_study(
    config: TrainConfig,
    settings: list[NoiseSetting],
    noise_seed: int,
    options: RunOptions,
    out: Path | None,
    record: dict,
    overwrite: bool = False,
    resume: bool = False,
    inputs: list[Path] = (),
    dry_run: bool = False,
    print_json: bool = False,
    reporter=None,
) -> pd.DataFrame:
    """Run the study (see session.execute), then plot accuracy against rate; return the summary.
    With print_json (--json), print results.json last. reporter: as execute's."""
    study = noise_study(config, settings, noise_seed, options, record)
    if overwrite and out is not None:
        check_setting_files_free(Path(out), settings)
    if resume and out is not None:  # settings an earlier session wrote files for, left out now
        dropped = frozenset(earlier_noise_files(out, record))
        study = replace(study, figures=AccuracyVsNoise(config.dataset, dropped))
    default_name = f"noise-{config.dataset}"
    summary, out = execute(
        study, out, default_name=default_name, inputs=inputs, overwrite=overwrite, resume=resume,
        dry_run=dry_run, reporter=reporter,
    )  # fmt: skip
    if dry_run:  # the plan is printed; nothing was written
        return summary
    if print_json:
        print_results(out)
    return summary


# --------------------------------------------------------------------------- lenet noise


def noise_record(
    noise_type, noise_rate, pairs, transition_file, noise_seed: int, settings: list[NoiseSetting]
) -> dict:
    """What config.json records of a noise study's noise: the options as given, and each
    setting's matrix (also lenet report --study's noise section)."""
    return {
        "noise_type": noise_type,
        "noise_rate": noise_rate,
        "pairs": pairs,
        "transition_file": transition_file,
        "noise_seed": noise_seed,
        "noise_seeds": "repeat r (model seed seed + r) draws with noise seed noise_seed + r",
        "noise_settings": [
            {"setting": s.label, "noise_type": s.noise_type, "noise_rate": s.rate,
             "transition": s.transition.tolist()}
            for s in settings
        ],
    }  # fmt: skip


def run_noise(
    config: TrainConfig,
    noise_type: str | None,
    noise_rate: str | None,
    pairs: str | None,
    transition: Path | None,
    noise_seed: int,
    options: RunOptions,
    out: Path | None,
    overwrite: bool,
    resume: bool,
    dry_run: bool = False,
    print_json: bool = False,
) -> pd.DataFrame:
    """`lenet noise`: the noise settings from the options as typed, then the study."""
    # Every check of the noise options runs here, before the study checks the rest and
    # before anything is written.
    if transition is not None and (noise_type is not None or noise_rate is not None):
        raise LenetError(
            "--transition replaces --noise-type and --noise-rate; give the matrix or the types and rates, not both"
        )
    check_seed_range("--noise-seed", noise_seed, config.repeats)
    classes = list(get_spec(config.dataset).classes)
    k = len(classes)
    if transition is None:
        types = parse_noise_types(NOISE_TYPES[0] if noise_type is None else noise_type)
        default_rates = ",".join(f"{r:g}" for r in DEFAULT_RATES)
        rates = parse_rates(default_rates if noise_rate is None else noise_rate)
        pair_map = None if pairs is None else parse_pairs(pairs)
        settings = noise_settings(k, types, rates, pair_map)
    else:
        if pairs is not None:
            raise LenetError(
                "--pairs sets pair noise, which --transition replaces; give one of the two"
            )
        settings = [custom_setting(read_transition_csv(transition, k, classes))]
    transition_file = None if transition is None else str(Path(transition).resolve())
    record = noise_record(noise_type, noise_rate, pairs, transition_file, noise_seed, settings)
    inputs = [] if transition is None else [transition]
    return run_noise_study(
        config, settings, noise_seed, options, out, record, overwrite, resume, inputs,
        dry_run=dry_run, print_json=print_json,
    )  # fmt: skip
