from dataclasses import replace

import pytest

from lenetcli.config import TrainConfig
from lenetcli.errors import LenetError


def test_defaults_match_the_documented_ones():
    c = TrainConfig()
    assert (c.epochs, c.lr, c.batch_size, c.optimizer, c.loss, c.seed) == (
        15,
        0.001,
        32,
        "adam",
        "cross-entropy",
        42,
    )
    assert (c.activation, c.pool, c.weight_decay) == ("relu", "max", 0.0)


def test_repeats_use_consecutive_seeds():
    assert TrainConfig(seed=7, repeats=3).seeds == [7, 8, 9]


def test_negative_zero_is_stored_as_zero():
    from lenetcli.studies.study import run_key

    config = TrainConfig(weight_decay=-0.0, val_split=-0.0)
    assert str(config.weight_decay) == "0.0" and str(config.val_split) == "0.0"
    assert run_key(config, 42) == run_key(TrainConfig(), 42)
    assert str(replace(config, weight_decay=-0.0).weight_decay) == "0.0"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lr": 0}, "--lr"),
        ({"lr": -0.1}, "--lr"),
        ({"batch_size": 0}, "--batch-size"),
        ({"epochs": -1}, "--epochs"),
        ({"repeats": 0}, "--repeats"),
        ({"dataset": "imagenet"}, "dataset 'imagenet'"),
        ({"activation": "gelu"}, "activation 'gelu'"),
        ({"optimizer": "rmsprop"}, "optimizer 'rmsprop'"),
        ({"loss": "hinge"}, "loss 'hinge'"),
        ({"pool": "min"}, "pool 'min'"),
        ({"weight_decay": -1.0}, "--weight-decay"),
        ({"train_subset": 0}, "--train-subset"),
        ({"val_split": -0.1}, "--val-split must be a fraction from 0"),
        ({"val_split": 1.0}, "--val-split must be a fraction from 0"),
        ({"val_split": float("nan")}, "--val-split must be a fraction from 0"),
        ({"lr_schedule": "linear"}, "lr_schedule 'linear'; choose one of: constant, cosine, step"),
    ],
)
def test_bad_values_name_the_problem(change, message):
    with pytest.raises(LenetError, match=message):
        TrainConfig(**change).validate()


@pytest.mark.parametrize(
    ("field", "value", "guess"),
    [("dataset", "MNIST", "mnist"), ("dataset", "cifar-10", "cifar10"),
     ("dataset", "Fashion-MNIST", "fashion-mnist"), ("activation", "ReLU", "relu")],
)  # fmt: skip
def test_a_near_miss_gets_a_suggestion(field, value, guess):
    with pytest.raises(LenetError) as caught:
        replace(TrainConfig(), **{field: value}).validate()
    assert f"unknown {field} '{value}'; did you mean '{guess}'? choose one of:" in str(caught.value)


@pytest.mark.parametrize(("field", "value"), [("dataset", "digits,mnist"), ("pool", "max, avg")])
def test_a_list_where_one_value_is_taken_says_so(field, value):
    with pytest.raises(LenetError) as caught:
        replace(TrainConfig(), **{field: value}).validate()
    assert str(caught.value) == (
        f"one {field} is taken here, not the list '{value}'; choose one of them (run once for "
        "each, or compare them with lenet sweep)"
    )


def test_a_far_miss_gets_only_the_choices():
    with pytest.raises(LenetError) as caught:
        TrainConfig(dataset="imagenet").validate()
    assert str(caught.value) == (
        "unknown dataset 'imagenet'; choose one of: mnist, fashion-mnist, cifar10, digits"
    )


def test_learning_rate_schedules():
    assert [TrainConfig(lr=0.1, epochs=3).lr_at(e) for e in (1, 2, 3)] == [0.1] * 3
    cosine = TrainConfig(lr=0.1, epochs=5, lr_schedule="cosine")
    rates = [cosine.lr_at(e) for e in range(1, 6)]
    assert rates[0] == 0.1 and rates[-1] == pytest.approx(0.001)  # lr to lr/100
    assert rates[2] == pytest.approx(0.1 * (0.01 + 0.99 / 2))  # halfway, half the way down
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == 5
    step = TrainConfig(lr=0.1, epochs=8, lr_schedule="step")
    assert [step.lr_at(e) for e in range(1, 9)] == pytest.approx(
        [0.1] * 4 + [0.01] * 2 + [0.001] * 2
    )
    # lr/10 from the middle epoch on, lr/100 from three quarters (MultiStepLR's milestones)
    for epochs, factors in [
        (1, [1]), (2, [1, 0.1]), (3, [1, 0.1, 0.01]), (5, [1, 1, 0.1, 0.01, 0.01]),
        (15, [1] * 7 + [0.1] * 4 + [0.01] * 4),
    ]:  # fmt: skip
        step = TrainConfig(lr=0.1, epochs=epochs, lr_schedule="step")
        assert [step.lr_at(e) for e in range(1, epochs + 1)] == pytest.approx(
            [0.1 * f for f in factors]
        )
    assert TrainConfig(lr=0.1, epochs=1, lr_schedule="cosine").lr_at(1) == 0.1


def test_repeats_beyond_any_study_are_refused_before_the_seeds_are_listed():
    from lenetcli.config import MAX_REPEATS

    with pytest.raises(LenetError, match=f"--repeats must be at most {MAX_REPEATS}"):
        TrainConfig(seed=0, repeats=4_000_000_000).validate()
    TrainConfig(seed=0, repeats=MAX_REPEATS).validate()
