"""Probe: where one CPU training step of a LeNet-5 group spends its time.

    python benchmarks/probe_step.py [--group 5] [--profile] [--onednn]

Random uint8 MNIST-sized images, batch 32, fused Adam, the engine's model and loss (as
`probe_bf16.py`): 50 warm-up steps, then 300 timed ones (ms per step, median and p25, and
seconds per model-epoch: median x 1,875 steps / group size). --profile adds torch.profiler's
table (self time per operation and input shape, 100 steps); --onednn prints oneDNN's verbose
lines for one step (which implementation and memory formats each convolution uses, and its
time). Run it alone: on two cores anything else running beside it scatters the figures.

It runs in a fresh process, so the allocator can be compared from outside, e.g.
`LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python benchmarks/probe_step.py`
or `MALLOC_TRIM_THRESHOLD_=1073741824 python benchmarks/probe_step.py`; docs/performance.md
says what that measured, here and in the engine.
"""

import argparse
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile

from lenetcli.science.engine import member_losses, normalize, plane_stats
from lenetcli.science.model import Architecture, LeNet5, LeNetGroup

BATCH, WARMUP, STEPS, N = 32, 50, 300, 60_000


def make_step(group_size: int):
    """A training step over indices (G, B), as the engine's eager CPU step."""
    torch.manual_seed(0)
    images = torch.randint(0, 256, (N, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (N,)).expand(group_size, -1)
    stats = (torch.tensor([0.1307]).view(1, 1, 1), torch.tensor([0.3081]).view(1, 1, 1))
    planes = plane_stats(stats, group_size)
    group = LeNetGroup([LeNet5(Architecture()) for _ in range(group_size)])
    optimizer = torch.optim.Adam(group.parameters(), lr=1e-3, fused=True)

    def step(idx: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        logits = group.forward_planes(normalize(group.planes(images[idx.t()]), planes))
        member_losses(logits, labels.gather(1, idx), "cross-entropy").sum().backward()
        optimizer.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--onednn", action="store_true")
    args = parser.parse_args()
    step = make_step(args.group)
    batches = [torch.randint(0, N, (args.group, BATCH)) for _ in range(WARMUP + STEPS)]
    seconds = []
    for i, idx in enumerate(batches):
        started = time.perf_counter()
        step(idx)
        if i >= WARMUP:
            seconds.append(time.perf_counter() - started)
    seconds.sort()
    median = statistics.median(seconds)
    print(
        f"group {args.group}, {torch.get_num_threads()} threads: {median * 1e3:.2f} ms/step "
        f"median, {seconds[len(seconds) // 4] * 1e3:.2f} p25, "
        f"{median * 1875 / args.group:.2f} s/model-epoch"
    )
    if args.profile:
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            for idx in batches[:100]:
                step(idx)
        table = prof.key_averages(group_by_input_shape=True)
        print(table.table(sort_by="self_cpu_time_total", row_limit=25))
    if args.onednn:
        with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
            step(batches[0])


if __name__ == "__main__":
    main()
