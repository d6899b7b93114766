import math
import os
import warnings

import pytest
import torch

from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError
from lenetcli.science import engine
from lenetcli.science.data import load_dataset
from lenetcli.science.engine import (
    Member,
    Reporter,
    TrainingInterrupted,
    eval_batches,
    group_size_cap,
    make_optimizer,
    member_config,
    member_losses,
    predict,
    resolve_device,
    seed_groups,
    train,
)
from lenetcli.science.model import Architecture, LeNetGroup
from lenetcli.science.optim import MemberwiseOptimizer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", train_subset=400, test_subset=200)


class GroupsSeen(Reporter):
    """Records the seeds of every group the engine starts."""

    def __init__(self):
        self.groups = []

    def start_group(self, seeds, epochs, batches):
        self.groups.append(list(seeds))


def test_short_mnist_run_learns(mnist_root):
    data = load_dataset("mnist", mnist_root, download=False, train_subset=2000, test_subset=1000)
    (result,) = train(TrainConfig(epochs=2, train_subset=2000, test_subset=1000), data, CPU)
    assert [row["epoch"] for row in result.metrics] == [1, 2]
    assert result.metrics[-1]["test_acc"] > 85  # chance is 10%
    assert result.metrics[-1]["train_loss"] < result.metrics[0]["train_loss"]


def test_same_seed_same_numbers(digits):
    config = TrainConfig(dataset="digits", epochs=2, batch_size=16)
    first = train(config, digits, CPU)[0]
    second = train(config, digits, CPU)[0]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in first.metrics] == [
        {k: v for k, v in r.items() if k != "seconds"} for r in second.metrics
    ]
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_grouped_runs_are_deterministic(digits):
    config = TrainConfig(dataset="digits", epochs=2, repeats=2)
    first = train(config, digits, CPU, group_size=2)
    second = train(config, digits, CPU, group_size=2)
    for a, b in zip(first, second, strict=True):
        assert [r["test_loss"] for r in a.metrics] == [r["test_loss"] for r in b.metrics]
        assert torch.equal(a.model.fc3.weight, b.model.fc3.weight)


def test_seeds_train_as_one_group_by_default(digits):
    seen = GroupsSeen()
    train(TrainConfig(dataset="digits", epochs=1, repeats=3), digits, CPU, reporter=seen)
    assert seen.groups == [[42, 43, 44]]


def test_different_seeds_differ(digits):
    a, b = train(TrainConfig(dataset="digits", epochs=1, repeats=2), digits, CPU)
    assert (a.seed, b.seed) == (42, 43)
    assert not torch.equal(a.model.conv1.weight, b.model.conv1.weight)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_group_members_match_training_alone(digits, optimizer):
    config = TrainConfig(
        dataset="digits",
        epochs=2,
        batch_size=32,
        optimizer=optimizer,
        lr=0.01 if optimizer == "sgd" else 0.001,
    )
    together = train(config, digits, CPU, seeds=[3, 4], group_size=2)
    alone = [train(config, digits, CPU, seeds=[s])[0] for s in (3, 4)]
    for t, a in zip(together, alone, strict=True):
        for rt, ra in zip(t.metrics, a.metrics, strict=True):
            for key in ("train_loss", "test_loss"):
                assert rt[key] == pytest.approx(ra[key], rel=1e-3, abs=1e-4)
            for key in ("train_acc", "test_acc"):  # one image is 0.25-0.5 points here
                assert abs(rt[key] - ra[key]) <= 0.6
        for pt, pa in zip(t.model.parameters(), a.model.parameters(), strict=True):
            torch.testing.assert_close(pt, pa, rtol=1e-3, atol=1e-4)


