"""Seconds per model-epoch: the textbook PyTorch loop against lenetcli's engine, on MNIST.

    python benchmarks/bench_engine.py [--data-dir DIR] [--epochs 1] [--device auto] [--group 5]

Each variant runs in its own process, one after the other, on the same data, so that its
peak memory is its own and no variant warms the other's caches:

- textbook: torchvision's MNIST with a per-sample ToTensor + Normalize transform,
  DataLoader(batch_size=32, shuffle=True), Adam(lr=0.001), LeNet-5 (the same module).
- engine x1: lenetcli's engine, one model (batch 32, Adam, lr 0.001).
- engine x5: lenetcli's engine, five seeds, grouped as the engine chooses by default
  (one group of five: up to 10 on the CPU and 64 on a GPU).
- engine x5 grouped: the five seeds forced into one group (--group-size 5).

Prints seconds per model-epoch, the ratios to the textbook loop, final test accuracy and
peak memory (resident set on the CPU, allocated device memory on CUDA). This is a benchmark,
not a test: the numbers depend on the machine, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_textbook(data_dir: Path, epochs: int, device: torch.device) -> dict:
    """The loop of the PyTorch tutorials, with lenetcli's LeNet-5 so the model is the same."""
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from lenetcli.science.engine import init_model
    from lenetcli.science.model import Architecture

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    train_set = datasets.MNIST(data_dir, train=True, download=False, transform=transform)
    test_set = datasets.MNIST(data_dir, train=False, download=False, transform=transform)
    torch.manual_seed(42)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=1000)
    model = init_model(Architecture(), 42).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    started = time.perf_counter()
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
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    return {
        "seconds_per_model_epoch": seconds / epochs,
        "test_acc": [100 * correct / len(test_set)],
    }


def run_engine(
    data_dir: Path, epochs: int, device: torch.device, group: int, graph: bool, group_size
) -> dict:
    from lenetcli.config import TrainConfig
    from lenetcli.science.data import load_dataset
    from lenetcli.science.engine import train

    data = load_dataset("mnist", data_dir, download=False)
    config = TrainConfig(dataset="mnist", epochs=epochs, repeats=group)
    started = time.perf_counter()
    results = train(config, data, device, group_size=group_size, use_graph=graph)
    seconds = time.perf_counter() - started
    return {
        "seconds_per_model_epoch": seconds / epochs / group,
        "test_acc": [r.metrics[-1]["test_acc"] for r in results],
    }


def run_variant(args) -> None:
    """Child process: run one variant, print one JSON line."""
    from lenetcli.science.engine import resolve_device

    device = resolve_device(args.device)
    if device.type == "cuda":
        # Start CUDA before the clock: its one-off start-up is no part of an epoch's cost.
        torch.zeros(1, device=device)
        torch.cuda.synchronize(device)
    if args.variant == "textbook":
        result = run_textbook(args.data_dir, args.epochs, device)
    else:
        group_size = args.group if args.variant == "grouped" else None
        result = run_engine(
            args.data_dir, args.epochs, device, args.group, not args.no_graph, group_size
        )
    result["peak_memory_mb"] = peak_memory_mb(device)
    result["device"] = str(device)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("LENET_DATA_DIR"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--group", type=int, default=5)
    parser.add_argument("--no-graph", action="store_true", help="engine without CUDA graphs")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.data_dir is None:
        parser.error("give --data-dir or set LENET_DATA_DIR (a folder with MNIST/raw/...)")
    if args.variant:
        run_variant(args)
        return

    variants = [
        ("textbook", "textbook", 1),
        ("engine x1", "engine", 1),
        (f"engine x{args.group}", "engine", args.group),
        (f"engine x{args.group} grouped", "grouped", args.group),
    ]
    rows = []
    for name, variant, group in variants:
        command = [
            sys.executable, __file__, "--variant", variant, "--group", str(group),
            "--data-dir", str(args.data_dir), "--epochs", str(args.epochs), "--device", args.device,
        ]  # fmt: skip
        if args.no_graph:
            command.append("--no-graph")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            # Say why and go on: on a lent GPU, one failed variant must not hide the others.
            print(f"{name}: FAILED\n{done.stderr[-3000:]}", file=sys.stderr, flush=True)
            continue
        rows.append((name, json.loads(done.stdout.strip().splitlines()[-1])))
        print(f"{name}: {done.stdout.strip().splitlines()[-1]}", file=sys.stderr, flush=True)
    if not rows or rows[0][0] != "textbook":
        sys.exit("the textbook loop failed: no baseline to compare with")

    baseline = rows[0][1]["seconds_per_model_epoch"]
    print(
        f"MNIST, batch 32, Adam lr 0.001, {args.epochs} epoch(s), device {rows[0][1]['device']}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(
        f"{'variant':<18} {'s/model-epoch':>14} {'vs textbook':>12} {'test acc (%)':>14} {'peak MB':>9}"
    )
    for name, row in rows:
        seconds = row["seconds_per_model_epoch"]
        acc = sum(row["test_acc"]) / len(row["test_acc"])
        print(
            f"{name:<18} {seconds:>14.2f} {seconds / baseline:>11.2f}x {acc:>14.2f} "
            f"{row['peak_memory_mb']:>9.0f}"
        )


if __name__ == "__main__":
    main()
