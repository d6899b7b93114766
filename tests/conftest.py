"""Shared fixtures and helpers. Real-dataset tests need $LENET_DATA_DIR; under CI its absence is a failure."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from lenetcli.errors import LenetError
from lenetcli.science.data import expected_files, get_spec, missing_files


def one_line_error(call) -> str:
    """The message of the LenetError that call() raises, checked to be one line."""
    with pytest.raises(LenetError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    return message


@dataclass
class EveryJobFails:
    """An executor whose every job fails, as a cluster's might where no worker has the data."""

    study: object
    datasets: dict
    device: object
    reporter: object

    def run(self, jobs, on_done, on_failed=None):
        for job in jobs:
            on_failed(job, "FileNotFoundError: no MNIST here")


def real_data_root(name: str) -> Path:
    """The folder holding dataset `name`, or skip (locally) / fail (CI) when it is missing."""
    root = os.environ.get("LENET_DATA_DIR")
    problem = None
    if not root:
        problem = "LENET_DATA_DIR is not set"
    elif missing_files(get_spec(name), Path(root)):
        problem = f"{name} files missing under {root}: {[str(p) for p in expected_files(get_spec(name), Path(root))]}"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; .ci/run must prepare the offline datasets")
        pytest.skip(
            f"{problem} (run python ../shared/data/prepare.py DIR and export LENET_DATA_DIR=DIR)"
        )
    return Path(root)


@pytest.fixture
def mnist_root() -> Path:
    return real_data_root("mnist")


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """The tests train tiny models: one thread is as fast as two, and on a busy two-core
    machine two threads per process spin against each other and run many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def small_disk(tmp_path):
    """A real, nearly full disk: a 128 KiB tmpfs mounted for the test (root only; skipped
    where it cannot be mounted, e.g. in a container without the privilege; the tests that
    simulate ENOSPC run everywhere)."""
    import shutil
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(disk)]
    if shutil.which("mount") is None or subprocess.run(mount, capture_output=True).returncode:
        pytest.skip("a small tmpfs cannot be mounted here (needs root)")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def drawn_titles(figure) -> list[str]:
    """A figure's title and its panels' titles."""
    titles = [figure.get_suptitle(), *(ax.get_title() for ax in figure.axes)]
    return [t for t in titles if t]


def record_titles(patch: pytest.MonkeyPatch, drawn: list[str]) -> None:
    """Have every figure saved from now on add its titles to drawn."""
    from matplotlib.figure import Figure as MplFigure

    savefig = MplFigure.savefig

    def recording(figure, *args, **kwargs):
        drawn.extend(drawn_titles(figure))
        return savefig(figure, *args, **kwargs)

    patch.setattr(MplFigure, "savefig", recording)
