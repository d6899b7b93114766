"""Seconds per model-epoch: the textbook PyTorch loop against lenetcli's engine, on MNIST.

    python benchmarks/bench_engine.py [--data-dir DIR] [--epochs 1] [--train-subset N]
        [--test-subset N] [--device auto] [--variants textbook,x1,x5,mixed35] [--json FILE]

All variants run in this one process, one after the other, on the same images (the engine's
class-balanced subset where --train-subset is given, the same indices for the textbook
loop), so that their ratios are measured under the same conditions:

- textbook: torchvision's MNIST with a per-sample ToTensor + Normalize transform,
  DataLoader(batch_size=32, shuffle=True), Adam(lr=0.001), LeNet-5 (the same module),
  the test set evaluated after every epoch.
- x1: lenetcli's engine, one model (batch 32, Adam, lr 0.001).
- x5: the engine, five seeds as one group.
- mixed35: the engine, one mixed group of 35: 7 label-noise settings (symmetric 0, 20, 40,
  60, 80% and pair 20, 40%) x 5 seeds, each member with its own noisy labels, as a noise
  study trains them when settings train together.
- mixed35-cap10: the same 35 in groups of at most 10 (the CPU's default cap). Not run by
  default.

Prints seconds per model-epoch (wall time, and the CPU time of all the process's threads),
the ratios to the textbook loop, final test accuracy (mean,
and min-max over the group's members) and peak memory: the peak resident set of the process
while the variant ran (Linux resets it between variants, /proc/self/clear_refs), and the
peak allocated device memory on CUDA. A benchmark, not a test: compare ratios within one
run, and say how loaded the machine was. On a shared machine the CPU-time ratio with one
thread (OMP_NUM_THREADS=1) measures the work done, whatever else runs: a process that waits
for a core is not charged for the wait (with two threads, a thread spinning for the other
is).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

from lenetcli.config import TrainConfig
from lenetcli.science.data import Dataset, load_dataset
from lenetcli.science.engine import Member, init_model, resolve_device, train
from lenetcli.science.model import Architecture
from lenetcli.science.noise import (
    pair_transition,
    sample_noisy_labels,
    symmetric_transition,
)

SEEDS = [42, 43, 44, 45, 46]
NOISE = [("symmetric", r) for r in (0.0, 0.2, 0.4, 0.6, 0.8)] + [("pair", 0.2), ("pair", 0.4)]
VARIANTS = ("textbook", "x1", "x5", "mixed35", "mixed35-cap10")
DEFAULT_VARIANTS = "textbook,x1,x5,mixed35"


# --------------------------------------------------------------------------- memory


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak: the resident set's high-water mark (Linux) and CUDA's allocator's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux: ru_maxrss below is the peak since the process started
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: torch.device) -> tuple[float, float | None]:
    """(peak resident MB since reset_peak_memory, peak CUDA MB or None)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
    except OSError:
        pass
    cuda = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return rss, cuda


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------- variants


def run_textbook(data_dir: Path, data: Dataset, epochs: int, device: torch.device) -> list[float]:
    """The loop of the PyTorch tutorials, with lenetcli's LeNet-5 so the model is the same.
    Returns the final test accuracy."""
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    train_set = datasets.MNIST(data_dir, train=True, download=False, transform=transform)
    test_set = datasets.MNIST(data_dir, train=False, download=False, transform=transform)
    # the engine's images: its class-balanced subsets, or everything
    train_set = Subset(train_set, data.train.indices.tolist())
    test_set = Subset(test_set, data.test.indices.tolist())
    torch.manual_seed(42)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    model = init_model(Architecture(), 42).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test_loader:
                correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
    return [100 * correct / len(test_set)]


def noisy_members(data: Dataset) -> tuple[list[Member], torch.Tensor]:
    """7 noise settings x 5 seeds: the members and each one's own noisy training labels."""
    true = data.train.labels
    members, labels = [], []
    for s, (kind, rate) in enumerate(NOISE):
        k = len(data.spec.classes)
        matrix = symmetric_transition(k, rate) if kind == "symmetric" else pair_transition(k, rate)
        for r, seed in enumerate(SEEDS):
            members.append(Member(seed))
            labels.append(sample_noisy_labels(true, matrix, 1000 * s + r))
    return members, torch.stack(labels)


