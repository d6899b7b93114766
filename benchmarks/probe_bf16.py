"""Probe: one training step of a LeNet-5 group on the CPU in float32 and under bfloat16
autocast (oneDNN; AMX where the CPU has it), interleaved step by step in one process.

    python benchmarks/probe_bf16.py [GROUP_SIZE]

Random uint8 MNIST-sized images, batch 32, fused Adam, 300 steps per variant (the first 20
left out). Prints ms per step (median, p25) and seconds per model-epoch (median x 1,875 steps
/ group size). The engine does not use bfloat16: docs/performance.md says what this measured.
"""

import statistics
import sys
import time

import torch

from lenetcli.science.engine import member_losses, normalize, plane_stats
from lenetcli.science.model import Architecture, LeNet5, LeNetGroup

GROUP = int(sys.argv[1]) if len(sys.argv) > 1 else 5
BATCH, STEPS, WARMUP, N = 32, 300, 20, 60_000


def make_step(images, labels, stats, bf16: bool):
    group = LeNetGroup([LeNet5(Architecture()) for _ in range(GROUP)])
    optimizer = torch.optim.Adam(group.parameters(), lr=1e-3, fused=True)
    targets, planes = labels.expand(GROUP, -1), plane_stats(stats, GROUP)

    def step(idx):
        optimizer.zero_grad(set_to_none=True)
        x = normalize(group.planes(images[idx.t()]), planes)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = group.forward_planes(x)
        member_losses(logits.float(), targets.gather(1, idx), "cross-entropy").sum().backward()
        optimizer.step()

    return step


def main() -> None:
    torch.manual_seed(0)
    images = torch.randint(0, 256, (N, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (N,))
    stats = (torch.tensor([0.1307]).view(1, 1, 1), torch.tensor([0.3081]).view(1, 1, 1))
    variants = {"float32": make_step(images, labels, stats, False),
                "bfloat16": make_step(images, labels, stats, True)}  # fmt: skip
    times = {name: [] for name in variants}
    for _ in range(STEPS):
        idx = torch.randint(0, N, (GROUP, BATCH))
        for name, step in variants.items():
            started = time.perf_counter()
            step(idx)
            times[name].append(time.perf_counter() - started)
    for name, seconds in times.items():
        kept = sorted(seconds[WARMUP:])
        median = statistics.median(kept)
        print(
            f"{name}: group {GROUP}, {median * 1e3:.2f} ms/step median, "
            f"{kept[len(kept) // 4] * 1e3:.2f} p25, {median * 1875 / GROUP:.2f} s/model-epoch"
        )


if __name__ == "__main__":
    main()
