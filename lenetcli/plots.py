"""Figures. Each function returns a matplotlib Figure; outputs.save_figure writes it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

TRAIN_COLOR, TEST_COLOR = "tab:blue", "tab:orange"


def mean_std_by_epoch(metrics: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean and sample std of a column per epoch, over the seeds present (std 0 for one seed)."""
    stats = metrics.groupby("epoch")[column].agg(["mean", "std"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    return stats


def plot_band(ax, metrics: pd.DataFrame, column: str, label: str, color: str) -> None:
    stats = mean_std_by_epoch(metrics, column)
    ax.plot(stats["epoch"], stats["mean"], marker="o", markersize=3, label=label, color=color)
    ax.fill_between(
        stats["epoch"], stats["mean"] - stats["std"], stats["mean"] + stats["std"],
        color=color, alpha=0.2, linewidth=0,
    )  # fmt: skip


def curves_figure(metrics: pd.DataFrame, title: str):
    """Loss and accuracy per epoch, train and test; a +-1 std band when several seeds ran."""
    seeds = metrics["seed"].nunique()
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, kind in ((loss_ax, "loss"), (acc_ax, "acc")):
        plot_band(ax, metrics, f"train_{kind}", "train", TRAIN_COLOR)
        plot_band(ax, metrics, f"test_{kind}", "test", TEST_COLOR)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    loss_ax.set_ylabel("loss")
    acc_ax.set_ylabel("accuracy (%)")
    spread = f" (mean ± std over {seeds} seeds)" if seeds > 1 else ""
    fig.suptitle(title + spread)
    fig.tight_layout()
    return fig
