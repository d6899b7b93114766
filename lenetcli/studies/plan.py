"""The plan of a study: which runs train together, decided before anything trains."""

from __future__ import annotations

import torch

from lenetcli.config import TrainConfig
from lenetcli.science.data import Dataset
from lenetcli.science.engine import architecture_for, group_size_cap, seed_groups


def groups(
    config: TrainConfig, data: Dataset, device: torch.device, group_size, seeds=None
) -> list[list[int]]:
    """The seeds that train together (all the config's, or these), as engine.train will group
    them: recorded in config.json, since a seed trained in another group gets slightly
    different numbers."""
    arch = architecture_for(config, data.spec)
    cap = group_size_cap(device, arch, config.batch_size, group_size)
    return seed_groups(config.seeds if seeds is None else seeds, cap)
