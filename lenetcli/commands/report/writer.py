"""Gathering the folders into a report and writing its files (`gather`, `write_report`), and
the command itself (`run_report`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from lenetcli import __version__
from lenetcli.commands.report.sections import copies_of, mean_std, source_blocks, summary_blocks
from lenetcli.commands.report.sources import (
    FINISH_IT,
    RESULT_COLUMNS,
    TRAINING_COMMANDS,
    Source,
    Training,
    find_sources,
    pending_runs,
    read_training,
    results_frame,
)
from lenetcli.errors import LenetError, warn
from lenetcli.outputs.document import Figure, Heading, Table, Text, render_html, render_markdown
from lenetcli.outputs.files import (
    check_output_dir,
    create_output_dir,
    default_folder,
    finishing,
    in_use,
    save_figure,
    write_atomic,
    write_csv,
    write_text,
)
from lenetcli.outputs.plots import comparison_figure
from lenetcli.outputs.progress import results_table, stdout_console
from lenetcli.outputs.results_json import print_results, results_document, write_results
from lenetcli.outputs.tables import count_text
from lenetcli.science.data import shown_title


@dataclass(frozen=True)
class Report:
    title: str
    sources: list[Source]
    results: pd.DataFrame  # results.csv
    metrics: pd.DataFrame  # every configuration's metrics, with a `line` column for compare.png
    blocks: list
    trainings: dict[str, Training]  # by source label
    unfinished: dict[Path, str]  # folders left out, and why
    # (source label, dataset) of the data read from an unofficial copy (data.unofficial_copy)
    copies: frozenset[tuple[str, str]] = frozenset()

    def warnings(self) -> list[str]:
        """What the reader must know: folders left out, and studies shown in part."""
        lines = [f"Left out {folder}: {why}" for folder, why in self.unfinished.items()]
        for source in self.sources:
            if pending := pending_runs(self.trainings.get(source.label)):
                lines.append(
                    f"{source.folder} is an interrupted {source.command}: {pending} pending "
                    "run(s) left out, its results are provisional"
                )
        return lines


def gather(folders: list[Path], title: str, out: Path) -> Report:
    """Read and check every folder given; write nothing."""
    sources, unfinished = find_sources(folders)
    if not sources:
        first, reason = next(iter(unfinished.items()))
        raise LenetError(
            f"no finished output folder to report on: {len(unfinished)} did not finish "
            f"({first}: {reason}); {FINISH_IT}"
        )
    for source in sources:
        if Path(out).resolve().is_relative_to(source.folder.resolve()):
            raise LenetError(
                f"--out {out} lies in {source.folder}, a folder reported on; choose another --out"
            )
    sources, trainings = readable_sources(sources, folders, unfinished)
    frames = [results_frame(s, trainings[s.label]) for s in sources if s.label in trainings]
    results = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)
    )
    metrics = []
    for label, training in trainings.items():
        if training.metrics.empty:  # a study interrupted before its first run finished
            continue
        own = training.metrics.assign(source=label)
        metrics.append(own.assign(line=own.apply(curve_label, axis=1)))
    metrics = pd.concat(metrics, ignore_index=True) if metrics else pd.DataFrame()
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    made_from = f"{len(sources)} folder(s)"
    if unfinished:
        made_from += (
            f"; {len(unfinished)} folder(s) left out, unfinished or unreadable (listed at the end)"
        )
    blocks = [
        Heading(title, 1),
        Text(f"Made by lenet report (lenetcli {__version__}) on {made} from {made_from}."),
    ]
    copies = frozenset((s.label, dataset) for s in sources for dataset in copies_of(s))
    if len(results):
        blocks += summary_blocks(results, compare=len(metrics) > 0, copies=copies)
    for i, source in enumerate(sources, 1):
        blocks += source_blocks(i, source, trainings.get(source.label), results)
    if unfinished:
        blocks += [
            Heading("Left out: unfinished or unreadable folders"),
            Text(
                "Their command was interrupted or failed before it wrote its results, or their "
                "files are not as lenet writes them."
            ),
            Table(["Folder", "Why"], [[str(f), why] for f, why in unfinished.items()], left=2),
        ]
    return Report(title, sources, results, metrics, blocks, trainings, unfinished, copies)


def readable_sources(
    sources: list[Source], folders: list[Path], left_out: dict[Path, str]
) -> tuple[list[Source], dict[str, Training]]:
    """The sources whose tables read as lenet wrote them, and what the training ones trained
    (by label). A damaged folder found inside a folder such as runs/ joins left_out, with its
    problem, as an unfinished one does (the user could not leave it out); one named itself is
    an error."""
    named = {Path(folder).resolve() for folder in folders}
    readable, trainings = [], {}
    for source in sources:
        try:
            if source.command in TRAINING_COMMANDS:
                trainings[source.label] = read_training(source)
            else:
                source_blocks(0, source, None, None)  # reads its tables, as the report will
        except LenetError as exc:
            if source.folder.resolve() in named:
                raise
            problem = str(exc).rsplit("; ", 1)[0]  # without the fix, "leave the folder out"
            left_out[source.folder] = f"cannot be read as lenet wrote it: {problem}"
            continue
        readable.append(source)
    if not readable:
        first, reason = next(iter(left_out.items()))
        raise LenetError(
            f"no output folder to report on: {len(left_out)} did not finish or cannot be read "
            f"({first}: {reason}); {FINISH_IT}"
        )
    return readable, trainings


def curve_label(row) -> str:
    return row["source"] if not row["setting"] else f"{row['source']}: {row['setting']}"


def write_report(report: Report, out: Path, record: dict) -> None:
    """Every file of the report, under `finishing`: config.json comes first, marked unfinished,
    and loses the mark last, so that a report stopped midway (a second Ctrl-C, a full disk, a
    crash) leaves a folder that lenet knows as its own report, which --overwrite then
    replaces, rather than files it would take for the user's."""
    with finishing(out, record, go_on=f"run the command again with --overwrite --out {out}"):
        write_report_files(report, out)


