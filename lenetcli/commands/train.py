"""A training run from start to finish: check inputs, load data, train, write the output folder.

`lenet train` is `run_train`; confusion and hardsamples call `run_training` when they train
a model first (through `prepare`, this module's checks and data). The studies train
through `engine.train` too, with checks of their own (studies/session.py). The order matters for "bad input writes nothing":
every check that can fail runs before the output folder is created.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from lenetcli.config import RunOptions, TrainConfig
from lenetcli.errors import Interrupted
from lenetcli.outputs.checkpoint import make_checkpoint
from lenetcli.outputs.files import (
    check_output_dir,
    create_output_dir,
    default_folder,
    environment,
    finishing,
    in_use,
    run_record,
    save_checkpoint,
    save_figure,
    write_csv,
    write_json,
)
from lenetcli.outputs.plots import curves_figure
from lenetcli.outputs.progress import make_reporter, results_table, stdout_console
from lenetcli.outputs.results_json import print_results, results_document, write_results
from lenetcli.science.data import Dataset, data_record, data_title, load_data
from lenetcli.science.engine import (
    MemberResult,
    Reporter,
    TrainingInterrupted,
    architecture_for,
    device_description,
    predict,
    resolve_device,
    train,
)
from lenetcli.studies.plan import groups
from lenetcli.studies.results import DIVERGED, METRIC_COLUMNS, run_results, warn_diverged


def metrics_frame(results: list[MemberResult]) -> pd.DataFrame:
    rows = [row for result in results for row in result.metrics]
    frame = pd.DataFrame(rows)
    extra = [c for c in frame.columns if c not in METRIC_COLUMNS]
    return frame[METRIC_COLUMNS + extra]


def predictions_frame(results: list[MemberResult], data: Dataset, device) -> pd.DataFrame:
    """One row per model and test image: the label, the prediction and its probability."""
    frames = []
    for result in results:
        probs = predict(result.model, data.test.images, data.spec, device)
        confidence, predicted = probs.max(dim=1)
        frames.append(
            pd.DataFrame(
                {
                    "seed": result.seed,
                    "index": data.test.indices.numpy(),
                    "label": data.test.labels.numpy(),
                    "predicted": predicted.numpy(),
                    "confidence": confidence.numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run_training(
    config: TrainConfig,
    data: Dataset,
    options: RunOptions,
    device: torch.device,
    out: Path,
    reporter: Reporter,
    command: str = "train",
) -> list[MemberResult]:
    """Train config's seeds on data and write the run's files into out (which must exist)."""
    record = run_record(
        command,
        {
            **config.to_dict(),
            **options.to_dict(),
            "out": str(out),
            "groups": groups(config, data.spec, device, options.group_size),
        },  # fmt: skip
        environment(device, device_description(device)),
        data_record(data),
    )
    write_json(out / "config.json", record)
    try:
        results = train(
            config, data, device, group_size=options.group_size, use_graph=options.graph,
            reporter=reporter,
        )  # fmt: skip
    except TrainingInterrupted as stop:
        raise save_interrupted(stop.results, config, data, out, record) from None
    # Ctrl-C from here on waits until every file is written (a second or two): the models
    # are trained, and a folder without its curves or model must not pass for finished.
    with finishing(out, record, go_on="run the command again with --overwrite"):
        metrics = metrics_frame(results)
        write_csv(out / "metrics.csv", metrics)
        write_csv(out / "predictions.csv", predictions_frame(results, data, device))
        save_models(results, config, data, out)
        save_curves(metrics, config, data, out)
        outcomes = run_outcomes(results, data)
        write_results(out, results_document(command, out, runs_frame(outcomes, config.dataset)))
    return results


def save_models(results: list[MemberResult], config: TrainConfig, data: Dataset, out: Path):
    """model.pt (the first seed's) and, with --repeats, models/seed-<seed>.pt for each; of an
    interrupted run, those of the members whose training had ended."""
    if results[0].model is not None:
        save_checkpoint(out / "model.pt", make_checkpoint(results[0], config, data))
    if len(results) > 1:
        for result in results:
            if result.model is not None:
                path = out / "models" / f"seed-{result.seed}.pt"
                save_checkpoint(path, make_checkpoint(result, config, data))


def save_curves(metrics: pd.DataFrame, config: TrainConfig, data: Dataset, out: Path) -> None:
    figure = curves_figure(metrics, f"LeNet-5 on {data_title(data)}", config.loss)
    save_figure(figure, out / "curves.png")


def save_interrupted(
    results: list[MemberResult], config: TrainConfig, data: Dataset, out: Path, record: dict
) -> Interrupted:
    """Ctrl-C: keep the finished epochs (metrics.csv, curves.png) and the models of the
    members whose training had ended (a group of seeds trained before the one interrupted),
    mark config.json as interrupted, and return the message that says so. No model of a
    member still in training is saved: its weights had moved on since its last epoch."""
    finished = [len(r.metrics) for r in results]
    if len(set(finished)) == 1:
        when = f"after epoch {finished[0]} of {config.epochs}" if finished[0] else "in epoch 1"
    else:
        when = f"after {sum(finished)} of {config.epochs * len(results)} model-epochs"
    write_json(out / "config.json", {**record, "interrupted": when})
    kept = "config.json only"
    if any(finished):
        metrics = metrics_frame([r for r in results if r.metrics])
        write_csv(out / "metrics.csv", metrics)
        save_curves(metrics, config, data, out)
        kept = "metrics.csv and curves.png of the finished epochs"
    save_models(results, config, data, out)
    return Interrupted(
        f"interrupted {when}: {out} keeps {kept}, and {models_kept(results)}; "
        "run the command again to train in full (add --overwrite to reuse the folder)"
    )


def final_values(data: Dataset) -> list[str]:
    """The values whose final epoch a run's results give (final_train_acc, ...)."""
    return ["train_acc", *(["val_acc"] if data.val is not None else []), "test_acc"]


def run_outcomes(results: list[MemberResult], data: Dataset) -> dict[int, dict]:
    """Each seed's run_results: what results.json and the closing table show."""
    return {r.seed: run_results(r.metrics, final_values(data)) for r in results}


def runs_frame(outcomes: dict[int, dict], dataset: str) -> pd.DataFrame:
    """The runs table results.json is made from: one row per seed, from its run_results."""
    return pd.DataFrame(
        [
            {
                "dataset": dataset,
                "setting": None,
                "seed": seed,
                "final_test_acc": o["final_test_acc"],
                "best_test_acc": o["best_test_acc"],
                "status": o["status"],
            }
            for seed, o in outcomes.items()
        ]  # fmt: skip
    )


def models_kept(results: list[MemberResult]) -> str:
    """'no model', or 'the model of seed 42' / 'the models of seeds 42, 43', of the members
    whose training had ended."""
    seeds = [str(r.seed) for r in results if r.model is not None]
    if not seeds:
        return "no model"
    if len(seeds) == 1:
        return f"the model of seed {seeds[0]}"
    return f"the models of seeds {', '.join(seeds)}"


def parameter_count(config: TrainConfig, data: Dataset) -> int:
    from lenetcli.science.model import LeNet5, count_parameters

    return count_parameters(LeNet5(architecture_for(config, data.spec)))


def prepare(config: TrainConfig, options: RunOptions) -> tuple[torch.device, Dataset]:
    """Every check that can fail before anything is written: configuration, device, data."""
    config.validate()
    device = resolve_device(options.device)
    options.validate()
    return device, load_data(config, options)


# --------------------------------------------------------------------------- lenet train


def run_train(
    config: TrainConfig,
    options: RunOptions,
    out: Path | None,
    overwrite: bool,
    print_json: bool = False,
) -> None:
    """`lenet train`: check everything, train, write the run's files into out, say how it
    went; print results.json last with print_json (--json)."""
    config.validate()
    fresh_name = out is None
    out = check_output_dir(
        out or default_folder(f"train-{config.dataset}"),
        overwrite,
        "train",
        [options.data_folder()],
    )
    device, data = prepare(config, options)
    out = create_output_dir(out, fresh_name, exclusive=not out.exists())
    console = stdout_console()
    if not options.quiet:
        console.print(
            f"LeNet-5 on {data.spec.title}: {len(data.train)} train / "
            f"{'' if data.val is None else f'{len(data.val)} validation / '}"
            f"{len(data.test)} test images, "
            f"{parameter_count(config, data)} parameters, device {device}",
            highlight=False,
        )
    with in_use(out, "train", replace=overwrite), make_reporter(console, options.quiet) as reporter:
        try:
            results = run_training(config, data, options, device, out, reporter)
        except KeyboardInterrupt:  # between the steps that say what they keep
            raise Interrupted(
                f"interrupted: {out} is unfinished; run the command again with --overwrite"
            ) from None
        finals, outcomes = final_values(data), run_outcomes(results, data)
    if bad := [seed for seed, o in outcomes.items() if o["status"] == DIVERGED]:
        warn_diverged(f"the model of seed {', '.join(map(str, bad))}")
    if not options.quiet:
        rows = [
            [seed, *(o[f"final_{f}"] for f in finals), o["best_test_acc"], o["seconds"]]
            for seed, o in outcomes.items()
        ]
        columns = [
            "seed", *(f"{f.split('_')[0]} acc (%)" for f in finals), "best epoch's test acc (%)",
            "total seconds",
        ]  # fmt: skip
        console.print(results_table(f"Final epoch ({config.epochs})", columns, rows))
        console.print(f"Wrote {out}/", highlight=False)
    if print_json:
        print_results(out)
