"""The course study's own tables, computed from a section's summary.csv and runs.csv:
the best setting, the train-test gap (overfitting.csv), the cross-dataset table
(datasets.csv) and the memorisation table (memorisation.csv).
"""

from __future__ import annotations

import pandas as pd

from lenetcli.errors import LenetError
from lenetcli.outputs.tables import shown
from lenetcli.studies.results import trained_runs


def best_row(summary: pd.DataFrame, dataset: str | None = None) -> pd.Series:
    """The best setting's row of a summary, on dataset if given, else on the summary's first
    dataset. On a tie (best_mask: means that show alike) the first of them in summary.csv's
    order, which is the study file's: the same setting on every call, and the one that
    report's best_sentence names as taken."""
    dataset = summary["dataset"].iloc[0] if dataset is None else dataset
    rows = summary[(summary["dataset"] == dataset) & (summary["best"] == 1)]
    if rows.empty:
        raise LenetError(
            f"no setting on {dataset} has a run that did not diverge, so none is best; "
            "choose smaller learning rates in the study file"
        )
    return rows.iloc[0]


def gap_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting, the train-test gap (final training minus final testing accuracy, in
    points) over its trained runs: the overfitting measure of a weight-decay study. Training
    accuracy is averaged over an epoch's batches while the model changed, so a small gap
    can be negative."""
    trained = trained_runs(runs)
    gaps = trained.assign(gap=trained["final_train_acc"] - trained["final_test_acc"])
    return (
        gaps.groupby(["dataset", "setting"], sort=False)
        .agg(
            weight_decay=("weight_decay", "first"),
            n=("seed", "size"),
            final_train_acc_mean=("final_train_acc", "mean"),
            final_test_acc_mean=("final_test_acc", "mean"),
            gap_mean=("gap", "mean"),
            gap_std=("gap", "std"),
            gap_min=("gap", "min"),
            gap_max=("gap", "max"),
        )  # fmt: skip
        .reset_index()
    )


DATASET_TABLE_STATS = ["mean", "std", "best", "min", "max"]


def datasets_table(best: pd.Series, summary: pd.DataFrame, source: str, here: str) -> pd.DataFrame:
    """The cross-dataset table: the best setting on best_of's dataset, then on each other
    dataset; mean, std, best, min and max of training and testing accuracy, ranked by the
    mean testing accuracy (rank 1 the highest)."""
    rows = pd.concat(
        [best.to_frame().T.assign(section=source), summary.assign(section=here)],
        ignore_index=True,
    )
    columns = ["dataset", "setting", "section", "epochs", "n", "diverged"]
    for value in ("train_acc", "test_acc"):
        columns += [f"final_{value}_{stat}" for stat in DATASET_TABLE_STATS]
    table = rows[columns].infer_objects()
    # by the means as the table shows them, stable: datasets that show the same mean are
    # tied, keep their order (best_of's first) and share a rank (1, 1, 3), as the
    # discussion's ranking says (discussion.dataset_ranking)
    mean = table["final_test_acc_mean"].map(shown)
    table = table.assign(rank=mean.rank(method="min", ascending=False).astype(int))
    order = mean.sort_values(ascending=False, kind="stable").index
    table = table.loc[order, ["rank", *columns]]
    return table.reset_index(drop=True)


def memorisation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per noise setting, over its trained runs: final test accuracy beside the peak (each
    run's highest test accuracy over the epochs, chosen on the test set) and its epoch, and
    the final training accuracy against the noisy and the true labels."""
    trained = trained_runs(runs)
    groups = trained.groupby(["setting", "noise_type", "noise_rate"], sort=False)
    table = groups.agg(
        epochs=("epochs", "first"), n=("seed", "size"),
        final_test_acc_mean=("final_test_acc", "mean"), final_test_acc_std=("final_test_acc", "std"),
        peak_test_acc_mean=("best_test_acc", "mean"), peak_test_acc_std=("best_test_acc", "std"),
        peak_epoch_mean=("best_epoch", "mean"), peak_epoch_min=("best_epoch", "min"),
        peak_epoch_max=("best_epoch", "max"),
        final_train_acc_noisy_mean=("final_train_acc", "mean"),
        final_train_acc_true_mean=("final_train_acc_clean", "mean"),
    ).reset_index()  # fmt: skip
    table["peak_minus_final"] = table["peak_test_acc_mean"] - table["final_test_acc_mean"]
    return table
