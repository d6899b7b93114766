"""A run's results: the statuses a run goes through, metrics.csv's columns, and the one test
of divergence that every command applies."""

from __future__ import annotations

import math

from lenetcli.config import TrainConfig
from lenetcli.errors import warn
from lenetcli.science.engine import MemberResult

METRIC_COLUMNS = [
    "seed", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds",
]  # fmt: skip
FINISHED, DIVERGED, PENDING = "finished", "diverged", "pending"
TRAINED = (FINISHED, DIVERGED)
# TrainConfig fields that a setting shares by all its runs (seed and repeats make the runs).
HYPERPARAMETERS = [f for f in TrainConfig.field_names() if f not in ("dataset", "seed", "repeats")]


def warn_diverged(which: str) -> None:
    """A diverged run's numbers mean nothing: say so, even with --quiet."""
    warn(
        f"{which} diverged (a loss that is not a finite number): such accuracies mean nothing, "
        "and a smaller --lr usually helps"
    )


def diverged(result: MemberResult) -> bool:
    """A run diverged when its final training or test loss is not a finite number."""
    last = result.metrics[-1]
    return not (math.isfinite(last["train_loss"]) and math.isfinite(last["test_loss"]))


def diverged_seeds(results: list[MemberResult]) -> list[int]:
    return [r.seed for r in results if diverged(r)]
