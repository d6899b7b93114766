"""The report of a course study (`lenet report --study`): its document, built section by
section from the files the study wrote in its folder (outputs/document.py renders it)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from lenetcli import __version__
from lenetcli.commands.course.folders import (
    confusion_inputs_record,
    has_results,
    result_folders,
    section_folder,
)
from lenetcli.commands.course.spec import CourseFile, Section
from lenetcli.commands.course.tables import DATASET_TABLE_STATS
from lenetcli.outputs.document import Figure, Heading, Table, Text
from lenetcli.outputs.files import read_config, read_csv
from lenetcli.outputs.progress import clock
from lenetcli.outputs.tables import count, fmt, mean_epoch, plain, shown, shown_difference
from lenetcli.science.data import COPY_NOTE, dataset_title, unofficial_copy, with_note
from lenetcli.science.noise import CUSTOM
from lenetcli.studies import discussion
from lenetcli.studies.results import trained_runs
from lenetcli.studies.summary import best_by, best_mask, validated_datasets

TABLES = "tables"  # the report's own CSVs, in <out>/tables/


def pm(mean, std, digits: int = 2) -> str:
    return (
        fmt(mean, digits)
        if std is None or pd.isna(std)
        else f"{fmt(mean, digits)} ± {fmt(std, digits)}"
    )


@dataclass
class StudyDocument:
    """The report's blocks, built section by section from the files in out; `tables` holds
    the CSVs of the tables that are no section's file, by their name in <out>/tables/."""

    course: CourseFile
    out: Path
    record: dict
    title: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        return Path(path).relative_to(self.out).as_posix()

    def own_table(
        self, name: str, frame: pd.DataFrame, header, rows, caption, left=1, datasets=()
    ) -> Table:
        """A table of the report with its numbers in <out>/tables/<name>, named in its caption;
        datasets: those it shows (noted)."""
        self.tables[name] = frame
        caption = self.noted(f"{caption} ({TABLES}/{name})", datasets)
        return Table(header, rows, left=left, caption=caption)

    def figure(self, path: Path, caption: str, datasets=()) -> list[Figure]:
        """A figure of the study's folder, if there; datasets: those it shows (noted)."""
        caption = self.noted(f"{caption} ({self.relative(path)})", datasets)
        return [Figure(path, caption)] if path.is_file() else []

    @functools.cached_property
    def copies(self) -> set[str]:
        """The datasets the sections read from an unofficial copy of CIFAR-10 (by
        data.unofficial_copy of the sources their config.json records)."""
        data = self.data_sources()
        return {r.dataset for r in data.itertuples() if unofficial_copy(r.dataset, r.source)}

    def noted(self, text: str, datasets) -> str:
        """text with data.COPY_NOTE after it where it shows a dataset read from a copy."""
        return with_note(text, bool(self.copies & set(datasets)))

    def contents(self) -> tuple[list, dict[str, pd.DataFrame]]:
        """The report's blocks, and the CSVs of its own tables by their name in <out>/tables/:
        built together, since each table's CSV is recorded as its block is made."""
        self.tables = {}
        return self.blocks(), self.tables

    def blocks(self) -> list:
        made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        blocks = [
            Heading(self.title, 1),
            Text(
                f"Made by lenet report --study (lenetcli {__version__}) on {made}. Accuracies are "
                "in percent; mean ± std is the mean and the sample standard deviation over the "
                "seeds' models. Every table names the CSV file in this folder that holds its "
                "numbers unrounded."
            ),
            *self.setup(),
        ]
        for section in self.course.sections:
            folder = section_folder(self.out, section)
            if not folder.is_dir():
                continue
            blocks.append(Heading(f"{section.number}. {section.title}"))
            builders = {
                "sweep": self.sweep_section, "datasets": self.datasets_section,
                "confusion": self.confusion_section, "noise": self.noise_section,
            }  # fmt: skip
            blocks += builders[section.kind](section)
        return blocks + self.discussion()

    # ------------------------------------------------------------------ setup

    def setup(self) -> list:
        env = self.record.get("environment") or {}
        sections = self.record.get("sections") or {}
        paces = [entry.get("pace") or {} for entry in sections.values()]
        training = sum(p.get("seconds", 0.0) for p in paces)
        values = self.record.get("profile_values") or {}
        profile = self.record.get("profile", "full")
        replaced = (
            ", ".join(f"{k.replace('_', ' ')} {plain(v)}" for k, v in values.items())
            if values
            else "nothing (the file as written)"
        )
        rows = [
            ["Machine", str(env.get("platform", "?"))],
            ["Device", f"{env.get('device', '?')}: {env.get('device_name', '?')}"],
            ["Threads", str(env.get("torch_threads", "?"))],
            ["Versions", f"lenetcli {env.get('lenetcli', '?')}, Python {env.get('python', '?')}, "
             f"torch {env.get('torch', '?')}, torchvision {env.get('torchvision', '?')}, "
             f"scikit-learn {env.get('scikit-learn', '?')}"],
            ["Study file", str(self.record.get("study_file", "?"))],
            ["Its SHA-256", str(self.record.get("study_sha256", "?"))],
            ["Profile", f"{profile}: replaces {replaced} in every setting"
             + (" (a setting the file names keeps its name, which may say otherwise)"
                if values else "")],
            ["Training time", f"{clock(training)} in all (the sections' wall time in the "
             "sessions that trained in them)"],
        ]  # fmt: skip
        frame = pd.DataFrame(rows, columns=["item", "value"])
        blocks = [
            Heading("Setup"),
            self.own_table(
                "setup.csv", frame, ["Item", "Value"], rows, "Where and how it ran", left=2
            ),
        ]
        data = self.data_sources()
        if not data.empty:
            data_rows = [
                [dataset_title(r.dataset), r.source, count(r.train_size), count(r.test_size)]
                for r in data.itertuples()
            ]
            blocks.append(
                self.own_table(
                    "data.csv",
                    data,
                    ["Dataset", "Read from", "Training images", "Test images"],
                    data_rows,
                    "Data sources (subsets as the profile and settings ask)",
                    left=2,
                )  # fmt: skip
            )
            blocks += [Text(caveat) for caveat in data_caveats(data)]
        frame = section_times(sections, {str(s.number): s.title for s in self.course.sections})
        if not frame.empty:
            blocks.append(
                self.own_table(
                    "times.csv",
                    frame,
                    ["Section", "Training time", "Model-epochs trained", "Last session"],
                    section_time_rows(frame),
                    "Time per section: training, over every session that trained in it, and "
                    "the wall time of the last session (one that reused every run only "
                    "re-rendered)",
                )  # fmt: skip
            )
        return blocks

    def data_sources(self) -> pd.DataFrame:
        """One row per dataset and folder the sections read, from their config.json."""
        rows = []
        for section in self.course.sections:
            for folder in result_folders(self.out, section):
                record = read_config(folder) or {}
                for data in (record.get("data") or {}).get("datasets") or []:
                    rows.append(
                        {k: data.get(k) for k in ("dataset", "source", "train_size", "test_size")}
                    )
        frame = pd.DataFrame(rows, columns=["dataset", "source", "train_size", "test_size"])
        return frame.drop_duplicates().reset_index(drop=True)

    # ------------------------------------------------------------------ sweeps

    def sweep_section(self, section: Section) -> list:
        blocks = []
        for part in section.spec.parts:
            folder = section_folder(self.out, section, part)
            if part.name:
                blocks.append(Heading(f"{section.number}.{part.name}", 3))
            if not has_results(folder):
                blocks.append(Text(f"{self.relative(folder)} holds no results yet."))
                continue
            blocks += self.study_blocks(section, folder, part.name)
        return blocks

    def study_blocks(self, section: Section, folder: Path, part: str | None) -> list:
        """A study's per-setting tables (No. 1..n, Best, Mean, Std), its best setting, the
        comparisons between settings and its figures."""
        summary = read_csv(folder / "summary.csv")
        runs = trained_runs(read_csv(folder / "runs.csv"))
        stem = section.folder + (f"-{part}" if part else "")
        repeats = sorted(set(summary["n"]))
        blocks = [
            Text(
                f"{len(summary)} setting(s), {'/'.join(map(str, repeats))} seeds each, "
                f"{plural_epochs(summary)}; every file of the study is in {self.relative(folder)}/."
            )
        ]
        for dataset, rows in summary.groupby("dataset", sort=False):
            own = runs[runs["dataset"] == dataset]
            blocks.append(self.seeds_table(f"{stem}-{dataset}.csv", dataset, rows, own))
            best = rows[best_mask(rows)]
            if len(rows) > 1 and len(best):
                blocks.append(Text(best_sentence(dataset, rows, best)))
                blocks.append(
                    self.welch_table(f"{stem}-{dataset}-tests.csv", own, "final_test_acc")
                )
            if (folder / "overfitting.csv").is_file():
                blocks += self.overfitting(folder, dataset, own, stem)
        blocks += self.figure(
            folder / "compare.png",
            "Mean test accuracy per epoch of every setting",
            summary["dataset"],
        )
        for r in summary.itertuples():
            if len(summary) <= 3 or best_mask(summary).iloc[r.Index]:
                blocks += self.figure(
                    folder / "curves" / f"{r.dataset}-{r.setting}.png",
                    f"{r.setting} on {dataset_title(r.dataset)}: mean ± std over the seeds",
                    [r.dataset],
                )
        return blocks

    def seeds_table(self, name: str, dataset: str, summary: pd.DataFrame, runs) -> Table:
        """The course's layout: per setting, each seed's model (No. 1..n), then Best, Mean and
        Std of the final training and testing accuracy."""
        settings = list(summary["setting"])
        columns = {}
        # a validation column where any run holds out images (a setting without shows '–';
        # the best is chosen on validation only where every setting has them: best_mask)
        validated = "final_val_acc" in runs and runs["final_val_acc"].notna().any()
        measures = [("final_train_acc", "training"), ("final_test_acc", "testing")]
        if validated:
            measures.insert(1, ("final_val_acc", "validation"))
        for setting in settings:
            own = runs[runs["setting"] == setting].sort_values("seed")
            for value, label in measures:
                v = own[value].reset_index(drop=True)
                columns[f"{setting} {label}"] = [*v, v.max(), v.mean(), v.std()]
        n = max(len(runs[runs["setting"] == s]) for s in settings)
        labels = [*map(str, range(1, n + 1)), "Best", "Mean", "Std"]
        frame = pd.DataFrame({"No.": labels[: n + 3]})
        for key, values in columns.items():
            frame[key] = pd.Series(pad(values, n))
        rows = [[row[0], *(fmt(v) for v in row[1:])] for row in frame.itertuples(index=False)]
        caption = (
            f"{dataset_title(dataset)}: final {'training, validation and' if validated else 'training and'} "
            "testing accuracy of each seed's model (No.), the best, the mean and the std, per "
            "setting"
        )
        return self.own_table(name, frame, list(frame.columns), rows, caption, datasets=[dataset])

    def welch_table(self, name: str, runs: pd.DataFrame, value: str, lower_is_better=False):
        """Each setting against the best one (by mean as shown; on a tie the first in the
        study's order, as the discussion takes it): the difference and a two-sided Welch
        t-test of the seeds' values at the 5% level. The CSV's difference is unrounded; the
        table's is that of the means it shows."""
        samples = {s: list(g[value]) for s, g in runs.groupby("setting", sort=False)}
        means = {s: float(np.mean(v)) for s, v in samples.items()}
        best = discussion.best_first(means, higher_is_better=not lower_is_better)[0]
        tied = [s for s in means if s != best and shown(means[s]) == shown(means[best])]
        records = []
        for setting, values in samples.items():
            test = discussion.welch(samples[best], values) if setting != best else None
            records.append({
                "setting": setting, "n": len(values), "mean": means[setting],
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else np.nan,
                "against": best, "difference": abs(means[best] - means[setting]),  # from the best
                "p_value": np.nan if test is None or test.p is None else test.p,
                "significant": "" if test is None else ("yes" if test.significant else
                                                        "no" if test.p is not None else "no test"),
            })  # fmt: skip
        frame = pd.DataFrame(records)
        rows = [
            [r.setting, str(r.n), pm(r["mean"], r["std"]),
             "best" if r.setting == best else fmt(abs(shown_difference(means[best], r["mean"]))),
             "–" if pd.isna(r.p_value) else discussion.p_text(r.p_value).removeprefix("p = "),
             r.significant or "–"]
            for _, r in frame.iterrows()
        ]  # fmt: skip
        measure = value.replace("final_", "final ").replace("_acc", " accuracy").replace("_", " ")
        # "the best" here is by this table's own measure, which may differ from the setting a
        # study picked on validation accuracy: the caption names the measure.
        wording = "lowest" if lower_is_better else "highest"
        # settings whose means show alike are tied: the caption says so and which is taken
        best_text = f"{best}, tied with {', '.join(tied)} (the first is taken)" if tied else best
        caption = (
            f"{measure}: each setting against the one with the {wording} mean {measure}, "
            f"{best_text}, by a two-sided Welch t-test over the seeds at the "
            f"{discussion.ALPHA:.0%} level (uncorrected for several comparisons)"
        )
        header = ["Setting", "n", "Mean ± std", "Difference (points)", "p", "Significant"]
        on = runs["dataset"] if "dataset" in runs else ()
        return self.own_table(name, frame, header, rows, caption, datasets=on)

    def overfitting(self, folder: Path, dataset: str, runs: pd.DataFrame, stem: str) -> list:
        table = read_csv(folder / "overfitting.csv")
        table = table[table["dataset"] == dataset]
        rows = [
            [r.setting, plain(r.weight_decay), str(r.n), fmt(r.final_train_acc_mean),
             fmt(r.final_test_acc_mean), pm(r.gap_mean, r.gap_std)]
            for r in table.itertuples()
        ]  # fmt: skip
        header = ["Setting", "Weight decay", "n", "Training acc.", "Testing acc.", "Gap (points)"]
        caption = self.noted(
            "Overfitting: the train-test gap, final training minus final testing accuracy "
            f"(mean ± std over the seeds) ({self.relative(folder / 'overfitting.csv')})",
            [dataset],
        )
        gaps = runs.assign(gap=runs["final_train_acc"] - runs["final_test_acc"])
        return [
            Table(header, rows, caption=caption),
            self.welch_table(f"{stem}-{dataset}-gap-tests.csv", gaps, "gap", lower_is_better=True),
        ]

    # ------------------------------------------------------------------ datasets

    def datasets_section(self, section: Section) -> list:
        folder = section_folder(self.out, section)
        if not (folder / "datasets.csv").is_file():
            return [Text(f"{self.relative(folder)} holds no results yet.")]
        table = read_csv(folder / "datasets.csv")
        best = (self.record.get("sections") or {}).get(str(section.number), {}).get("best_of", {})
        rows = [
            [str(r.rank), dataset_title(r.dataset), r.setting, str(r.epochs), str(r.n),
             *(fmt(getattr(r, f"final_{v}_acc_{s}")) for v in ("train", "test")
               for s in DATASET_TABLE_STATS)]
            for r in table.itertuples()
        ]  # fmt: skip
        stats = [s.capitalize() for s in DATASET_TABLE_STATS]
        header = ["Rank", "Dataset", "Setting", "Epochs", "n",
                  *(f"{w} {s.lower()}" for w in ("Training", "Testing") for s in stats)]  # fmt: skip
        summary = read_csv(folder / "summary.csv")
        runs = trained_runs(read_csv(folder / "runs.csv"))
        profile_epochs = (self.record.get("profile_values") or {}).get("epochs")
        epochs = (
            "the study file's epochs on each"
            if profile_epochs is None
            else f"{profile_epochs} epochs, as profile {self.record.get('profile')} sets for all"
        )
        blocks = [
            Text(
                f"The best setting of section '{section.spec.best_of}' "
                f"({best.get('setting', '?')}) on each dataset, with {epochs}; every file is in "
                f"{self.relative(folder)}/."
            ),
            Table(
                header,
                rows,
                left=3,
                caption=self.noted(
                    "All datasets, ranked by mean final testing accuracy: mean, std, best, "
                    f"min and max over the seeds ({self.relative(folder / 'datasets.csv')})",
                    table["dataset"],
                ),
            ),  # fmt: skip
        ]
        for dataset, rows in summary.groupby("dataset", sort=False):
            blocks.append(
                self.seeds_table(
                    f"{section.folder}-{dataset}.csv",
                    dataset,
                    rows,
                    runs[runs["dataset"] == dataset],
                )  # fmt: skip
            )
        for r in summary.itertuples():
            blocks += self.figure(
                folder / "curves" / f"{r.dataset}-{r.setting}.png",
                f"{r.setting} on {dataset_title(r.dataset)}: mean ± std over the seeds",
                [r.dataset],
            )
        return blocks

    # ------------------------------------------------------------------ confusion

    def confusion_section(self, section: Section) -> list:
        blocks = []
        for dataset in section.spec.datasets:
            folder = section_folder(self.out, section) / dataset
            blocks.append(Heading(f"{section.number}.{dataset}: {dataset_title(dataset)}", 3))
            if confusion_inputs_record(folder) is None:  # none yet, or written in part
                blocks.append(Text(f"{self.relative(folder)} holds no results yet."))
                continue
            models = read_csv(folder / "models.csv")
            mean = read_csv(folder / "confusion_mean.csv").set_index("true")
            std = read_csv(folder / "confusion_std.csv").set_index("true")
            pairs = read_csv(folder / "confused_pairs.csv")
            on = [dataset]
            seeds = ", ".join(map(str, models["seed"]))
            accuracy = pm(models["test_acc"].mean(), models["test_acc"].std())
            blocks.append(
                Text(
                    self.noted(
                        f"Over {len(models)} seeds' models (seeds {seeds}) of the best setting, "
                        f"test accuracy {accuracy}%.",
                        on,
                    )
                )
            )
            cells = [
                [str(true), *(pm(100 * mean.loc[true, c], 100 * std.loc[true, c], 1)
                              for c in mean.columns)]
                for true in mean.index
            ]  # fmt: skip
            blocks.append(
                Table(
                    ["True \\ predicted", *map(str, mean.columns)],
                    cells,
                    caption=self.noted(
                        "Confusion matrix, in percent of each true class: mean ± std over "
                        f"the seeds ({self.relative(folder / 'confusion_mean.csv')}, "
                        f"{self.relative(folder / 'confusion_std.csv')})",
                        on,
                    ),
                )  # fmt: skip
            )
            blocks += self.figure(folder / "confusion.png", "Confusion matrix, mean over seeds", on)
            pair_rows = [
                [str(p.rank), f"{p.true_class} → {p.predicted_class}",
                 pm(100 * p.rate_mean, 100 * p.rate_std), f"{p.seeds_confused} of {p.seeds}"]
                for p in pairs.itertuples()
            ]  # fmt: skip
            blocks.append(
                Table(
                    [
                        "Rank",
                        "True → predicted",
                        "Rate (% of the true class)",
                        "Seeds confusing it",
                    ],
                    pair_rows,
                    left=2,
                    caption=self.noted(
                        f"The most confused pairs ({self.relative(folder / 'confused_pairs.csv')})",
                        on,
                    ),
                )  # fmt: skip
                if pair_rows
                else Text(self.noted("No seed's model confused any pair of classes.", on))
            )
            hard = read_csv(folder / "hard_samples.csv")
            if len(hard):
                blocks.append(
                    Text(
                        f"The hard samples of these pairs, ordered by how many seeds misclassify "
                        f"each image, then by the mean probability of the wrong class, are in "
                        f"{self.relative(folder / 'hard_samples.csv')} ({len(hard)} rows); a "
                        "gallery per pair follows."
                    )
                )
            for group in hard["group"].drop_duplicates() if len(hard) else []:
                blocks += self.figure(
                    folder / "hard" / f"{group}.png", f"Hard samples: {group}", on
                )
        return blocks

    # ------------------------------------------------------------------ noise

    def noise_section(self, section: Section) -> list:
        folder = section_folder(self.out, section)
        if not has_results(folder):
            return [Text(f"{self.relative(folder)} holds no results yet.")]
        summary = read_csv(folder / "summary.csv")
        rows = [
            [r.setting, r.noise_type, plain(r.noise_rate), str(r.n),
             pm(r.final_train_acc_mean, r.final_train_acc_std),
             pm(r.final_train_acc_clean_mean, r.final_train_acc_clean_std),
             pm(r.final_test_acc_mean, r.final_test_acc_std)]
            for r in summary.itertuples()
        ]  # fmt: skip
        columns = ["setting", "noise_type", "noise_rate", "n", "final_train_acc_mean",
                   "final_train_acc_std", "final_train_acc_clean_mean", "final_train_acc_clean_std",
                   "final_test_acc_mean", "final_test_acc_std"]  # fmt: skip
        header = ["Setting", "Noise", "Rate", "n", "Training acc. (noisy labels)",
                  "Training acc. (true labels)", "Testing acc."]  # fmt: skip
        blocks = [
            Text(f"Every file of the noise study is in {self.relative(folder)}/."),
            self.own_table(
                f"{section.folder}-accuracy.csv",
                summary[columns],
                header,
                rows,
                "Final accuracy against the noise rate: mean ± std over the seeds",
                left=3,
                datasets=summary["dataset"],
            ),  # fmt: skip
            *self.figure(
                folder / "accuracy_vs_noise.png",
                "Final test accuracy against the noise rate",
                summary["dataset"],
            ),
        ]
        shown = shown_noise_settings(summary)
        for r in shown.itertuples():
            blocks += self.matrices(folder, r.setting, [r.dataset])
        if (folder / "memorisation.csv").is_file():
            memo = memorisation_rows(read_csv(folder / "memorisation.csv"))
            blocks.append(
                Table(
                    [
                        "Setting",
                        "Epochs",
                        "Final test acc.",
                        "Peak test acc.",
                        "Peak epoch",
                        "Peak − final",
                        "Training acc. (noisy)",
                        "Training acc. (true)",
                    ],
                    memo,
                    caption=self.noted(
                        "Memorisation: peak test accuracy (each run's highest, chosen on the "
                        "test set) and its epoch (mean, min-max) beside the final one "
                        f"({self.relative(folder / 'memorisation.csv')})",
                        summary["dataset"],
                    ),
                )  # fmt: skip
            )
        for r in shown.itertuples():
            blocks += self.figure(
                folder / "curves" / f"{r.dataset}-{r.setting}.png",
                f"Memorisation curves of {r.setting}: training accuracy against the noisy and "
                "the true labels, and test accuracy, per epoch",
                [r.dataset],
            )
        return blocks

    def matrices(self, folder: Path, setting: str, datasets) -> list:
        """The transition matrix a setting draws its noisy labels from, and the empirical
        true-versus-noisy matrix of the labels drawn; datasets: the setting's (noted)."""
        blocks = []
        for name, what in (
            (f"transition-{setting}.csv", "transition matrix, P(noisy label | true label)"),
            (f"noisy-confusion-{setting}.csv", "empirical matrix of the labels drawn (true vs noisy)"),
        ):  # fmt: skip
            path = folder / name
            if not path.is_file():
                continue
            matrix = read_csv(path)
            # the true class is the CSV's first column ("true"), a label, not a number
            true = matrix.pop("true") if "true" in matrix.columns else pd.Series(matrix.index)
            rows = [
                [str(t), *(fmt(v) for v in row)]
                for t, row in zip(true, matrix.to_numpy(), strict=True)
            ]
            header = ["True \\ noisy", *(c.removeprefix("noisy_") for c in matrix.columns)]
            caption = self.noted(f"{setting}: {what} ({self.relative(path)})", datasets)
            blocks.append(Table(header, rows, caption=caption))
        return blocks + self.figure(
            folder / f"noisy-confusion-{setting}.png",
            f"{setting}: the noisy training labels drawn",
            datasets,
        )

    # ------------------------------------------------------------------ discussion

    def discussion(self) -> list:
        path = self.out / "discussion.csv"
        if not path.is_file():
            return []
        sentences = read_csv(path)
        blocks = [
            Heading("Discussion"),
            Text(
                "Generated from the numbers above; discussion.csv holds each sentence with the "
                "numbers it states. Differences between settings are tested against the spread "
                f"between seeds by a two-sided Welch t-test at the {discussion.ALPHA:.0%} level."
            ),
        ]
        cifar = dataset_title("cifar10")
        if "cifar10" in self.copies and sentences["text"].astype(str).str.contains(cifar).any():
            blocks.append(
                Text(f"Note: {COPY_NOTE}; the {cifar} numbers discussed below are this copy's.")
            )
        for topic, rows in sentences.groupby("topic", sort=False):
            blocks.append(Heading(str(topic), 3))
            blocks += [Text(text) for text in rows["text"]]
        return blocks


