"""The training engine: a configuration and data in, per-epoch metrics and trained models out.

Every run trains a *group*: its members are stacked into one `LeNetGroup` and step together,
each with its own initialisation and shuffling (from its seed), its own learning rate and weight
decay, and optionally its own training labels (label noise). Everything that shapes the
computation (dataset, subsets, validation split, batch size, epochs, activation, pooling, loss,
optimizer kind, lr schedule kind) is the configuration's, shared by all. A single model is a
group of one. The engine knows nothing of the command line or of files; progress goes to an
optional `Reporter`.

On CUDA the whole training step (batch gather from the resident dataset, forward, backward,
optimizer step) is captured once in a CUDA graph and replayed; the last, smaller batch of an
epoch runs eagerly through the same model and optimizer.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field, replace
from itertools import pairwise

import torch
import torch.nn.functional as F

from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError
from lenetcli.science.data import Dataset, DatasetSpec, Split
from lenetcli.science.model import Architecture, LeNet5, LeNetGroup, count_parameters
from lenetcli.science.optim import SGD_MOMENTUM, MemberwiseOptimizer

# Images (summed over a group's members) per evaluation forward pass. A GPU wants large
# batches; on the CPU 2,048 is as fast as larger ones and keeps peak memory low (20,000 grey
# images alone make a 376 MB first feature map).
EVAL_IMAGES = {"cuda": 32768, "mps": 8192, "cpu": 2048}
# The fewest images per member in an evaluation batch. Up to 0.2.0 it was 256 on every
# device, so a CPU group of 35 evaluated 8,960 images per forward: a 168 MB first feature
# map, most of the peak memory of a noise study across settings, and twice the time of
# batches of 32 (measured: 9.2 against 4.0-4.9 s for 10,000 test images).
EVAL_MIN_IMAGES = {"cuda": 256, "mps": 256, "cpu": 32}
# Seconds between live metric updates, timed on the host. Each update reads the running totals
# back from the device (a sync), so the device is synced no more often than this.
LIVE_SECONDS = 0.5


# --------------------------------------------------------------------------- devices


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise LenetError(f"unknown device '{name}'; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise LenetError(
                f"device '{name}' asked for, but no CUDA GPU is available; use --device cpu or auto"
            )
        if device.index is not None and device.index >= count:
            raise LenetError(
                f"device '{name}' does not exist: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise LenetError(
                f"device '{name}' asked for, but MPS is not available; use --device cpu or auto"
            )
    elif device.type != "cpu":
        raise LenetError(f"unsupported device '{name}'; use auto, cpu, cuda, cuda:N or mps")
    return device


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    import platform

    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Member:
    """One model of a group: its seed and, where it differs from the configuration's, its own
    learning rate and weight decay (None: the configuration's)."""

    seed: int
    lr: float | None = None
    weight_decay: float | None = None

    def resolved(self, config: TrainConfig) -> Member:
        """This member with the configuration's values filled in where it has none."""
        lr = config.lr if self.lr is None else self.lr
        decay = config.weight_decay if self.weight_decay is None else self.weight_decay
        return Member(self.seed, lr, decay)


def member_config(config: TrainConfig, member: Member) -> TrainConfig:
    """The configuration that trains this member alone, as `lenet train` would."""
    member = member.resolved(config)
    return replace(
        config, seed=member.seed, repeats=1, lr=member.lr, weight_decay=member.weight_decay
    ).validate()


@dataclass
class MemberResult:
    """One trained model of a group: its seed, one metrics row per epoch, the model, and the
    member it is (its seed, learning rate and weight decay)."""

    seed: int
    metrics: list[dict] = field(default_factory=list)
    model: LeNet5 | None = None
    member: Member | None = None


class Reporter:
    """Receives progress from the engine. The default does nothing; the CLI shows it.

    Reporters are context managers so that a display can be closed even when training fails.
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None: ...

    def start_group(self, seeds: list[int], epochs: int, batches: int) -> None: ...

    def batch(self, epoch: int, done: int, loss: float, acc: float) -> None: ...

    def epoch(self, epoch: int, rows: list[dict]) -> None: ...

    def message(self, text: str) -> None: ...


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training. `results` holds what had finished: every member's metrics of
    its finished epochs, and a model only for members whose training had ended."""

    def __init__(self, results: list[MemberResult]):
        super().__init__()
        self.results = results


# --------------------------------------------------------------------------- training


def architecture_for(config: TrainConfig, spec: DatasetSpec) -> Architecture:
    return Architecture(spec.channels, spec.size, len(spec.classes), config.activation, config.pool)


def init_model(arch: Architecture, seed: int) -> LeNet5:
    """A freshly initialised LeNet-5 whose weights depend on the seed alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LeNet5(arch)


def train(
    config: TrainConfig,
    data: Dataset,
    device: torch.device,
    seeds: list[int] | None = None,
    train_labels: torch.Tensor | None = None,
    group_size: int | None = None,
    use_graph: bool = True,
    reporter: Reporter | None = None,
    members: list[Member] | None = None,
) -> list[MemberResult]:
    """Train one model per member, in groups of at most group_size, and return their results in
    the members' order.

    members: each model's seed, learning rate and weight decay (default: one per seed, seeds
    default config.seeds, with the configuration's lr and weight decay). An lr schedule scales
    each member's own learning rate. train_labels, if given, is (len(members), N): each
    member's own training labels (e.g. noisy ones); the metrics then also hold
    train_acc_clean, accuracy against the true labels. With a validation split (data.val),
    they also hold val_loss and val_acc.
    """
    if members is not None and seeds is not None:
        raise ValueError("give seeds or members, not both")
    if members is None:
        members = [Member(seed) for seed in (config.seeds if seeds is None else seeds)]
    for member in members:
        member_config(config, member)  # a member's own lr or weight decay must be valid too
    members = [member.resolved(config) for member in members]
    if train_labels is not None and train_labels.shape != (len(members), len(data.train)):
        raise ValueError("train_labels must have shape (len(members), training samples)")
    cap = group_size_cap(device, architecture_for(config, data.spec), config.batch_size, group_size)
    train_split, test_split = data.train.to(device), data.test.to(device)
    val_split = None if data.val is None else data.val.to(device)
    results = [MemberResult(m.seed, member=m) for m in members]
    try:
        # Deterministic cuDNN convolutions, so that a GPU too gives the same numbers for the
        # same seed (the fastest algorithms may sum in a different order from run to run).
        with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True):
            for part in group_slices(len(members), cap):
                group = results[part]
                labels = None if train_labels is None else train_labels[part]
                train_group(
                    config, data.spec, train_split, test_split, val_split, device, group,
                    None if labels is None else labels.to(device), use_graph,
                    reporter or Reporter(),
                )  # fmt: skip
    except KeyboardInterrupt:
        raise TrainingInterrupted(results) from None
    return results


GROUP_MEMORY_SHARE = 0.25  # of a device's memory, the most one group is sized to fill


def group_size_cap(
    device: torch.device, arch: Architecture, batch_size: int, requested: int | None = None
) -> int:
    """Most members trained as one group: `requested` (--group-size), else 10 on the CPU (where
    groups of 5 and 10 measured equally fast per model, 2.2-2.8x faster than one model at a
    time; docs/performance.md) and 64 on a GPU, fewer only where they would not fit in a
    quarter of the device's memory.

    Total memory, not free memory: which seeds train together changes their numbers at the
    level of float rounding, so the grouping must not change from one run to the next.
    """
    if requested is not None:
        return requested
    limit = 10 if device.type == "cpu" else 64
    # float32 activations and their gradients: a training batch and an evaluation share (at
    # most 512 images per member); weights times 8 for gradients, optimizer state and slack
    activations = 4 * 4 * 6 * arch.image_size**2 * (batch_size + 512)
    per_member = activations + 4 * 8 * count_parameters(LeNet5(arch))
    return max(1, min(limit, int(total_memory(device) * GROUP_MEMORY_SHARE) // per_member))


def total_memory(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows): assume 8 GiB
        return 8 * 2**30


def group_slices(members: int, cap: int) -> list[slice]:
    """Where the groups of at most cap members start and end, in training order."""
    return [slice(start, start + cap) for start in range(0, members, cap)]


def seed_groups(seeds: list[int], cap: int) -> list[list[int]]:
    """The seeds in training order, cut into the groups that train() trains them in."""
    return [seeds[part] for part in group_slices(len(seeds), cap)]


def train_group(
    config: TrainConfig,
    spec: DatasetSpec,
    train_split: Split,
    test_split: Split,
    val_split: Split | None,
    device: torch.device,
    results: list[MemberResult],
    train_labels: torch.Tensor | None,
    use_graph: bool,
    reporter: Reporter,
) -> None:
    """Train the members of `results` as one group, adding a metrics row per epoch to each
    as it ends, and each trained model at the end."""
    members = [result.member for result in results]
    seeds = [m.seed for m in members]
    arch = architecture_for(config, spec)
    group = LeNetGroup([init_model(arch, s) for s in seeds]).to(device)
    graph = use_graph and device.type == "cuda"
    if graph and config.lr_schedule != "constant" and share_hyperparameters(members):
        # A captured torch.optim step keeps the learning rate it was captured with (a
        # MemberwiseOptimizer's are tensors, rewritten in place: it follows a schedule).
        reporter.message(f"--lr-schedule {config.lr_schedule}: training without CUDA graphs")
        graph = False
    optimizer = make_optimizer(config, group, members, device, capturable=graph)
    stats = channel_stats(spec, device)
    clean = train_split.labels.expand(len(seeds), -1)
    targets = clean if train_labels is None else train_labels
    shufflers = [torch.Generator().manual_seed(s) for s in seeds]
    n, batch = len(train_split), config.batch_size
    n_full, remainder = divmod(n, batch)
    alone = [member_config(config, m) for m in members]

    step = StepRunner(group, optimizer, config.loss, train_split.images, targets, clean, stats)
    if graph and n_full > 0:
        step.capture(batch, reporter)

    reporter.start_group(seeds, config.epochs, n_full + (remainder > 0))
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        lrs = [c.lr_at(epoch) for c in alone]  # each member's own lr, scheduled
        set_learning_rates(optimizer, lrs)
        order = torch.stack([torch.randperm(n, generator=g) for g in shufflers]).to(device)
        step.reset_totals()
        live = started + LIVE_SECONDS
        for i in range(n_full + (remainder > 0)):
            step(order[:, i * batch : (i + 1) * batch])
            if time.perf_counter() >= live:
                loss, acc = step.running(min((i + 1) * batch, n))
                reporter.batch(epoch, i + 1, loss, acc)
                live = time.perf_counter() + LIVE_SECONDS
        train_loss, train_acc, train_acc_clean = step.totals(n)
        test_loss, test_acc = evaluate(group, test_split, config.loss, stats)
        if val_split is not None:
            val_loss, val_acc = evaluate(group, val_split, config.loss, stats)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - started
        rows = []
        for m, result in enumerate(results):
            row = {
                "seed": result.seed,
                "epoch": epoch,
                "train_loss": train_loss[m],
                "train_acc": train_acc[m],
                "test_loss": test_loss[m],
                "test_acc": test_acc[m],
                "lr": lrs[m],
                "seconds": seconds,
            }
            if train_labels is not None:
                row["train_acc_clean"] = train_acc_clean[m]
            if val_split is not None:
                row |= {"val_loss": val_loss[m], "val_acc": val_acc[m]}
            result.metrics.append(row)
            rows.append(row)
        if epoch == config.epochs:
            # The models before the last report: a Ctrl-C that the reporter raises there
            # (TrainingInterrupted) keeps every member whole, models with their metrics.
            for m, result in enumerate(results):
                result.model = group.member(m).cpu().eval()
        reporter.epoch(epoch, rows)


def make_optimizer(
    config: TrainConfig,
    group: LeNetGroup,
    members: list[Member],
    device: torch.device,
    capturable: bool,
):
    """torch.optim's Adam or SGD where all members share their learning rate and weight decay
    (the fused Adam kernel is the fastest on CPU and CUDA, and the numbers stay those of earlier
    versions); a `MemberwiseOptimizer` where they differ."""
    params = list(group.parameters())
    if not share_hyperparameters(members):
        lrs, decays = [m.lr for m in members], [m.weight_decay for m in members]
        return MemberwiseOptimizer(params, config.optimizer, lrs, decays)
    lr, decay = members[0].lr, members[0].weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM, weight_decay=decay)
    fused = device.type in ("cpu", "cuda")  # and it can be captured in a graph
    return torch.optim.Adam(params, lr=lr, weight_decay=decay, fused=fused, capturable=capturable)


def share_hyperparameters(members: list[Member]) -> bool:
    """Whether all (resolved) members have the same learning rate and weight decay."""
    return len({(m.lr, m.weight_decay) for m in members}) == 1


def set_learning_rates(optimizer, lrs: list[float]) -> None:
    """Each member's learning rate for the coming epoch."""
    if isinstance(optimizer, MemberwiseOptimizer):
        optimizer.set_learning_rates(lrs)
        return
    for param_group in optimizer.param_groups:  # all members share it (make_optimizer)
        param_group["lr"] = lrs[0]


def channel_stats(spec: DatasetSpec, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (len(spec.mean), 1, 1)
    mean = torch.tensor(spec.mean, device=device).view(shape)
    std = torch.tensor(spec.std, device=device).view(shape)
    return mean, std


def plane_stats(stats, members: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Channel statistics (C, 1, 1) repeated for the G*C channels of `LeNetGroup.planes`."""
    mean, std = stats
    return mean.repeat(members, 1, 1), std.repeat(members, 1, 1)


def normalize(images: torch.Tensor, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """uint8 (..., C, H, W) -> float32 with the dataset's mean and std, on the images' device."""
    mean, std = stats
    return (images.float() / 255.0 - mean) / std


def member_losses(logits: torch.Tensor, targets: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-member mean loss over the batch: logits (G, B, K), targets (G, B) -> (G,).

    cross-entropy of the softmax; mse and l1 between the softmax and one-hot targets; bce,
    binary cross-entropy of each output's sigmoid against one-hot targets."""
    if loss == "cross-entropy":
        per_sample = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none")
        return per_sample.view(targets.shape).mean(1)
    # scatter_ rather than F.one_hot: one_hot checks its input on the host, which a graph forbids
    onehot = torch.zeros_like(logits).scatter_(-1, targets.unsqueeze(-1), 1.0)
    if loss == "bce":
        # binary cross-entropy of the sigmoid outputs against one-hot targets, from the logits
        # (as stable as BCEWithLogitsLoss), averaged over classes and samples as mse and l1 are
        per_element = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
        return per_element.mean(dim=(1, 2))
    diff = logits.softmax(-1) - onehot
    per_element = diff.square() if loss == "mse" else diff.abs()
    return per_element.mean(dim=(1, 2))


class StepRunner:
    """One optimisation step over a batch of indices (G, B), eager or replayed from a graph.

    Running totals (loss, correct answers against the training and the clean labels) stay on
    the device so that a step never waits for the host.
    """

    def __init__(self, group, optimizer, loss, images, targets, clean, stats):
        self.group, self.optimizer, self.loss = group, optimizer, loss
        self.images, self.targets, self.clean = images, targets, clean
        self.plane_stats = plane_stats(stats, group.size)
        self.noisy = targets is not clean  # only then does accuracy on true labels differ
        g, device = group.size, images.device
        self.loss_sum = torch.zeros(g, device=device)
        self.correct = torch.zeros(g, device=device)
        self.correct_clean = torch.zeros(g, device=device)
        self.graph = None
        self.static_idx = None

    def reset_totals(self) -> None:
        for total in (self.loss_sum, self.correct, self.correct_clean):
            total.zero_()

    def _step(self, idx: torch.Tensor) -> None:
        # Member g's images idx[g], laid out side by side while still uint8, then normalised
        x = normalize(self.group.planes(self.images[idx.t()]), self.plane_stats)
        y = self.targets.gather(1, idx)
        logits = self.group.forward_planes(x)
        losses = member_losses(logits, y, self.loss)
        # Summing the members' mean losses gives each member exactly its own gradient.
        losses.sum().backward()
        self.optimizer.step()
        with torch.no_grad():
            predicted = logits.argmax(-1)
            self.loss_sum.add_(losses.detach() * idx.shape[1])
            self.correct.add_((predicted == y).sum(1))
            if self.noisy:
                self.correct_clean.add_((predicted == self.clean.gather(1, idx)).sum(1))

    def __call__(self, idx: torch.Tensor) -> None:
        if self.graph is not None and idx.shape == self.static_idx.shape:
            self.static_idx.copy_(idx)
            self.graph.replay()
            return
        # Eager: the default path, and the last partial batch of an epoch under a graph.
        self.optimizer.zero_grad(set_to_none=self.graph is None)
        self._uncaptured_step(idx)

    def _uncaptured_step(self, idx: torch.Tensor) -> None:
        # A capturable optimizer warns whenever it steps outside a graph; here that is meant
        # (the warm-up before capture, a last partial batch, a capture that failed). Only
        # then: catch_warnings resets Python's record of warnings already shown.
        if not self.optimizer.defaults.get("capturable"):
            self._step(idx)
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*capturable=True.*without")
            self._step(idx)

    def capture(self, batch: int, reporter: Reporter) -> None:
        """Record the whole step in a CUDA graph; on failure, say so and stay eager."""
        device = self.images.device
        params = list(self.group.parameters())
        initial = [p.detach().clone() for p in params]  # before the side stream starts
        self.static_idx = torch.arange(batch, device=device).expand(self.group.size, -1).clone()
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        try:
            # Warm up on a side stream, then capture, touching nothing on the default stream
            # in between (doing so makes the capture fail).
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.optimizer.zero_grad(set_to_none=True)
                    self._uncaptured_step(self.static_idx)
            torch.cuda.current_stream(device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            self.optimizer.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph):
                self._step(self.static_idx)
            self.graph = graph
        except RuntimeError as exc:
            torch.cuda.synchronize(device)
            reporter.message(f"CUDA graph capture failed, training eagerly instead: {exc}")
            self.graph = None
            self.optimizer.zero_grad(set_to_none=True)
        # The warm-up steps changed weights and optimizer state: put both back as they were.
        with torch.no_grad():
            for p, p0 in zip(params, initial, strict=True):
                p.copy_(p0)
            for state in self.optimizer.state.values():
                for value in state.values():
                    if torch.is_tensor(value):
                        value.zero_()
        self.reset_totals()

    def running(self, seen: int) -> tuple[float, float]:
        """Mean loss and accuracy (percent) so far this epoch, averaged over members."""
        return float(self.loss_sum.mean()) / seen, 100.0 * float(self.correct.mean()) / seen

    def totals(self, n: int) -> tuple[list[float], list[float], list[float]]:
        correct_clean = self.correct_clean if self.noisy else self.correct
        return (
            (self.loss_sum / n).tolist(),
            percentages(self.correct, n),
            percentages(correct_clean, n),
        )


def percentages(counts: torch.Tensor, n: int) -> list[float]:
    """100 * count / n in double precision: 86.5, not float32's 86.49999857, so that CSV files,
    summaries and a resumed study agree to the last digit."""
    return [100.0 * count / n for count in counts.tolist()]


def eval_batches(n: int, members: int, device: str) -> list[slice]:
    """The batches of n images that evaluation runs through a group of `members` at once:
    about EVAL_IMAGES[device] images summed over the members, at least EVAL_MIN_IMAGES[device]
    images each.

    They are the batches of 0.2.0 and earlier (at least 256 images each) cut in halves,
    quarters, ... (all alike), and one of those too small to cut (the last, smaller one)
    stays whole. That keeps every number: on the CPU a member's logits for an image are the
    same bit for bit in any batch of 16 images or more (measured for groups of 1 to 35,
    batches of 16 to 20,000), but batches of 1 to 15 sum in another order, and an earlier
    last batch may be that small."""
    images = EVAL_IMAGES.get(device, EVAL_IMAGES["cpu"])
    fewest = EVAL_MIN_IMAGES.get(device, EVAL_MIN_IMAGES["cpu"])
    earlier = max(256, images // members)
    size = earlier
    while size * members > images and size // 2 >= fewest:
        size //= 2  # halves, so that the pieces of an earlier batch are all alike
    batches = []
    for start in range(0, n, earlier):
        stop = min(start + earlier, n)
        cuts = [start + k * size for k in range(max(1, (stop - start) // size))] + [stop]
        batches += [slice(a, b) for a, b in pairwise(cuts)]
    return batches


@torch.inference_mode()
def predict_logits(group: LeNetGroup, images: torch.Tensor, stats) -> torch.Tensor:
    """Logits (G, N, K) of every member over all images, in large batches, in eval mode."""
    group.eval()
    stats = plane_stats(stats, group.size)
    # Filled in place. A small logits tensor kept per batch (for a torch.cat at the end) lands
    # in the holes that the batch's large feature maps leave, so glibc grows its heap for the
    # next batch's maps: in about one noise study in five (groups of 35 and 10) the heap grew
    # by 0.7-1.1 GB during one evaluation, to a peak of 2.0-2.3 GB; filled in place, eight
    # runs in a row peaked at 1.10-1.23 GB.
    logits = torch.empty(group.size, len(images), group.arch.num_classes, device=images.device)
    for batch in eval_batches(len(images), group.size, images.device.type):
        x = images[batch]  # every member sees the same images
        x = group.planes(x.unsqueeze(1).expand(-1, group.size, *x.shape[1:]))
        logits[:, batch] = group.forward_planes(normalize(x, stats))
    group.train()
    return logits


def evaluate(group: LeNetGroup, split: Split, loss: str, stats):
    """Per-member test loss and accuracy (percent)."""
    logits = predict_logits(group, split.images, stats)
    targets = split.labels.expand(group.size, -1)
    losses = member_losses(logits, targets, loss)
    correct = (logits.argmax(-1) == targets).sum(1)
    return losses.tolist(), percentages(correct, len(split))


def predict(
    model: LeNet5, images: torch.Tensor, spec: DatasetSpec, device: torch.device
) -> torch.Tensor:
    """Class probabilities (N, K) of one model over uint8 images, computed on device."""
    group = LeNetGroup([model]).to(device)
    logits = predict_logits(group, images.to(device), channel_stats(spec, device))[0]
    return logits.softmax(-1).cpu()
