"""A study's summary (summary.py), computed from runs recorded in a Ledger: no training."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from lenetcli.commands.sweep import grid_plan, parse_lists
from lenetcli.science.engine import MemberResult
from lenetcli.studies.ledger import Ledger
from lenetcli.studies.plan import Job
from lenetcli.studies.study import RunOutcome, Study
from lenetcli.studies.summary import best_by, best_mask, compare_figure, summary_frame


def record(ledger, index, outcomes):
    """Record outcomes as the job of their setting and seeds."""
    seeds = [outcome.result.seed for outcome in outcomes]
    runs = tuple(run for run in ledger.pending() if run.setting == index and run.seed in seeds)
    ledger.record(Job(runs, 2, "test"), outcomes)


def fake_outcomes(setting, accuracies, loss=0.5):
    """One RunOutcome per seed with the given final test accuracies, over 2 epochs."""
    outcomes = []
    for seed, acc in zip(setting.config.seeds, accuracies, strict=True):
        rows = [
            {"seed": seed, "epoch": e, "train_loss": loss, "train_acc": acc - 1.0,
             "test_loss": loss, "test_acc": acc - 2.0 + e, "lr": 0.1, "seconds": 1.5}
            for e in (1, 2)
        ]  # fmt: skip
        outcomes.append(RunOutcome(MemberResult(seed, rows)))
    return outcomes


def test_compare_figure_draws_the_settings_in_study_order_in_the_study_palette():
    plan = grid_plan(parse_lists({"dataset": "digits", "lr": "0.1,0.2", "repeats": "2"}))
    study = Study("sweep", plan.settings())
    study = replace(study, palette=lambda settings: {s.name: "black" for s in settings})
    ledger = Ledger(study)
    record(ledger, 1, fake_outcomes(study.settings[1], [60.0, 50.0]))
    record(ledger, 0, fake_outcomes(study.settings[0], [50.0, 60.0]))
    (ax,) = compare_figure(study, ledger.metrics_frame()).axes
    assert [line.get_label() for line in ax.get_lines()] == ["lr0.1", "lr0.2"]
    assert {line.get_color() for line in ax.get_lines()} == {"black"}


def test_diverged_and_pending_runs_in_the_summary():
    plan = grid_plan(parse_lists({"dataset": "digits", "lr": "0.1,0.2,0.3", "repeats": "2"}))
    study = Study("sweep", plan.settings())
    ledger = Ledger(study)
    record(ledger, 0, fake_outcomes(study.settings[0], [50.0, 60.0]))
    record(ledger, 1, fake_outcomes(study.settings[1], [60.0, 50.0], loss=float("nan")))
    runs = ledger.runs_frame()
    assert list(runs["status"]) == ["finished"] * 2 + ["diverged"] * 2 + ["pending"] * 2
    assert list(runs["best_epoch"][:4]) == [2, 2, 2, 2]
    summary = summary_frame(study, runs)
    assert list(summary["setting"]) == ["lr0.1", "lr0.2"]  # nothing trained: no row
    assert list(summary["final_test_acc_mean"]) == [55.0, 55.0]  # diverged runs count
    assert list(summary["n"]) == [2, 2] and list(summary["diverged"]) == [0, 2]
    assert list(summary["best"]) == [1, 0]  # a tie, but every run of lr0.2 diverged
    assert ledger.count() == 4
    record(ledger, 2, fake_outcomes(study.settings[2], [55.0, 55.0]))
    summary = summary_frame(study, ledger.runs_frame())
    assert list(summary["best"]) == [1, 0, 1]  # a tie: both are the best


def test_a_study_that_validates_picks_its_best_setting_by_validation_accuracy():
    plan = grid_plan(parse_lists({"dataset": "digits", "lr": "0.1,0.2", "val_split": "0.1"}))
    study = Study("sweep", plan.settings())
    assert list(study.values) == ["train_acc", "val_acc", "test_acc"]
    ledger = Ledger(study)
    # lr0.1 tests better, lr0.2 validates better: the validation accuracy decides
    for index, (test, val) in enumerate([(90.0, 80.0), (85.0, 88.0)]):
        outcome = fake_outcomes(study.settings[index], [test])[0]
        for row in outcome.result.metrics:
            row |= {"val_loss": 0.5, "val_acc": val}
        record(ledger, index, [outcome])
    summary = summary_frame(study, ledger.runs_frame())
    assert list(summary["final_val_acc_mean"]) == [80.0, 88.0]
    assert list(summary["best"]) == [0, 1] and best_by(summary) == "validation accuracy"
    assert list(summary["val_split"]) == [0.1, 0.1]

    # Without validation images for every setting of a dataset, test accuracy decides.
    unvalidated = summary.assign(final_val_acc_mean=[80.0, float("nan")])
    assert list(best_mask(unvalidated)) == [True, False]
    assert best_by(unvalidated) == "testing accuracy"
    two = pd.concat([summary, unvalidated.assign(dataset="mnist")], ignore_index=True)
    assert list(best_mask(two)) == [False, True, True, False]
    assert best_by(two) == "validation accuracy (mnist: testing accuracy)"
    plain_study = Study(
        "sweep", [replace(s, config=replace(s.config, val_split=0.0)) for s in study.settings]
    )
    assert list(plain_study.values) == ["train_acc", "test_acc"]


def test_means_that_show_alike_are_tied_for_best_despite_float_rounding():
    # both 49,436 correct of 5 x 10,000: 98.872, one computed 2.8e-14 above the other
    summary = pd.DataFrame({
        "dataset": ["mnist"] * 3, "setting": ["relu", "tanh", "elu"], "n": [5] * 3,
        "diverged": [0] * 3, "final_test_acc_mean": [98.87199999999999, 98.87200000000001, 98.5],
    })  # fmt: skip
    assert list(best_mask(summary)) == [True, True, False]
    # later sections take the first of them in the study file's order
    from lenetcli.commands.course.tables import best_row

    assert best_row(summary.assign(best=best_mask(summary).astype(int)))["setting"] == "relu"
