"""Loading checkpoints: a round trip, and every way a file can be wrong ends in one LenetError."""

import os
import pickle
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError
from lenetcli.outputs.checkpoint import find_checkpoint, load_checkpoint, make_checkpoint
from lenetcli.outputs.files import save_checkpoint
from lenetcli.science.data import DATASETS
from lenetcli.science.engine import MemberResult, architecture_for, init_model


def checkpoint_for(dataset: str, seed: int = 3) -> dict:
    """What `lenet train` saves, for an untrained model (the weights' values do not matter)."""
    config = TrainConfig(dataset=dataset)
    spec = DATASETS[dataset]
    result = MemberResult(
        seed, [{"test_acc": 12.5}], init_model(architecture_for(config, spec), seed)
    )
    return make_checkpoint(result, config, SimpleNamespace(spec=spec))


@pytest.fixture
def digits_checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, checkpoint_for("digits"))
    return path


def assert_refused(path, dataset, *words):
    with pytest.raises(LenetError) as info:
        load_checkpoint(path, dataset)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    return message


def test_round_trip_gives_back_the_same_weights(digits_checkpoint):
    saved = checkpoint_for("digits")
    model, checkpoint = load_checkpoint(digits_checkpoint, "digits")
    assert not model.training
    assert checkpoint["dataset"] == "digits" and checkpoint["seed"] == 3
    for name, tensor in saved["state_dict"].items():
        assert torch.equal(model.state_dict()[name], tensor)
    # with no dataset asked for, the checkpoint's own is taken
    _, same = load_checkpoint(digits_checkpoint)
    assert same["dataset"] == "digits"


def test_round_trip_cifar10(tmp_path):
    path = tmp_path / "cifar.pt"
    save_checkpoint(path, checkpoint_for("cifar10"))
    model, _ = load_checkpoint(path, "cifar10")
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_checkpoint_of_another_dataset(digits_checkpoint, tmp_path):
    assert_refused(digits_checkpoint, "mnist", "digits", "mnist", "--dataset")
    cifar = tmp_path / "cifar.pt"
    save_checkpoint(cifar, checkpoint_for("cifar10"))
    assert_refused(cifar, "fashion-mnist", "cifar10", "fashion-mnist")


def test_architecture_that_does_not_fit_the_dataset(tmp_path):
    checkpoint = checkpoint_for("digits")
    checkpoint["architecture"]["in_channels"] = 3
    path = tmp_path / "rgb.pt"
    save_checkpoint(path, checkpoint)
    assert_refused(path, "digits", "3x28x28", "1x28x28")


def test_weights_of_another_architecture(tmp_path):
    checkpoint = checkpoint_for("digits")
    checkpoint["state_dict"]["fc3.weight"] = torch.zeros(5, 84)
    path = tmp_path / "five.pt"
    save_checkpoint(path, checkpoint)
    assert_refused(path, "digits", "do not fit LeNet-5", "fc3.weight")


def test_unknown_activation_and_unknown_fields(tmp_path):
    checkpoint = checkpoint_for("digits")
    checkpoint["architecture"]["activation"] = "swish"
    save_checkpoint(tmp_path / "swish.pt", checkpoint)
    assert_refused(tmp_path / "swish.pt", "digits", "swish")
    checkpoint = checkpoint_for("digits")
    checkpoint["architecture"]["depth"] = 7
    save_checkpoint(tmp_path / "deep.pt", checkpoint)
    assert_refused(tmp_path / "deep.pt", "digits", "unknown architecture")


def test_missing_file_and_folder(tmp_path):
    assert_refused(tmp_path / "nothing.pt", "digits", "does not exist")
    assert_refused(tmp_path, "digits", "is a folder", "--from")