def test_group_size_one_gives_exactly_the_numbers_of_training_alone(digits):
    # In a group, a member's sums run in another order: numbers agree to float rounding only
    # (above). Each seed alone, as `lenet train --seed S` trains it, is exact: docs/cli.md.
    config = TrainConfig(dataset="digits", epochs=2, repeats=2)
    one_by_one = train(config, digits, CPU, group_size=1)
    alone = [train(config, digits, CPU, seeds=[s])[0] for s in (42, 43)]
    for a, b in zip(one_by_one, alone, strict=True):
        assert [r["test_loss"] for r in a.metrics] == [r["test_loss"] for r in b.metrics]
        assert torch.equal(a.model.fc3.weight, b.model.fc3.weight)


def test_default_group_size_depends_on_total_memory_not_free_memory(monkeypatch):
    arch = Architecture(in_channels=1, image_size=32, num_classes=10)
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2**22, "SC_AVPHYS_PAGES": 2**22}  # 16 GiB
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert group_size_cap(CPU, arch, 32) == 10
    pages["SC_AVPHYS_PAGES"] = 2**12  # 16 MiB free: busy now, the grouping stays
    assert group_size_cap(CPU, arch, 32) == 10
    pages["SC_PHYS_PAGES"] = 2**16  # a 256 MiB machine: fewer at once
    assert 1 <= group_size_cap(CPU, arch, 32) < 10
    assert group_size_cap(CPU, arch, 32, requested=3) == 3
    assert seed_groups([42, 43, 44, 45, 46], 2) == [[42, 43], [44, 45], [46]]


def test_group_is_split_when_capped(digits):
    config = TrainConfig(dataset="digits", epochs=1, repeats=3)

    seen = GroupsSeen()
    split = train(config, digits, CPU, group_size=2, reporter=seen)
    assert seen.groups == [[42, 43], [44]]
    whole = train(config, digits, CPU, group_size=3)
    assert [r.seed for r in split] == [42, 43, 44]
    for s, w in zip(split, whole, strict=True):
        assert s.metrics[-1]["test_loss"] == pytest.approx(w.metrics[-1]["test_loss"], rel=1e-4)


class CtrlC(Reporter):
    """Ctrl-C as the given epoch of the given group ends."""

    def __init__(self, group, epoch):
        self.at, self.groups = (group, epoch), 0

    def start_group(self, seeds, epochs, batches):
        self.groups += 1

    def epoch(self, epoch, rows):
        if (self.groups, epoch) == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_hands_back_the_finished_epochs(digits):
    config = TrainConfig(dataset="digits", epochs=3, repeats=2)
    with pytest.raises(TrainingInterrupted) as stop:
        train(config, digits, CPU, group_size=1, reporter=CtrlC(group=2, epoch=2))
    first, second = stop.value.results
    assert [r["epoch"] for r in first.metrics] == [1, 2, 3] and first.model is not None
    assert [r["epoch"] for r in second.metrics] == [1, 2] and second.model is None
    alone = train(TrainConfig(dataset="digits", epochs=2, seed=43), digits, CPU)[0]
    assert [r["test_loss"] for r in second.metrics] == [r["test_loss"] for r in alone.metrics]


def test_ctrl_c_as_the_last_epoch_is_reported_keeps_the_whole_group(digits):
    # The models are handed over before the last epoch's report, where a signal surfaces
    config = TrainConfig(dataset="digits", epochs=2, repeats=2)
    with pytest.raises(TrainingInterrupted) as stop:
        train(config, digits, CPU, reporter=CtrlC(group=1, epoch=2))
    whole = train(config, digits, CPU)
    for got, want in zip(stop.value.results, whole, strict=True):
        assert got.model is not None and [r["epoch"] for r in got.metrics] == [1, 2]
        assert torch.equal(got.model.fc3.weight, want.model.fc3.weight)


def test_partial_last_batch_is_trained(digits):
    # 400 samples in batches of 64: six full batches and one of 16, all counted
    class Batches(Reporter):
        def start_group(self, seeds, epochs, batches):
            self.batches = batches

    seen = Batches()
    (result,) = train(
        TrainConfig(dataset="digits", epochs=1, batch_size=64), digits, CPU, reporter=seen
    )
    assert seen.batches == math.ceil(400 / 64) == 7
    # accuracy over the samples trained is a multiple of 1/400: every sample counted once
    assert (result.metrics[0]["train_acc"] * 4) == pytest.approx(
        round(result.metrics[0]["train_acc"] * 4)
    )