def run_engine(variant: str, data: Dataset, config: TrainConfig, device, graph: bool):
    """Train one engine variant; returns its members' final test accuracies."""
    if variant == "x1":
        results = train(config, data, device, seeds=SEEDS[:1], use_graph=graph)
    elif variant == "x5":
        results = train(config, data, device, seeds=SEEDS, group_size=5, use_graph=graph)
    else:
        members, labels = noisy_members(data)
        cap = 35 if variant == "mixed35" else 10
        results = train(
            config, data, device, members=members, train_labels=labels, group_size=cap,
            use_graph=graph,
        )  # fmt: skip
    return [r.metrics[-1]["test_acc"] for r in results]


MODELS = {"textbook": 1, "x1": 1, "x5": 5, "mixed35": 35, "mixed35-cap10": 35}


def run_variant(variant: str, args, data: Dataset, device: torch.device) -> dict:
    config = TrainConfig(
        dataset="mnist", epochs=args.epochs, train_subset=args.train_subset,
        test_subset=args.test_subset,
    )  # fmt: skip
    reset_peak_memory(device)
    synchronize(device)
    started, cpu_started = time.perf_counter(), time.process_time()
    if variant == "textbook":
        accuracy = run_textbook(args.data_dir, data, args.epochs, device)
    else:
        accuracy = run_engine(variant, data, config, device, not args.no_graph)
    synchronize(device)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    rss, cuda = peak_memory_mb(device)
    return {
        "variant": variant,
        "models": MODELS[variant],
        "seconds": seconds,
        "seconds_per_model_epoch": seconds / args.epochs / MODELS[variant],
        "cpu_seconds_per_model_epoch": cpu_seconds / args.epochs / MODELS[variant],
        "test_acc": accuracy,
        "peak_rss_mb": rss,
        "peak_cuda_mb": cuda,
    }


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
    return (
        f"{name}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f} at the start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("LENET_DATA_DIR"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-subset", type=int, default=None, help="training images")
    parser.add_argument("--test-subset", type=int, default=None, help="test images")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--no-graph", action="store_true", help="engine without CUDA graphs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.data_dir is None:
        parser.error("give --data-dir or set LENET_DATA_DIR (a folder with MNIST/raw/...)")
    variants = [v.strip() for v in args.variants.split(",")]
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")

    device = resolve_device(args.device)
    if device.type == "cuda":
        # Start CUDA before the clock: its one-off start-up is no part of an epoch's cost.
        torch.zeros(1, device=device)
        synchronize(device)
    data = load_dataset(
        "mnist", args.data_dir, download=False, train_subset=args.train_subset,
        test_subset=args.test_subset,
    )  # fmt: skip
    about = machine(device)
    print(
        f"MNIST, {len(data.train)} training and {len(data.test)} test images, batch 32, Adam "
        f"lr 0.001, {args.epochs} epoch(s), device {device}; {about}",
        flush=True,
    )
    rows = []
    for variant in variants:
        try:
            row = run_variant(variant, args, data, device)
        except Exception as exc:  # noqa: BLE001 - say why and go on: one failure must not hide the rest
            print(f"{variant}: FAILED: {exc!r}", file=sys.stderr, flush=True)
            continue
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

    base = next((r for r in rows if r["variant"] == "textbook"), None)
    print(
        f"{'variant':<14} {'models':>6} {'s/model-epoch':>14} {'vs textbook':>12} "
        f"{'CPU s/model-epoch':>18} {'vs textbook':>12} {'test acc % (mean, min-max)':>28} "
        f"{'peak RSS MB':>12} {'peak CUDA MB':>13}"
    )
    for row in rows:
        seconds, cpu, acc = (
            row["seconds_per_model_epoch"], row["cpu_seconds_per_model_epoch"], row["test_acc"]
        )  # fmt: skip
        ratio = f"{seconds / base['seconds_per_model_epoch']:.3f}x" if base else "-"
        cpu_ratio = f"{cpu / base['cpu_seconds_per_model_epoch']:.3f}x" if base else "-"
        spread = f"{sum(acc) / len(acc):.2f} ({min(acc):.2f}-{max(acc):.2f})"
        cuda = "-" if row["peak_cuda_mb"] is None else f"{row['peak_cuda_mb']:.0f}"
        print(
            f"{row['variant']:<14} {row['models']:>6} {seconds:>14.3f} {ratio:>12} "
            f"{cpu:>18.3f} {cpu_ratio:>12} {spread:>28} {row['peak_rss_mb']:>12.0f} {cuda:>13}"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": about, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
