import math
import os
import warnings

import pytest
import torch

from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError
from lenetcli.science.data import load_dataset
from lenetcli.science.engine import (
    Reporter,
    TrainingInterrupted,
    group_size_cap,
    member_losses,
    predict,
    resolve_device,
    seed_groups,
    train,
)
from lenetcli.science.model import Architecture

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


def test_member_losses_compare_softmax_with_one_hot():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])  # one member, two samples, two classes
    targets = torch.tensor([[0, 1]])
    p0 = torch.softmax(torch.tensor([2.0, 0.0]), 0)
    expected_mse = (((p0 - torch.tensor([1.0, 0.0])) ** 2).sum() + 2 * 0.25) / 4
    assert member_losses(logits, targets, "mse").item() == pytest.approx(expected_mse.item())
    expected_l1 = ((p0 - torch.tensor([1.0, 0.0])).abs().sum() + 1.0) / 4
    assert member_losses(logits, targets, "l1").item() == pytest.approx(expected_l1.item())


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