def test_own_training_labels_and_clean_accuracy(digits):
    config = TrainConfig(dataset="digits", epochs=3, repeats=2)
    clean = digits.train.labels
    shuffled = clean[torch.randperm(len(clean), generator=torch.Generator().manual_seed(0))]
    results = train(config, digits, CPU, train_labels=torch.stack([clean, shuffled]))
    clean_run, noisy_run = results
    assert clean_run.metrics[-1]["train_acc_clean"] == pytest.approx(
        clean_run.metrics[-1]["train_acc"]
    )
    # a model trained on shuffled labels cannot generalise; the clean one can
    assert noisy_run.metrics[-1]["test_acc"] < 40 < clean_run.metrics[-1]["test_acc"]
    assert torch.equal(digits.train.labels, clean)  # the true labels are untouched


def test_a_schedule_sets_each_epochs_learning_rate(digits):
    constant = TrainConfig(dataset="digits", epochs=2)
    step = TrainConfig(dataset="digits", epochs=2, lr_schedule="step")  # lr/10 in epoch 2
    (a,), (b,) = train(constant, digits, CPU), train(step, digits, CPU)
    assert [row["lr"] for row in b.metrics] == [0.001, pytest.approx(0.0001)]
    assert a.metrics[0]["train_loss"] == b.metrics[0]["train_loss"]  # the same first epoch
    assert a.metrics[1]["train_loss"] != b.metrics[1]["train_loss"]  # a smaller step after


def test_validation_is_measured_every_epoch_on_the_held_out_images():
    data = load_dataset("digits", train_subset=400, test_subset=200, val_split=0.25)
    results = train(TrainConfig(dataset="digits", epochs=2, repeats=2), data, CPU)
    for result in results:
        assert [sorted(row) for row in result.metrics] == [
            sorted(["seed", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr",
                    "seconds", "val_loss", "val_acc"])
        ] * 2  # fmt: skip
        # the final model's accuracy on the validation images, recomputed
        probs = predict(result.model, data.val.images, data.spec, CPU)
        accuracy = 100 * (probs.argmax(1) == data.val.labels).double().mean().item()
        assert result.metrics[-1]["val_acc"] == pytest.approx(accuracy)


@pytest.mark.parametrize("loss", ["cross-entropy", "mse", "l1"])
def test_losses_train(digits, loss):
    (result,) = train(TrainConfig(dataset="digits", epochs=3, loss=loss, lr=0.003), digits, CPU)
    assert result.metrics[-1]["test_acc"] > 30


def test_bce_trains(digits):
    # Slower to start than the others (every output is first pushed towards 0): on these 400
    # images seeds 42-44 reach 69.5-82.5% after 5 epochs, 34.5-49.5% after 3 (measured).
    (result,) = train(TrainConfig(dataset="digits", epochs=5, loss="bce", lr=0.003), digits, CPU)
    assert result.metrics[-1]["test_acc"] > 50  # chance is 10%
    assert result.metrics[-1]["train_loss"] < result.metrics[0]["train_loss"]


def test_member_losses_compare_softmax_with_one_hot():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])  # one member, two samples, two classes
    targets = torch.tensor([[0, 1]])
    p0 = torch.softmax(torch.tensor([2.0, 0.0]), 0)
    expected_mse = (((p0 - torch.tensor([1.0, 0.0])) ** 2).sum() + 2 * 0.25) / 4
    assert member_losses(logits, targets, "mse").item() == pytest.approx(expected_mse.item())
    expected_l1 = ((p0 - torch.tensor([1.0, 0.0])).abs().sum() + 1.0) / 4
    assert member_losses(logits, targets, "l1").item() == pytest.approx(expected_l1.item())