@pytest.mark.parametrize(
    "content",
    [b"", b"not a checkpoint at all\n" * 20, b"PK\x03\x04" + b"\x00" * 50, bytes(range(256)) * 4],
    ids=["empty", "text", "broken-zip", "binary"],
)
def test_damaged_files(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    message = assert_refused(path, "digits", "damaged or not a checkpoint")
    # torch's own advice (load with weights_only=False) would let a file run code: never quoted
    assert "weights_only" not in message


def test_truncated_checkpoint(digits_checkpoint):
    data = digits_checkpoint.read_bytes()
    digits_checkpoint.write_bytes(data[: len(data) // 2])
    assert_refused(digits_checkpoint, "digits", "damaged or not a checkpoint")


def test_files_that_are_not_lenet_checkpoints(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    assert_refused(tmp_path / "tensor.pt", "digits", "holds a Tensor")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    assert_refused(tmp_path / "other.pt", "digits", "format", "lenetcli.checkpoint/1")
    incomplete = checkpoint_for("digits")
    del incomplete["classes"]
    torch.save(incomplete, tmp_path / "incomplete.pt")
    assert_refused(tmp_path / "incomplete.pt", "digits", "incomplete", "classes")


class RunsCode:
    """Unpickling this calls exec: what a malicious checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize(
    "protocol, words",
    [
        (None, ("refers to", "exec", "could run code")),  # torch.save's own format
        (2, ("refers to", "could run code")),  # a bare pickle: torch's own loader is named first
        (5, ("damaged or not a checkpoint",)),  # refused before its code is even reached
    ],
    ids=["torch.save", "pickle-2", "pickle-5"],
)
def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, protocol, words):
    marker = tmp_path / "code-ran"
    checkpoint = checkpoint_for("digits")
    checkpoint["payload"] = RunsCode(marker)
    path = tmp_path / "evil.pt"
    if protocol is None:
        torch.save(checkpoint, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(checkpoint, f, protocol=protocol)

    assert_refused(path, "digits", *words)
    assert not marker.exists()
    # The file really is dangerous: an unsafe load runs its code.
    if protocol is None:
        torch.load(path, weights_only=False)
    else:
        with open(path, "rb") as f:
            pickle.load(f)
    assert marker.exists()


def test_find_checkpoint(tmp_path, digits_checkpoint):
    assert find_checkpoint(tmp_path) == digits_checkpoint
    assert find_checkpoint(tmp_path, "digits") == digits_checkpoint
    (tmp_path / "digits").mkdir()
    nested = tmp_path / "digits" / "model.pt"
    nested.write_bytes(digits_checkpoint.read_bytes())
    assert find_checkpoint(tmp_path, "digits") == nested  # the dataset's own subfolder first


def test_find_checkpoint_refuses_missing(tmp_path):
    with pytest.raises(LenetError, match="does not exist"):
        find_checkpoint(tmp_path / "absent")
    with pytest.raises(LenetError, match="no checkpoint in run folder"):
        find_checkpoint(tmp_path, "mnist")
    os.mkdir(tmp_path / "mnist")
    with pytest.raises(LenetError, match="mnist/model.pt"):
        find_checkpoint(tmp_path, "mnist")


def test_a_folder_of_several_datasets_without_dataset_names_them(tmp_path, digits_checkpoint):
    run = tmp_path / "run"
    for name in ("mnist", "fashion-mnist"):
        (run / name).mkdir(parents=True)
        (run / name / "model.pt").write_bytes(digits_checkpoint.read_bytes())
    with pytest.raises(LenetError) as caught:
        find_checkpoint(run)
    assert str(caught.value) == (
        f"{run} holds one model per dataset (fashion-mnist, mnist); add --dataset "
        f"fashion-mnist,mnist, or give --from {run / 'fashion-mnist'}"
    )
    assert find_checkpoint(run, "mnist") == run / "mnist" / "model.pt"


def test_the_best_model_of_a_study_is_found_per_dataset(tmp_path):
    from lenetcli.outputs.checkpoint import best_study_model

    pd.DataFrame(
        {"dataset": ["digits", "digits", "mnist"], "setting": ["a", "b", "a"], "best": [0, 1, 1]}
    ).to_csv(tmp_path / "summary.csv", index=False)
    for stem, seeds in (("digits-b", [100, 42]), ("mnist-a", [7])):
        (tmp_path / "models" / stem).mkdir(parents=True)
        for seed in seeds:
            (tmp_path / "models" / stem / f"seed-{seed}.pt").write_bytes(b"")
    models = tmp_path / "models"
    assert best_study_model(tmp_path) == models / "digits-b" / "seed-42.pt"  # seed 42 < 100
    assert best_study_model(tmp_path, "mnist") == models / "mnist-a" / "seed-7.pt"
    assert best_study_model(tmp_path, "cifar10") is None
    (models / "mnist-a" / "seed-7.pt").unlink()
    assert best_study_model(tmp_path, "mnist") is None  # never another setting's model


def test_a_settings_models_are_its_seed_files_in_seed_order_and_nothing_else(tmp_path):
    from lenetcli.outputs.checkpoint import seed_models

    for name in ("seed-10.pt", "seed-9.pt", "seed-\u00b2.pt", "seed-x.pt", "seed-3.pt.tmp", "a.pt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in seed_models(tmp_path)] == ["seed-9.pt", "seed-10.pt"]
    assert seed_models(tmp_path / "missing") == []


def test_subfolders_that_are_no_datasets_are_suggested_as_from(tmp_path, digits_checkpoint):
    run = tmp_path / "run"
    for name in ("a", "b"):
        (run / name).mkdir(parents=True)
        (run / name / "model.pt").write_bytes(digits_checkpoint.read_bytes())
    with pytest.raises(LenetError) as caught:
        find_checkpoint(run)
    assert str(caught.value) == (
        f"{run} holds no model.pt, but its subfolders a, b do; give one of them, e.g. "
        f"--from {run / 'a'}"
    )
    assert "--dataset" not in str(caught.value)  # --dataset a,b would fail: no such datasets
    assert find_checkpoint(run / "a") == run / "a" / "model.pt"  # what it suggests works


def edited(change) -> dict:
    checkpoint = checkpoint_for("digits")
    change(checkpoint)
    return checkpoint


DAMAGED = {
    "config not a dict": (
        lambda c: c.update(config=[1, 2]),
        "its config is a list, expected a table",
    ),
    "image size as text": (
        lambda c: c["architecture"].update(image_size="28"),
        "its architecture field image_size is '28', expected a whole number",
    ),
    "classes not a list": (lambda c: c.update(classes=10), "its classes is 10, expected a list"),
    "a class not text": (
        lambda c: c["classes"].__setitem__(3, 3),
        "its class name is 3, expected text",
    ),
    "dataset not text": (lambda c: c.update(dataset=["digits"]), "its dataset is a list"),
    "architecture not a dict": (
        lambda c: c.update(architecture="lenet"),
        "its architecture is 'lenet', expected a table",
    ),
    "weights not tensors": (
        lambda c: c["state_dict"].update({"fc3.bias": [0.0] * 10}),
        "its weights of fc3.bias is a list, expected a tensor of real numbers",
    ),
    "seed a tensor": (lambda c: c.update(seed=torch.tensor(3)), "its seed is a Tensor"),
    "seed a bool": (lambda c: c.update(seed=True), "its seed is True, expected a whole number"),
    "epochs as text": (
        lambda c: c["config"].update(epochs="15"),
        "its config field epochs is '15', expected a whole number",
    ),
    "train subset a float": (
        lambda c: c["config"].update(train_subset=0.5),
        "its config field train_subset is 0.5, expected a whole number or None",
    ),
    "val split out of range": (
        lambda c: c["config"].update(val_split=1.5),
        "its config field val_split is 1.5, out of range",
    ),
    "a tensor in the config": (
        lambda c: c["config"].update(extra=torch.zeros(2)),
        "its config field extra is a Tensor, expected a plain value",
    ),
    "setting not a dict": (lambda c: c.update(setting="lr0.1"), "its setting is 'lr0.1'"),
    # config.json records these: JSON has no NaN or infinity
    "accuracy nan": (
        lambda c: c.update(final_test_acc=float("nan")),
        "its final_test_acc is nan, expected a number",
    ),
    "lr infinite": (
        lambda c: c["config"].update(lr=float("inf")),
        "its config field lr is inf, expected a number",
    ),
    "complex weights": (  # would load with the imaginary part dropped: other weights
        lambda c: c["state_dict"].update({"fc3.bias": torch.zeros(10, dtype=torch.complex64)}),
        "its weights of fc3.bias is a Tensor, expected a tensor of real numbers",
    ),
    "more training images than the dataset has": (
        lambda c: c["config"].update(train_subset=10**12),
        "its config field train_subset 1000000000000 is out of range for the train split of digits",
    ),
}


@pytest.mark.parametrize("case", DAMAGED, ids=list(DAMAGED))
def test_a_checkpoint_of_the_wrong_structure_is_one_line(tmp_path, case):
    change, expected = DAMAGED[case]
    path = tmp_path / "model.pt"
    save_checkpoint(path, edited(change))
    message = assert_refused(path, None, f"checkpoint {path} is damaged: ", expected)
    assert message.endswith("give the model.pt written by `lenet train`, or retrain")


def test_a_damaged_checkpoint_is_refused_before_anything_is_written(tmp_path):
    from typer.testing import CliRunner

    from lenetcli.cli import app

    path = tmp_path / "model.pt"
    save_checkpoint(path, edited(lambda c: c.update(config=[1, 2])))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["confusion", "--checkpoint", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: checkpoint {path} is damaged: its config is a list")
    assert not out.exists()


def test_a_train_folder_without_its_model_is_said_to_be_unfinished(tmp_path):
    (tmp_path / "config.json").write_text('{"command": "train", "interrupted": "before"}')
    with pytest.raises(LenetError, match="holds a lenet train that did not finish") as caught:
        find_checkpoint(tmp_path)
    assert f"--out {tmp_path} --overwrite" in str(caught.value)
