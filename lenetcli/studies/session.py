"""One session of a study: check, load the data, plan, train what is not finished, record,
summarise. `execute` is what lenet sweep and lenet noise call."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from lenetcli.config import BACKENDS, RunOptions
from lenetcli.errors import Interrupted, LenetError, unknown_choice, warn
from lenetcli.outputs import progress
from lenetcli.outputs.files import (
    check_output_dir,
    create_output_dir,
    default_folder,
    environment,
    finishing,
    in_use,
    read_config,
    run_record,
    write_json,
)
from lenetcli.outputs.results_json import results_document, write_results
from lenetcli.science import engine
from lenetcli.science.data import Dataset, data_record, files_to_download
from lenetcli.studies.executor import Executor, LocalExecutor
from lenetcli.studies.ledger import (
    Ledger,
    earlier_sessions,
    rename_restored_models,
    resume_folder,
    save_models,
)
from lenetcli.studies.plan import (
    Job,
    describe_jobs,
    device_caps,
    job_records,
    plan_jobs,
    setting_groups,
)
from lenetcli.studies.results import (
    DIVERGED,
    FAILED,
    warn_diverged,
)
from lenetcli.studies.study import RunOutcome, Study, check_study, data_key, load_study_data
from lenetcli.studies.summary import summary_table, write_report

EVERY_JOB_FAILED = "before any run finished: every job failed"  # config.json's "interrupted"


class EveryJobFailed(LenetError):
    """No run of a study trained: what failed, and how to go on once its cause is fixed
    (a course study, which runs studies as its sections, says it its own way)."""

    def __init__(self, what: str, go_on: str):
        super().__init__(f"{what}; fix the cause, then {go_on}")
        self.what = what


def run_study(
    study: Study,
    ledger: Ledger,
    jobs: list[Job],
    executor: Executor,
    datasets: dict[tuple, Dataset],
    out: Path,
) -> None:
    """Write each setting's own files, then have the executor train the jobs; as each job
    finishes, its models are saved and runs.csv and metrics.csv rewritten."""
    ledger.save(out)  # at once, so the folder lists the whole plan from the start
    for index in sorted({index for job in jobs for index in job.settings}):
        setting = study.settings[index]
        study.setting_files(setting, datasets[data_key(setting.config)], out)

    def on_done(job: Job, outcomes: list[RunOutcome]) -> None:
        ledger.record(job, outcomes)
        for index in job.settings:  # the models, before runs.csv says they finished
            setting = study.settings[index]
            own = [o for run, o in zip(job.runs, outcomes, strict=True) if run.setting == index]
            save_models(out, setting, datasets[data_key(setting.config)], own)
        ledger.save(out)

    def on_failed(job: Job, error: str) -> None:
        ledger.fail(job, error)
        ledger.save(out)

    executor.run(jobs, on_done, on_failed)


def study_record(
    study: Study,
    out: Path,
    resume: bool,
    device,
    datasets: dict[tuple, Dataset],
    jobs: list[Job],
) -> dict:
    # groups: the seeds that train together in this session (runs kept by --resume trained
    # in the groups of the session recorded in earlier_sessions).
    groups = setting_groups(study, jobs)
    settings = [
        {
            "name": s.name,
            **s.config.to_dict(),
            **s.columns,
            "seeds": s.config.seeds,
            "groups": groups[i],
        }
        for i, s in enumerate(study.settings)
    ]
    options = {
        **study.record,
        "settings": settings,
        "jobs": job_records(study, jobs),
        **study.options.to_dict(),
        "out": str(out),
        "resume": resume,
    }
    env = environment(device, engine.device_description(device))
    record = run_record(study.command, options, env, {"datasets": data_records(study, datasets)})
    if resume:  # runs kept from earlier sessions may come from another machine or version
        record["earlier_sessions"] = earlier_sessions(out)
    return record


def data_records(study: Study, datasets: dict[tuple, Dataset]) -> list[dict]:
    """One record per dataset read, saying which subsets, validation share and settings it
    served: a study may read one dataset several ways."""
    records = []
    for key, data in datasets.items():
        _, train_subset, test_subset, val_split = key
        served = [s.name for s in study.settings if data_key(s.config) == key]
        records.append({
            **data_record(data),
            "train_subset": train_subset, "test_subset": test_subset, "val_split": val_split,
            "settings": served,
        })  # fmt: skip
    return records


def other_validation_draws(study: Study, record: dict) -> str:
    """The scikit-learn versions of earlier sessions that differ from this one's, where a
    setting holds out validation images (train_test_split draws them); '' when none do."""
    if not any(s.config.val_split for s in study.settings):
        return ""
    now = record["environment"]["scikit-learn"]
    versions = {
        (session.get("environment") or {}).get("scikit-learn")
        for session in record.get("earlier_sessions", [])
    }
    return ", ".join(sorted(str(v) for v in versions - {now, None}))


def execute(
    study: Study,
    out: Path | None,
    *,
    default_name: str = "",
    inputs: list[Path] = (),
    overwrite: bool = False,
    resume: bool = False,
    dry_run: bool = False,
    executor: Callable[..., Executor] | None = None,
    reporter: progress.StudyReporter | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Check, load, plan, train what is not finished, write every output; return summary.csv's
    frame and the output folder: out, or runs/<default_name>-<time> (-2, -3, ... if taken
    meanwhile).

    Every check that can fail runs before the output folder is touched. Ctrl-C raises
    Interrupted once the finished jobs are saved. dry_run: print the plan (jobs, runs,
    model-epochs and, where out holds runs trained before, the time at their pace) and write
    nothing. executor: makes the Executor, given the study, datasets, device and reporter;
    default: the one study.options.backend names (executor_for). reporter: the progress to
    show, entered and closed by the caller (lenet report --study shows one over all its
    studies); default: one for this study alone.
    """
    console = progress.stdout_console()
    fresh_name = out is None
    if fresh_name and resume:
        raise LenetError(
            f"--resume needs --out: the folder of the lenet {study.command} to continue"
        )
    out = default_folder(default_name) if fresh_name else Path(out)
    check_study(study)
    if resume and overwrite:
        raise LenetError(
            "--resume continues the study in --out and --overwrite starts it again; give only one"
        )
    ledger = Ledger(study)
    if resume:
        restored = resume_folder(study, out, ledger)
        check_output_dir(out, True, study.command)  # still: can it be written?
    else:
        restored = 0
        check_output_dir(out, overwrite, study.command, [*inputs, study.options.data_folder()])
    device = engine.resolve_device(study.options.device)
    executor = executor or executor_for(study.options, device)  # checks Ray's options, install
    caps = device_caps(device, study.options.group_size)
    if dry_run:
        print_dry_run(
            console,
            study,
            ledger,
            plan_jobs(study, ledger.pending(), caps, study.options.group_by),
            restored,
            device,
            out,
            resume,
        )
        return pd.DataFrame(), out
    datasets = load_study_data(study)
    out = create_output_dir(out, fresh_name, exclusive=not resume and not out.exists())
    with in_use(out, study.command, replace=overwrite):
        if resume:  # again, now that the folder is held: another lenet may have written meanwhile
            ledger = Ledger(study)
            restored = resume_folder(study, out, ledger)
        jobs = plan_jobs(study, ledger.pending(), caps, study.options.group_by)
        record = study_record(study, out, resume, device, datasets, jobs)
        write_json(out / "config.json", record)
        warn_about_kept_runs(study, out, ledger, record, restored)
        if not study.options.quiet:
            console.print(
                describe_plan(study, ledger, restored, device, out, resume), highlight=False
            )
        try:
            display = (
                progress.make_study_reporter(console, study.options.quiet)
                if reporter is None
                else contextlib.nullcontext(reporter)  # the caller's, open already
            )
            with display as shown:
                shown.start_study(ledger.total, ledger.count())
                run_study(
                    study, ledger, jobs, executor(study, datasets, device, shown), datasets, out
                )
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: {ledger.saved} of {ledger.total} runs are finished and saved in "
                f"{out}; run the same command with --resume --out {out} to continue"
            ) from None
        if not ledger.count():  # every job failed (on a cluster): nothing to summarise
            write_json(out / "config.json", {**record, "interrupted": EVERY_JOB_FAILED})
            first = next((row["error"] for row in ledger.rows.values() if row.get("error")), None)
            raise EveryJobFailed(
                f"every job of this study failed, e.g. with {first} (runs.csv has each error)"
                if first
                else "no job of this study finished (the executor reported none)",
                f"run the same command with --resume --out {out}",
            )
        runs = ledger.runs_frame()
        # Signals wait until the summary, figures and results are written (a second or two),
        # and config.json says meanwhile that they are being written (outputs.finishing).
        go_on = f"run the same command with --resume --out {out} to finish it"
        with finishing(out, record, go_on=go_on):
            summary = write_report(study, out, runs, ledger.metrics_frame())
            study.figures(study, summary, out)
            write_results(out, results_document(study.command, out, runs))
    warn_about_results(runs, out)
    if not study.options.quiet:
        console.print(summary_table(study, summary))
        console.print(f"Wrote {out}/", highlight=False)
    return summary, out