def test_bce_compares_each_outputs_sigmoid_with_one_hot():
    logits = torch.tensor([[[2.0, -1.0], [0.0, 3.0]]])  # one member, two samples, two classes
    targets = torch.tensor([[0, 1]])
    s = torch.sigmoid(logits[0])
    # -[y log s + (1 - y) log(1 - s)] per output, y one-hot; the mean over samples and classes
    expected = -(s[0, 0].log() + (1 - s[0, 1]).log() + (1 - s[1, 0]).log() + s[1, 1].log()) / 4
    assert member_losses(logits, targets, "bce").item() == pytest.approx(expected.item())
    # large logits stay finite (computed from the logits, not from a saturated sigmoid)
    huge = torch.tensor([[[100.0, -100.0]]])
    assert member_losses(huge, torch.tensor([[1]]), "bce").item() == pytest.approx(100.0)


def test_devices():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    with pytest.raises(LenetError, match="unknown device 'gpu7'"):
        resolve_device("gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(LenetError, match="no CUDA GPU is available"):
            resolve_device("cuda")
    else:
        with pytest.raises(LenetError, match="does not exist"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")


class Messages(Reporter):
    """Records the engine's messages (a failed CUDA-graph capture says so in one)."""

    def __init__(self):
        self.messages = []

    def message(self, text):
        self.messages.append(text)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason="CUDA graphs need a CUDA GPU; CI has none"
)
@pytest.mark.parametrize(
    "options, noisy",
    [({}, False), ({"optimizer": "sgd", "lr": 0.01, "loss": "mse"}, True)],
    ids=["adam-cross-entropy", "sgd-mse-noisy-labels"],
)
def test_cuda_graph_matches_eager(digits, options, noisy):
    cuda = torch.device("cuda")
    # 400 % 48 != 0: every epoch ends with a partial batch, run eagerly beside the graph
    config = TrainConfig(dataset="digits", epochs=2, repeats=2, batch_size=48, **options)
    labels = None
    if noisy:
        shuffled = torch.randperm(len(digits.train), generator=torch.Generator().manual_seed(0))
        labels = torch.stack([digits.train.labels, digits.train.labels[shuffled]])
    graph_messages = Messages()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a capturable optimizer stepping outside the graph
        graphed = train(config, digits, cuda, train_labels=labels, reporter=graph_messages)
    assert graph_messages.messages == []  # the capture worked: the graph really ran
    eager = train(config, digits, cuda, train_labels=labels, use_graph=False)
    for g, e in zip(graphed, eager, strict=True):
        for rg, re in zip(g.metrics, e.metrics, strict=True):
            assert rg["train_loss"] == pytest.approx(re["train_loss"], rel=1e-3)
            assert rg["test_acc"] == pytest.approx(re["test_acc"], abs=0.6)
            if noisy:
                assert rg["train_acc_clean"] == pytest.approx(re["train_acc_clean"], abs=0.6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; CI has none")
def test_cuda_runs_are_deterministic(digits):
    cuda = torch.device("cuda")
    config = TrainConfig(dataset="digits", epochs=2, repeats=2, batch_size=48)
    first, second = train(config, digits, cuda), train(config, digits, cuda)
    for a, b in zip(first, second, strict=True):
        assert [r["test_loss"] for r in a.metrics] == [r["test_loss"] for r in b.metrics]
        assert torch.equal(a.model.conv1.weight, b.model.conv1.weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; CI has none")
def test_a_learning_rate_schedule_trains_without_cuda_graphs(digits):
    config = TrainConfig(dataset="digits", epochs=2, lr_schedule="step")
    messages = Messages()
    (result,) = train(config, digits, torch.device("cuda"), reporter=messages)
    assert messages.messages == ["--lr-schedule step: training without CUDA graphs"]
    assert [row["lr"] for row in result.metrics] == [0.001, pytest.approx(0.0001)]


# --------------------------------------------------------------------------- mixed groups


def noisy_labels(labels: torch.Tensor, rate: float, seed: int) -> torch.Tensor:
    """labels with a share `rate` replaced by uniformly drawn classes."""
    generator = torch.Generator().manual_seed(seed)
    noisy = labels.clone()
    flip = torch.rand(len(labels), generator=generator) < rate
    noisy[flip] = torch.randint(0, 10, (int(flip.sum()),), generator=generator)
    return noisy


def assert_same_training(together, alone, loss_rel, weight_rtol, weight_atol):
    """A member trained in a group has the metrics and weights it has when trained alone."""
    assert together.seed == alone.seed
    assert len(together.metrics) == len(alone.metrics)
    for rt, ra in zip(together.metrics, alone.metrics, strict=True):
        assert rt["lr"] == ra["lr"]
        for key in ("train_loss", "test_loss"):
            assert rt[key] == pytest.approx(ra[key], rel=loss_rel)
        assert rt.keys() == ra.keys()
        for key in {"train_acc", "test_acc", "train_acc_clean"} & rt.keys():  # an image: 0.5
            assert abs(rt[key] - ra[key]) <= 0.5
    for pt, pa in zip(together.model.parameters(), alone.model.parameters(), strict=True):
        torch.testing.assert_close(pt, pa, rtol=weight_rtol, atol=weight_atol)


MIXED = {  # a base learning rate, and members that differ from it in lr and weight decay
    "adam": (0.001, [Member(3), Member(4, lr=0.003, weight_decay=1e-3), Member(3, lr=0.0005)]),
    "sgd": (0.01, [Member(3), Member(4, lr=0.03, weight_decay=1e-3), Member(3, lr=0.005)]),
}
DEVICES = [
    pytest.param("cpu"),
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
    ),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_member_of_a_mixed_group_trains_as_it_would_alone(digits, optimizer, device):
    # Other learning rates, another weight decay and other (noisy) labels beside it; 400
    # images in batches of 48 end every epoch with a partial batch of 16.
    lr, members = MIXED[optimizer]
    config = TrainConfig(dataset="digits", epochs=2, batch_size=48, optimizer=optimizer, lr=lr)
    clean = digits.train.labels
    labels = torch.stack([clean, noisy_labels(clean, 0.3, 1), noisy_labels(clean, 0.5, 2)])
    dev = torch.device(device)
    together = train(config, digits, dev, members=members, train_labels=labels)
    assert [r.member for r in together] == [m.resolved(config) for m in members]
    for i, (member, result) in enumerate(zip(members, together, strict=True)):
        alone = train(member_config(config, member), digits, dev, train_labels=labels[i : i + 1])
        # On the CPU, after 2 epochs the weights agree to within 4e-7 (measured): the
        # grouped convolution sums in another order than a single one, and the per-member
        # optimizer rounds as torch's fused Adam does to 1 ulp, not always to the same ulp.
        # CUDA's grouped and single convolutions differ more (their algorithms differ).
        tolerance = (1e-5, 1e-5, 1e-6) if device == "cpu" else (1e-3, 1e-3, 1e-4)
        assert_same_training(result, alone[0], *tolerance)


def test_each_member_follows_the_schedule_from_its_own_learning_rate(digits):
    config = TrainConfig(dataset="digits", epochs=2, lr_schedule="step")  # lr/10 in epoch 2
    members = [Member(5, lr=0.002), Member(5, lr=0.0005, weight_decay=1e-4)]
    together = train(config, digits, CPU, members=members)
    assert [row["lr"] for row in together[0].metrics] == [0.002, pytest.approx(0.0002)]
    assert [row["lr"] for row in together[1].metrics] == [0.0005, pytest.approx(0.00005)]
    for member, result in zip(members, together, strict=True):
        (alone,) = train(member_config(config, member), digits, CPU)
        assert_same_training(result, alone, 1e-5, 1e-5, 1e-6)


def test_members_sharing_lr_and_decay_keep_torchs_fused_optimizer():
    # The numbers of runs made before mixed groups existed stay those the fused kernel gives.
    group = LeNetGroup([engine.init_model(Architecture(), s) for s in (1, 2)])
    config = TrainConfig(lr=0.002)
    same = [Member(1).resolved(config), Member(2, lr=0.002).resolved(config)]
    optimizer = make_optimizer(config, group, same, CPU, capturable=False)
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.defaults["fused"]
    assert optimizer.defaults["lr"] == 0.002
    mixed = [Member(1).resolved(config), Member(2, weight_decay=1e-4).resolved(config)]
    assert isinstance(make_optimizer(config, group, mixed, CPU, False), MemberwiseOptimizer)


def test_members_or_seeds_not_both_and_a_members_values_are_checked(digits):
    config = TrainConfig(dataset="digits", epochs=1)
    with pytest.raises(ValueError, match="seeds or members"):
        train(config, digits, CPU, seeds=[1], members=[Member(1)])
    with pytest.raises(LenetError, match="--lr must be a positive"):
        train(config, digits, CPU, members=[Member(1), Member(2, lr=0.0)])
    with pytest.raises(ValueError, match="train_labels"):
        train(
            config,
            digits,
            CPU,
            members=[Member(1)],
            train_labels=digits.train.labels[None].expand(2, -1),
        )


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_the_memberwise_optimizer_steps_each_member_as_torch_optim_does(kind):
    torch.manual_seed(0)
    start = [torch.randn(3, 6, 5), torch.randn(3, 11)]  # two stacked parameters, 3 members
    lrs, decays = [0.001, 0.003, 0.0005], [0.0, 1e-3, 1e-4]
    stacked = [torch.nn.Parameter(p.clone()) for p in start]
    optimizer = MemberwiseOptimizer(stacked, kind, lrs, decays)
    singles = []
    for m in range(3):
        params = [torch.nn.Parameter(p[m].clone()) for p in start]
        if kind == "adam":
            single = torch.optim.Adam(params, lr=lrs[m], weight_decay=decays[m], fused=True)
        else:
            single = torch.optim.SGD(params, lr=lrs[m], momentum=0.9, weight_decay=decays[m])
        singles.append((params, single))
    for _ in range(100):
        grads = [torch.randn_like(p) for p in start]
        for p, g in zip(stacked, grads, strict=True):
            p.grad = g.clone()
        optimizer.step()
        for m, (params, single) in enumerate(singles):
            for p, g in zip(params, grads, strict=True):
                p.grad = g[m].clone()
            single.step()
    for m, (params, _) in enumerate(singles):
        for p_stacked, p_single in zip(stacked, params, strict=True):
            # measured: SGD identical, Adam within 5e-7 after 200 steps (rounding, 1 ulp a step)
            torch.testing.assert_close(p_stacked[m], p_single, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------- live progress


class FakeClock:
    """time.perf_counter that moves 0.1 s every time it is read."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 0.1
        return self.now


class BatchesSeen(Reporter):
    def __init__(self):
        self.batches = []

    def batch(self, epoch, done, loss, acc):
        self.batches.append((epoch, done))


def test_live_metrics_come_by_time_not_by_batch_count(digits, monkeypatch):
    # 400 images in batches of 8: 50 batches an epoch. The clock reads 0.1 s later at every
    # look, twice a batch (once to decide, and once after the update): an update every ~5
    # batches, where a fixed count of 50 batches would have shown none before the epoch ended.
    monkeypatch.setattr(engine, "time", FakeClock())
    seen = BatchesSeen()
    train(TrainConfig(dataset="digits", epochs=2, batch_size=8), digits, CPU, reporter=seen)
    for epoch in (1, 2):
        done = [d for e, d in seen.batches if e == epoch]
        assert 5 <= len(done) <= 20 and done == sorted(done) and done[-1] <= 50
        assert all(b - a >= 2 for a, b in zip(done, done[1:], strict=False))  # not every batch


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; CI has none")
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_cuda_graph_of_a_mixed_group_follows_a_schedule(digits, optimizer):
    # The memberwise optimizer keeps its learning rates in device tensors rewritten in place,
    # so a captured step follows the schedule: the graph stays on, and matches eager steps.
    lr, members = MIXED[optimizer]
    config = TrainConfig(
        dataset="digits", epochs=2, batch_size=48, optimizer=optimizer, lr=lr, lr_schedule="step"
    )
    cuda = torch.device("cuda")
    messages = Messages()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graphed = train(config, digits, cuda, members=members, reporter=messages)
    assert messages.messages == []
    eager = train(config, digits, cuda, members=members, use_graph=False)
    for g, e in zip(graphed, eager, strict=True):
        assert [r["lr"] for r in g.metrics] == [r["lr"] for r in e.metrics]
        assert_same_training(g, e, 1e-3, 1e-3, 1e-4)


def test_evaluation_batches_cut_the_earlier_ones_and_keep_a_small_last_one_whole():
    # A CPU group of 35: the batches of 256 images of 0.2.0, halved until 35 members x the
    # images fit in 2,048 (32 each: 1,120); the last of those batches (10,000 - 39 x 256 = 16
    # images) is too small to cut.
    batches = eval_batches(10_000, 35, "cpu")
    assert batches[:2] == [slice(0, 32), slice(32, 64)] and batches[-1] == slice(9_984, 10_000)
    assert [b.start for b in batches[1:]] == [b.stop for b in batches[:-1]]  # in order, all
    assert {b.stop - b.start for b in batches[:-1]} == {32}  # all alike: the heap reuses them
    # A last batch that can be cut: 300 images, 256 + 44, the 44 in one piece (32 + 12 would
    # leave 12, a batch that sums in another order).
    assert eval_batches(300, 35, "cpu")[-2:] == [slice(224, 256), slice(256, 300)]
    # 16 members: 128 each. Groups of up to 8 on the CPU (batches of 256 images each or
    # more already) and every group on a GPU (at least 256 each there): unchanged.
    assert eval_batches(300, 16, "cpu") == [slice(0, 128), slice(128, 256), slice(256, 300)]
    assert eval_batches(1_000, 5, "cpu") == [slice(0, 409), slice(409, 818), slice(818, 1_000)]
    assert eval_batches(10_000, 35, "cuda") == [
        slice(a, min(a + 936, 10_000)) for a in range(0, 10_000, 936)
    ]
    # Never under 32 images each: 100 images for 100 members in 32, 32 and 36.
    assert eval_batches(100, 100, "cpu") == [slice(0, 32), slice(32, 64), slice(64, 100)]


def test_a_large_groups_logits_are_those_of_the_earlier_larger_batches():
    # 0.2.0 evaluated a group of 35 in batches of 256 images; now in batches of 32 cut from
    # them. Every logit must stay the same bit for bit (so must every loss and
    # accuracy), including those of a last batch under 16 images, which sums in another order.
    torch.manual_seed(0)
    images = torch.randint(0, 256, (2 * 256 + 9, 1, 28, 28), dtype=torch.uint8)
    group = LeNetGroup([engine.init_model(Architecture(), seed) for seed in range(35)])
    stats = (torch.tensor([0.13]).view(1, 1, 1), torch.tensor([0.31]).view(1, 1, 1))
    planes = engine.plane_stats(stats, 35)
    earlier = []
    with torch.inference_mode():
        for start in range(0, len(images), 256):
            x = images[start : start + 256]
            x = group.planes(x.unsqueeze(1).expand(-1, 35, *x.shape[1:]))
            earlier.append(group.forward_planes(engine.normalize(x, planes)))
    now = engine.predict_logits(group, images, stats)
    assert len(eval_batches(len(images), 35, "cpu")) == 17  # 8 + 8 cut pieces and the last
    assert torch.equal(now, torch.cat(earlier, dim=1))