def section_times(sections: dict, titles: dict[str, str]) -> pd.DataFrame:
    """times.csv: per section (course.json's entries), its training time over every session
    that trained in it (its pace, which a call that only re-renders leaves as it was), the
    model-epochs trained, and the wall time of the last session. titles: the study file's,
    by number, for a section whose only session was interrupted (its entry has none)."""
    rows = []
    for number in sorted(sections, key=int):
        entry, pace = sections[number], sections[number].get("pace") or {}
        rows.append({
            "section": f"{number}. {entry.get('title') or titles.get(number, '')}",
            "training_seconds": pace.get("seconds", 0.0),
            "model_epochs": pace.get("model_epochs", 0),
            "seconds": entry.get("seconds"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=["section", "training_seconds", "model_epochs", "seconds"])


def section_time_rows(times: pd.DataFrame) -> list[list[str]]:
    """times.csv's rows as the report shows them; a section whose session was interrupted
    (course.json keeps its pace, no seconds) shows 0:00:00 for the last session."""
    return [
        [r.section, clock(r.training_seconds), str(r.model_epochs),
         clock(0.0 if pd.isna(r.seconds) else r.seconds)]
        for r in times.itertuples()
    ]  # fmt: skip


def pad(values: list, n: int) -> list:
    """A setting's column of the seeds table: n seeds' values (missing ones empty), then
    best, mean and std."""
    seeds, stats = values[:-3], values[-3:]
    return [*seeds, *[np.nan] * (n - len(seeds)), *stats]


def plural_epochs(summary: pd.DataFrame) -> str:
    epochs = sorted(set(summary["epochs"]))
    return f"{'/'.join(map(str, epochs))} epoch{'s' if epochs != [1] else ''}"


def data_caveats(data: pd.DataFrame) -> list[str]:
    """What a reader must know of where the data came from: a CIFAR-10 copy whose files are
    not the official ones (by torchvision's MD5 sums) holds other pixels."""
    caveats = []
    for source in data.loc[data["dataset"] == "cifar10", "source"].drop_duplicates():
        if unofficial_copy("cifar10", source):
            caveats.append(
                f"CIFAR-10 caveat: the files in {source} are not the official CIFAR-10 batches "
                "(their MD5 sums differ from torchvision's), so their pixels are not the "
                "original ones; a copy decoded from a JPEG rendition, for one, gives a LeNet-5 "
                "a test accuracy a little below the original pixels'. Compare its CIFAR-10 "
                "numbers with published ones with that in mind."
            )
    return caveats


SHOWN_RATE = 0.4  # the course's protocol asks for the matrices and curves at 40% noise


def shown_noise_settings(summary: pd.DataFrame) -> pd.DataFrame:
    """The noise settings whose matrices and curves the report shows: of each noise type its
    setting at 40%, or where it has none its highest rate, and the file's own matrix (whatever
    its rate); the clean baseline has nothing to show."""
    rates = summary["noise_rate"].astype(float)
    noisy = summary[(rates > 0) & (summary["noise_type"] != CUSTOM)]
    at_shown = noisy[np.isclose(rates[noisy.index], SHOWN_RATE)]
    highest = noisy[~noisy["noise_type"].isin(at_shown["noise_type"])]
    highest = highest.sort_values("noise_rate", kind="stable").groupby("noise_type").tail(1)
    chosen = set(at_shown.index) | set(highest.index)
    return summary[summary.index.isin(chosen) | (summary["noise_type"] == CUSTOM)]


def memorisation_rows(table: pd.DataFrame) -> list[list[str]]:
    """The report's memorisation table from memorisation.csv: per setting its epochs, final
    and peak test accuracy, the peak's epoch (mean, min-max), peak minus final and the final
    training accuracy on the noisy and the true labels. Peak minus final is the difference
    of the two means shown beside it, as the discussion states it (early_stopping), not the
    unrounded one that the CSV holds (99.156 - 98.944 shows as 0.21 beside 99.16 and 98.94)."""
    return [
        [r.setting, str(r.epochs), pm(r.final_test_acc_mean, r.final_test_acc_std),
         pm(r.peak_test_acc_mean, r.peak_test_acc_std),
         f"{mean_epoch(r.peak_epoch_mean)} ({int(r.peak_epoch_min)}-{int(r.peak_epoch_max)})",
         fmt(shown_difference(r.peak_test_acc_mean, r.final_test_acc_mean)),
         fmt(r.final_train_acc_noisy_mean), fmt(r.final_train_acc_true_mean)]
        for r in table.itertuples()
    ]  # fmt: skip


def best_sentence(dataset: str, rows: pd.DataFrame, best: pd.DataFrame) -> str:
    """The best setting of a dataset and the mean it was chosen by; settings tied there are
    named, and the first of them is the one later sections take."""
    by = best_by(rows)
    validated = validated_datasets(rows).get(dataset, False)
    column = "final_val_acc_mean" if validated else "final_test_acc_mean"
    b = best.iloc[0]
    chosen = f"{fmt(b[column])}% validation accuracy" if validated else ""
    test = f"{pm(b['final_test_acc_mean'], b['final_test_acc_std'])}% testing accuracy"
    if len(best) > 1:
        tied = ", ".join(best["setting"].astype(str))
        return (
            f"Best setting on {dataset_title(dataset)}: {tied} are tied at the highest mean "
            f"{by} ({fmt(b[column])}%); the first, {b['setting']}, is taken as the best "
            f"({test})."
        )
    measured = f"{chosen}; {test}" if chosen else test
    return (
        f"Best setting on {dataset_title(dataset)}: {b['setting']}, the highest mean {by} "
        f"({measured})."
    )