def describe_plan(
    study: Study, ledger: Ledger, restored: int, device, out: Path, resume: bool
) -> str:
    datasets = {s.config.dataset for s in study.settings}
    names = {s.name for s in study.settings}
    text = (
        f"{study.command.capitalize()}: {len(names)} setting(s) x {len(datasets)} dataset(s), "
        f"{ledger.total} runs, device {device}"
    )
    if restored:
        text += (
            f"; {restored} finished run(s) in {out} are kept, {ledger.total - restored} to train"
        )
    elif resume:  # a folder of this study that stopped before its first run finished
        text += f"; --resume found no finished run in {out}, so every run is trained"
    return text


def print_dry_run(
    console,
    study: Study,
    ledger: Ledger,
    jobs: list[Job],
    restored: int,
    device,
    out: Path,
    resume: bool,
) -> None:
    """--dry-run: the plan, and nothing written. Printed even with --quiet: it is the output."""
    root = study.options.data_folder()
    names = [setting.config.dataset for setting in study.settings]
    fetch = files_to_download(names, root, study.options.download)  # or the run's error
    console.print(describe_plan(study, ledger, restored, device, out, resume), highlight=False)
    print_downloads(console, root, fetch)
    cost = measured_cost(ledger, out) if restored else None
    for line in describe_jobs(jobs, cost):
        console.print(line, highlight=False, soft_wrap=True)
    if cost is None and jobs:
        console.print(
            "No time estimate: no run of this study has trained yet (a --resume of a started study gives one).",
            highlight=False,
            soft_wrap=True,
        )
    console.print("Dry run: nothing was trained or written.", highlight=False)