def write_report_files(report: Report, out: Path) -> None:
    # Always written, a header alone when no folder trained: scripts read it unconditionally.
    write_csv(out / "results.csv", report.results)
    if len(report.metrics):
        shown = set(report.metrics["source"])
        titles = {d: shown_title(d, True) for label, d in report.copies if label in shown}
        save_figure(comparison_figure(report.metrics, titles=titles), out / "compare.png")
    names = figure_names(report)
    own = {block.path for block in report.blocks if isinstance(block, Figure) and block.own}
    for source_path, name in names.items():
        if source_path not in own:
            write_atomic(out / name, lambda tmp, src=source_path: shutil.copyfile(src, tmp))
    write_text(out / "report.md", render_markdown(report.blocks, names))
    write_text(out / "report.html", render_html(report.blocks, report.title, out))
    write_results(out, results_document("report", out, gathered_runs(report), REPORT_KEYS))


REPORT_KEYS = ("source", "dataset", "setting")  # a configuration of results.json


def gathered_runs(report: Report) -> pd.DataFrame:
    """Every trained run of the folders reported on, each with its folder's label (source),
    in the order of results.csv; the runs table of results.json."""
    columns = [*REPORT_KEYS, "seed", "final_test_acc", "best_test_acc", "status"]
    frames = [
        training.runs.assign(source=label)[columns] for label, training in report.trainings.items()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def figure_names(report: Report) -> dict[Path, str]:
    """Where each figure of the document lives, relative to the report's folder."""
    names = {}
    for block in report.blocks:
        if not isinstance(block, Figure) or block.path in names:
            continue
        if block.own:
            names[block.path] = block.path.name
            continue
        index, source = next(
            (i, s) for i, s in enumerate(report.sources, 1) if block.path.is_relative_to(s.folder)
        )
        relative = block.path.relative_to(source.folder).as_posix().replace("/", "-")
        names[block.path] = f"figures/{index}-{source.label.replace('/', '-')}/{relative}"
    return names


def run_config(report: Report, folders: list[Path], out: Path) -> dict:
    """config.json of the report: the folders as given and as found, and the environment."""
    import torch

    from lenetcli.outputs.files import environment, run_record
    from lenetcli.science.engine import device_description

    options = {"folders": [str(f) for f in folders], "title": report.title, "out": str(out)}
    cpu = torch.device("cpu")
    sources = {
        "sources": [source_record(s) for s in report.sources],
        "unfinished": {str(folder): why for folder, why in report.unfinished.items()},
    }
    return run_record("report", options, environment(cpu, device_description(cpu)), sources)


def source_record(source: Source) -> dict:
    data = source.record.get("data", {})
    datasets = [d.get("dataset") for d in data.get("datasets", [data])]
    return {
        "folder": str(source.folder.resolve()),
        "label": source.label,
        "command": source.command,
        "datasets": datasets,
        "started_utc": source.record.get("started_utc"),
        "lenetcli": source.record.get("environment", {}).get("lenetcli"),
        "device_name": source.device_name,
    }


# --------------------------------------------------------------------------- the command


def run_report(
    folders: list[Path],
    title: str,
    out: Path | None,
    overwrite: bool,
    quiet: bool,
    print_json: bool = False,
) -> None:
    """`lenet report`: read and check every folder, then write the report and say so; print
    results.json last with print_json (--json)."""
    fresh_name = out is None
    out = check_output_dir(out or default_folder("report"), overwrite, "report", folders)
    gathered = gather(folders, title, out)
    out = create_output_dir(out, fresh_name, exclusive=not out.exists())
    with in_use(out, "report", replace=overwrite):
        write_report(gathered, out, run_config(gathered, folders, out))
    for warning in gathered.warnings():  # on stderr, even with --quiet: a script must know
        warn(warning)
    if not quiet:
        say_what_was_reported(gathered, out)
    if print_json:
        print_results(out)


def say_what_was_reported(gathered: Report, out: Path) -> None:
    console = stdout_console()
    if len(gathered.results):
        rows = [
            [r.source, r.dataset, r.setting or "–", count_text(r.n, r.diverged),
             mean_std(r.final_test_acc_mean, r.final_test_acc_std)]
            for r in gathered.results.itertuples()
        ]  # fmt: skip
        columns = ["source", "dataset", "setting", "n", "test acc (%)"]
        title = "Final test accuracy: mean ± std over seeds"
        console.print(results_table(title, columns, rows, left=3))
    console.print(
        f"Reported on {len(gathered.sources)} folder(s). Wrote {out}/ (open report.html)",
        highlight=False,
    )