def print_downloads(console, root: Path, fetch: list[str]) -> None:
    """A dry run's line naming the datasets (files_to_download) a run would fetch first."""
    if fetch:  # paths as they are: markup would take [brackets] in them for its own
        console.print(
            f"Not in {root} yet, downloaded first: {', '.join(fetch)}",
            markup=False,
            highlight=False,
        )


def measured_cost(ledger: Ledger, out: Path) -> float | None:
    """Seconds per model-epoch of the runs kept in out, at the pace they trained: a run's
    seconds are its job's (the members step together), so a job of G runs shares them by G."""
    previous = read_config(out) or {}
    options = previous.get("options") or {}
    sessions = previous.get("earlier_sessions")
    sizes = {}
    for session in [*(sessions if isinstance(sessions, list) else []), options]:
        sizes |= job_sizes(session)  # a run that trained again later, at the later pace
    seconds = model_epochs = 0.0
    for key, name in ledger.restored_names.items():
        row = ledger.rows[key]
        seed = int(row["seed"])
        size = sizes.get((row.get("dataset"), name, seed)) or sizes.get((None, name, seed))
        if size and row.get("seconds") is not None:
            seconds += float(row["seconds"]) / size
            model_epochs += int(row["epochs"])
    return seconds / model_epochs if model_epochs else None


def job_sizes(session) -> dict[tuple[str | None, str, int], int]:
    """(dataset, setting, seed) -> how many runs trained in its job, in one session on record:
    its jobs, or (recorded before jobs were, when a job held one setting) its settings'
    groups. The dataset is None where the record does not name it (jobs written before they
    did; groups that earlier versions recorded by setting name alone)."""
    if not isinstance(session, dict):
        return {}
    if isinstance(jobs := session.get("jobs"), list):
        return {
            (member.get("dataset"), member.get("setting"), member.get("seed")): len(job)
            for job in jobs
            if isinstance(job, list)
            for member in job
            if isinstance(member, dict)
        }
    groups = session.get("groups")  # in earlier_sessions
    if isinstance(groups, dict):  # {name: groups}, as earlier versions recorded them
        named = [(None, name, g) for name, g in groups.items()]
    elif isinstance(groups, list):  # [{setting, dataset, groups}]
        named = [
            (g.get("dataset"), g.get("setting"), g.get("groups"))
            for g in groups
            if isinstance(g, dict)
        ]
    else:  # a record's own settings, each with its dataset and groups
        settings = session.get("settings")
        settings = settings if isinstance(settings, list) else []
        named = [
            (s.get("dataset"), s.get("name"), s.get("groups"))
            for s in settings
            if isinstance(s, dict)
        ]
    return {
        (dataset, name, seed): len(group)
        for dataset, name, setting_groups in named
        if isinstance(setting_groups, list)
        for group in setting_groups
        if isinstance(group, list)
        for seed in group
    }


def executor_for(options: RunOptions, device) -> Callable[..., Executor]:
    """The executor --backend names: LocalExecutor, or Ray's (checked before anything is
    written: Ray installed, its options sound and suited to the device)."""
    if options.backend == "local":
        return LocalExecutor
    if options.backend != "ray":
        raise unknown_choice("--backend", options.backend, BACKENDS)
    from lenetcli.studies.ray_executor import executor_factory  # late: Ray is an extra

    return executor_factory(
        options.ray_address, options.task_cpus, options.task_gpus, options.ray_data, device
    )


def warn_about_kept_runs(study: Study, out: Path, ledger: Ledger, record: dict, restored: int):
    """What a resumed study should know of the runs it keeps: validation images drawn by
    another scikit-learn, models an earlier lenet did not keep."""
    if restored and (changed := other_validation_draws(study, record)):
        warn(
            f"runs kept in {out} drew their validation images with scikit-learn "
            f"{changed}, this session with {record['environment']['scikit-learn']}; the "
            "draws may differ, so compare validation accuracies across sessions with care"
        )
    if missing := rename_restored_models(out, ledger):
        warn(
            f"{missing} finished run(s) kept in {out} have no model in models/ (trained by "
            "a lenet that kept none); to study one with lenet confusion, train its setting "
            "again with lenet train"
        )


def warn_about_results(runs: pd.DataFrame, out: Path) -> None:
    """Runs that diverged, and runs whose job failed (on a cluster), said once the study ends."""
    bad = runs[runs["status"] == DIVERGED]
    if len(bad):
        settings = ", ".join(bad["setting"].astype(str).drop_duplicates())
        warn_diverged(f"{len(bad)} run(s) of {settings} (status diverged in runs.csv)")
    if len(failed := runs[runs["status"] == FAILED]):
        warn(
            f"{len(failed)} run(s) failed (status failed in {out / 'runs.csv'}, with the error) "
            f"and are left out of the summary; run the same command with --resume --out {out} "
            "to train them again"
        )
