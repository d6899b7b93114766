"""The course study (lenetcli/commands/course/): the study file with sections, the shipped
LeNet-5 course, and run_course end to end on a tiny study (digits, and a small MNIST subset)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import real_data_root
from sklearn.metrics import confusion_matrix

from lenetcli.commands.course.folders import section_folder, study_folders
from lenetcli.commands.course.plan import (
    choose_sections,
    make_plan,
    noise_list,
    part_plan,
    profile_values,
)
from lenetcli.commands.course.reading import read_beside, read_course_file
from lenetcli.commands.course.run import run_course
from lenetcli.commands.sweep import file_plan, read_study_file
from lenetcli.config import LOSSES, RunOptions
from lenetcli.errors import Interrupted, LenetError
from lenetcli.outputs.checkpoint import load_checkpoint
from lenetcli.outputs.files import read_csv
from lenetcli.outputs.transition_file import read_transition_csv
from lenetcli.science import engine
from lenetcli.science.data import load_dataset

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "mnist-study.toml"
OPTIONS = RunOptions(device="cpu", quiet=True)
needs_bce = pytest.mark.skipif(
    "bce" not in LOSSES, reason="the shipped study's section 5 trains --loss bce (engine branch)"
)


def study_file(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the shipped course


@needs_bce
def test_the_shipped_study_declares_the_course():
    study = read_course_file()
    assert [(s.number, s.name, s.kind) for s in study.sections] == [
        (1, "hyperparameters", "sweep"),
        (2, "datasets", "datasets"),
        (3, "confusion", "confusion"),
        (4, "noise", "noise"),
        (5, "design", "sweep"),
    ]
    first = part_plan(study, study.sections[0], study.sections[0].spec.parts[0], {})
    assert [(c.lr, c.batch_size, c.epochs, c.repeats) for c in first.configs] == [
        (0.001, 32, 15, 5),
        (0.005, 32, 15, 5),
        (0.001, 8, 10, 5),
    ]
    datasets = study.section("datasets").spec
    assert (datasets.best_of, datasets.datasets, datasets.repeats) == (
        "hyperparameters", ("fashion-mnist", "cifar10"), 5,
    )  # fmt: skip
    assert datasets.epochs == {"fashion-mnist": 30, "cifar10": 15}
    confusion = study.section("confusion").spec
    assert confusion.datasets == ("mnist", "fashion-mnist", "cifar10") and confusion.top == 3
    noise = study.section("noise").spec
    assert noise.symmetric == (0.0, 0.2, 0.4, 0.6, 0.8) and noise.pair == (0.2, 0.4)
    labels = [s.label for s in noise_list(study.section("noise"), 10)]
    assert labels == [
        "none-0", "symmetric-0.2", "symmetric-0.4", "symmetric-0.6", "symmetric-0.8",
        "pair-0.2", "pair-0.4", "transition",
    ]  # fmt: skip
    design = study.section("design")
    plans = {p.name: part_plan(study, design, p, {}) for p in design.spec.parts}
    assert {name: plan.names for name, plan in plans.items()} == {
        "activations": ["relu", "leakyrelu", "elu", "tanh", "sigmoid"],
        "losses": ["cross-entropy", "mse", "l1", "bce"],
        "weight-decay": ["wd0", "wd0.0001", "wd0.001"],
    }
    assert {c.repeats for plan in plans.values() for c in plan.configs} == {3}
    assert {c.epochs for c in plans["weight-decay"].configs} == {30}
    assert plans["weight-decay"].datasets == ["fashion-mnist"]


@needs_bce
def test_the_quick_profile_shrinks_every_section():
    study = read_course_file()
    quick = profile_values(study, "quick")
    assert quick["repeats"] == 2 and quick["epochs"] <= 3
    plan = make_plan(study, list(study.sections), quick, OPTIONS)
    configs = [c for sweep in plan.sweeps.values() for c in sweep.configs]
    configs += list(plan.noise.values())
    assert {(c.repeats, c.epochs, c.train_subset, c.test_subset) for c in configs} == {
        (2, quick["epochs"], quick["train_subset"], quick["test_subset"])
    }
    assert profile_values(study, "full") == {}


def test_a_profile_value_that_makes_two_settings_alike_is_named(tmp_path):
    text = read_course_file().path.read_text(encoding="utf-8")
    path = study_file(tmp_path, text.replace("[profiles.quick]\n", "[profiles.quick]\nlr = 0.01\n"))
    course = read_course_file(path)
    with pytest.raises(LenetError) as error:
        make_plan(course, list(course.sections), profile_values(course, "quick"), OPTIONS)
    assert str(error.value).startswith(
        f"config file {path}, section 1 'hyperparameters': [[settings]] #1 and #2 differ only "
        "in lr, which the profile's lr sets for every setting"
    )


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            "train_subset = 300", "train_subset = 3",
            "section 1 'hyperparameters': the profile's train_subset 3 is out of range for the "
            "train split of mnist",
        ),
        (
            "test_subset = 200", "test_subset = 99999",
            "section 1 'hyperparameters': the profile's test_subset 99999 is out of range",
        ),
        (
            'lr = 0.001, batch_size = 32, epochs = 15 }',
            'lr = 0.001, batch_size = 32, epochs = 15, train_subset = 55000 }',
            "section 2 'datasets': train_subset 55000 is out of range for the train split of "
            "cifar10",
        ),
    ],
)  # fmt: skip
def test_a_subset_larger_or_smaller_than_a_dataset_allows_is_refused_before_anything(
    tmp_path, capsys, old, new, expected
):
    text = read_course_file().path.read_text(encoding="utf-8")
    assert old in text
    path = study_file(tmp_path, text.replace(old, new, 1))
    profile = "quick" if "profile" in expected else "full"
    for dry_run in (True, False):
        with pytest.raises(LenetError) as error:
            run_course(path, tmp_path / "out", profile, None, OPTIONS, dry_run=dry_run)
        assert f"config file {path}, {expected}" in str(error.value)
        assert not (tmp_path / "out").exists()


def test_the_cpu_copy_of_the_course_differs_from_the_shipped_one_only_in_section_5(tmp_path):
    # docs/examples/lenet5-cpu.toml: what docs/performance.md's CPU timings ran
    def plan_lines(path):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run_course(path, tmp_path / "none", "full", None, OPTIONS, dry_run=True)
        return re.findall(r"^  \d+\. .*$", out.getvalue(), flags=re.MULTILINE)  # a section

    shipped = plan_lines(None)
    cpu = plan_lines(ROOT / "docs" / "examples" / "lenet5-cpu.toml")
    assert len(shipped) == len(cpu) == 5 and shipped[:4] == cpu[:4]
    assert "675 model-epochs" in shipped[4] and "225 model-epochs" in cpu[4]
    assert not (tmp_path / "none").exists()


def test_the_shipped_hybrid_matrix_mixes_pair_flips_and_uniform_noise():
    matrix, path = read_beside(Path("/nowhere/study.toml"), "lenet5-hybrid.csv", 10)
    assert path.name == "lenet5-hybrid.csv" and path.parent.name == "studies"
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(matrix), 0.6)  # 40% of the labels change
    off = matrix * (1 - np.eye(10))
    assert ((off > 0.2).sum(axis=1) == 1).all()  # one look-alike partner per digit: 0.24
    assert ((np.isclose(off, 0.02)).sum(axis=1) == 8).all()  # the rest uniform


def test_the_shipped_files_come_with_the_wheel_and_are_found_installed(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(
        ROOT / "lenetcli", source / "lenetcli", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("lenetcli-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert {"lenetcli/studies/lenet5.toml", "lenetcli/studies/lenet5-hybrid.csv"} <= set(names)
        archive.extractall(tmp_path / "site")  # a pure-Python wheel, installed
    # as commands/course finds them (shipped_study, read_beside), without importing torch
    check = (
        "import lenetcli; from importlib import resources; "
        "files = resources.files('lenetcli.studies'); print(lenetcli.__file__); "
        "print(files.joinpath('lenet5.toml').read_text().splitlines()[0]); "
        "print(files.joinpath('lenet5-hybrid.csv').read_text().splitlines()[1])"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    found = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert found.returncode == 0, found.stderr
    where, first, row = found.stdout.splitlines()
    assert where.startswith(str(tmp_path / "site"))
    shipped = ROOT / "lenetcli" / "studies"
    assert first == (shipped / "lenet5.toml").read_text().splitlines()[0]
    assert row == (shipped / "lenet5-hybrid.csv").read_text().splitlines()[1]


# --------------------------------------------------------------------------- the format


def test_a_plain_sweep_file_is_one_sweep_section_meaning_the_same():
    study = read_course_file(EXAMPLE)
    (section,) = study.sections
    assert (section.kind, section.folder) == ("sweep", "1-sweep")
    plan = part_plan(study, section, section.spec.parts[0], {"epochs": 1})
    expected = file_plan(read_study_file(EXAMPLE), {"epochs": 1})
    assert plan == expected
    assert list(study.profiles) == ["full"]


INHERITING = """
seed = 7
repeats = 3
[defaults]
epochs = 4
lr = 0.01
[profiles.quick]
epochs = 1
train_subset = 100
[[sections]]
name = "a"
datasets = ["digits"]
defaults = { lr = 0.02, batch_size = 16 }
settings = [{ name = "x" }, { name = "y", batch_size = 8 }]
[[sections]]
name = "b"
repeats = 2
[[sections.studies]]
name = "one"
datasets = ["digits"]
seed = 9
defaults = { batch_size = 64 }
settings = [{ activation = "tanh" }, { activation = "elu" }]
"""


def test_values_come_from_the_top_the_section_the_study_and_the_setting(tmp_path):
    study = read_course_file(study_file(tmp_path, INHERITING))
    a, b = study.sections
    configs = part_plan(study, a, a.spec.parts[0], {}).configs
    assert [(c.seed, c.repeats, c.epochs, c.lr, c.batch_size) for c in configs] == [
        (7, 3, 4, 0.02, 16),
        (7, 3, 4, 0.02, 8),
    ]
    plan = part_plan(study, b, b.spec.parts[0], profile_values(study, "quick"))
    assert plan.names == ["tanh", "elu"]
    assert [
        (c.seed, c.repeats, c.epochs, c.lr, c.batch_size, c.train_subset) for c in plan.configs
    ] == [(9, 2, 1, 0.01, 64, 100)] * 2
    assert section_folder(Path("out"), b, b.spec.parts[0]) == Path("out/2-b/one")


ONE = '[[sections]]\nname = "a"\ndatasets = ["digits"]\nsettings = [{ lr = 0.001 }]\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("colour = 1\n" + ONE, "unknown key 'colour' at the top level"),
        ("sections = 3\n", "sections must be [[sections]] tables"),
        (
            ONE.replace('name = "a"', 'name = "a b"'),
            "the name of section 1 'a b' cannot be a file name",
        ),
        (ONE + ONE, "two sections are named 'a'"),
        (ONE.replace("datasets", 'kind = "grid"\ndatasets'), "section 1 'a': unknown kind 'grid'"),
        (ONE.replace("settings", "epoch = 3\nsettings"), "unknown key 'epoch' in section 1 'a'"),
        (
            ONE.replace("lr = 0.001", "lr = 'fast'"),
            "lr in section 1 'a', settings #1 must be a number",
        ),
        (
            ONE.replace("lr = 0.001", "lr = -1"),
            "section 1 'a', setting 'lr-1-bs32-ep15': lr must be a positive",
        ),
        (ONE.replace('["digits"]', '["mnits"]'), "section 1 'a': unknown dataset 'mnits'"),
        (ONE.replace("settings = [{ lr = 0.001 }]", ""), "section 1 'a' has no settings"),
        (
            "[profiles.quick]\nepochs = 0\n" + ONE,
            "[profiles.quick]: epochs must be a positive whole number",
        ),
        ("[profiles.quick]\nspeed = 2\n" + ONE, "unknown key 'speed' in [profiles.quick]"),
        (
            ONE
            + '[[sections]]\nname = "b"\nkind = "datasets"\nbest_of = "c"\ndatasets = ["mnist"]\n',
            "best_of in section 2 'b' is 'c', not the name of an earlier section of kind sweep (those above it: a)",
        ),
        (
            ONE
            + '[[sections]]\nname = "b"\nkind = "datasets"\nbest_of = "a"\ndatasets = ["mnist"]\nepochs = { cifar10 = 3 }\n',
            "epochs in section 2 'b' names 'cifar10', which is not in its datasets",
        ),
        (
            ONE
            + '[[sections]]\nname = "b"\nkind = "confusion"\nmodels_of = ["a"]\ndatasets = ["mnist"]\n',
            "datasets in section 2 'b' lists mnist, but no section of models_of (a) trains on it",
        ),
        (
            ONE + '[[sections]]\nname = "b"\nkind = "confusion"\nmodels_of = ["a"]\ntop = 0\n',
            "top in section 2 'b' must be a positive whole number, got 0",
        ),
        (
            '[[sections]]\nname = "n"\nkind = "noise"\ndatasets = ["digits"]\nsymmetric = [0, 20]\n',
            "symmetric in section 1 'n': noise rate 20 is out of range",
        ),
        (
            '[[sections]]\nname = "n"\nkind = "noise"\ndatasets = ["digits", "mnist"]\nsymmetric = [0]\n',
            "datasets in section 1 'n' must name one dataset",
        ),
        (
            '[[sections]]\nname = "n"\nkind = "noise"\ndatasets = ["digits"]\ntransition = "no.csv"\n',
            "transition in section 1 'n': cannot read transition matrix",
        ),
        (
            '[[sections]]\nname = "n"\nkind = "noise"\ndatasets = ["digits"]\n',
            "section 1 'n' has no noise",
        ),
        (
            '[[sections]]\nname = "d"\n[[sections.studies]]\nname = "s"\nsettings = [{ pool = "mean" }]\n',
            "section 1 'd', study 's', setting 'lr0.001-bs32-ep15': unknown pool 'mean'",
        ),
        (
            '[[sections]]\nname = "d"\n[[sections.studies]]\nname = "s"\nsettings = [{ lr = 1 }, { lr = 1.0 }]\n',
            "section 1 'd', study 's': [[settings]] #1 and #2 are the same configuration",
        ),
    ],
)
def test_a_malformed_study_file_names_the_file_the_section_and_the_key(tmp_path, text, expected):
    path = study_file(tmp_path, text)
    with pytest.raises(LenetError) as error:
        study = read_course_file(path)
        make_plan(study, list(study.sections), {}, OPTIONS)
    message = str(error.value)
    assert message.startswith(f"config file {path}"), message
    assert expected in message, message
    assert "\n" not in message


def test_a_study_file_is_read_as_a_sweep_file_is_with_a_byte_order_mark_and_a_size_cap(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + ONE.encode())  # as Windows' Notepad saves UTF-8
    study = read_course_file(path)
    assert [s.name for s in study.sections] == ["a"]
    assert study.sha256 == hashlib.sha256(ONE.encode()).hexdigest()  # the text's, BOM skipped
    big = tmp_path / "big.toml"
    big.write_bytes(ONE.encode() + b"#" * 2**20)
    with pytest.raises(LenetError, match="longer than a study file can be"):
        read_course_file(big)
    deep = study_file(tmp_path, "x = " + "[" * 2000 + "]" * 2000 + "\n", "deep.toml")
    with pytest.raises(LenetError, match="nests arrays or tables hundreds of levels deep"):
        read_course_file(deep)


def test_every_kind_of_section_names_the_study_folders_it_writes(tmp_path):
    study = read_course_file()  # the shipped course: sweep, datasets, confusion, noise, sweep
    folders = {s.kind + str(s.number): study_folders(tmp_path, s) for s in study.sections}
    assert folders["sweep1"] == [tmp_path / "1-hyperparameters"]
    assert folders["datasets2"] == [tmp_path / "2-datasets"]
    assert folders["confusion3"] == []  # it writes no study, only its own files
    assert folders["noise4"] == [tmp_path / "4-noise"]
    design = next(s for s in study.sections if s.number == 5)
    assert folders["sweep5"] == [section_folder(tmp_path, design, p) for p in design.spec.parts]
    assert len(folders["sweep5"]) > 1 and all(
        f.parent == tmp_path / "5-design" for f in folders["sweep5"]
    )


def test_unknown_sections_and_profiles_are_refused(tmp_path):
    study = read_course_file(study_file(tmp_path, ONE))
    with pytest.raises(LenetError, match=r"has no section 2; its sections are 1 \(a\)"):
        choose_sections(study, [2])
    with pytest.raises(LenetError, match="unknown profile .* 'quick'; choose one of: full"):
        profile_values(study, "quick")


# --------------------------------------------------------------------------- run_course

TINY = """
title = "A tiny course"
seed = 42
repeats = 2
[defaults]
epochs = 1
batch_size = 50
train_subset = 200
test_subset = 100
[profiles.quick]
epochs = 2

[[sections]]
name = "hyperparameters"
datasets = ["digits"]
settings = [{ lr = 0.0005 }, { lr = 0.005 }]

[[sections]]
name = "datasets"
kind = "datasets"
best_of = "hyperparameters"
datasets = ["mnist"]
epochs = { mnist = 3 }

[[sections]]
name = "confusion"
kind = "confusion"
models_of = ["hyperparameters", "datasets"]
top = 2
per_pair = 3

[[sections]]
name = "noise"
kind = "noise"
datasets = ["digits"]
symmetric = [0, 0.4]
transition = "lenet5-hybrid.csv"   # not beside this file: the shipped one

[[sections]]
name = "design"
[[sections.studies]]
name = "weight-decay"
datasets = ["digits"]
settings = [{ weight_decay = 0 }, { weight_decay = 1e-3 }]
"""
PNG = b"\x89PNG\r\n\x1a\n"


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    real_data_root("mnist")  # section 2 trains on a small MNIST subset
    folder = tmp_path_factory.mktemp("course")
    path = study_file(folder, TINY)
    out = folder / "out"
    run = run_course(path, out, "quick", None, OPTIONS)
    return path, out, run


def test_every_section_writes_what_its_command_writes(tiny):
    _, out, _ = tiny
    for folder, command in [
        ("1-hyperparameters", "sweep"), ("2-datasets", "sweep"), ("4-noise", "noise"),
        ("5-design/weight-decay", "sweep"),
    ]:  # fmt: skip
        study = out / folder
        assert json.loads((study / "config.json").read_text())["command"] == command
        for name in ("runs.csv", "metrics.csv", "summary.csv", "summary.md"):
            assert (study / name).is_file(), study / name
        assert is_png(study / "compare.png") and is_png(study / "accuracy.png")
        runs = read_csv(study / "runs.csv")
        assert set(runs["status"]) == {"finished"} and set(runs["seed"]) == {42, 43}
        for stem in runs["dataset"] + "-" + runs["setting"]:
            assert (study / "tables" / f"{stem}.csv").is_file() and is_png(
                study / "curves" / f"{stem}.png"
            )
        for row in runs.itertuples():
            assert (
                study / "models" / f"{row.dataset}-{row.setting}" / f"seed-{row.seed}.pt"
            ).is_file()
    assert is_png(out / "4-noise" / "accuracy_vs_noise.png")


def test_the_best_setting_of_section_1_runs_on_the_other_datasets(tiny):
    _, out, run = tiny
    summary = read_csv(out / "1-hyperparameters" / "summary.csv")
    best = summary[summary["best"] == 1].iloc[0]
    record = json.loads((out / "course.json").read_text())
    assert record["sections"]["1"]["best"] == {
        "digits": {"setting": best["setting"], "by": "testing accuracy"}
    }
    assert record["sections"]["2"]["best_of"] == {
        "section": "hyperparameters",
        "setting": best["setting"],
    }
    assert record["profile"] == "quick" and record["study_text"] == TINY
    runs = read_csv(out / "2-datasets" / "runs.csv")
    # the best setting's values, on MNIST with the epochs the file gives it there (the quick
    # profile's epochs replace them, as they replace every setting's)
    assert set(runs["dataset"]) == {"mnist"}
    assert set(runs["lr"]) == {best["lr"]} and set(runs["epochs"]) == {2}
    table = read_csv(out / "2-datasets" / "datasets.csv")
    assert list(table["rank"]) == [1, 2]
    assert set(zip(table["dataset"], table["section"], strict=True)) == {
        ("digits", "1-hyperparameters"), ("mnist", "2-datasets"),
    }  # fmt: skip
    assert table["final_test_acc_mean"].is_monotonic_decreasing
    for row in table.itertuples():
        folder = out / row.section
        finals = read_csv(folder / "runs.csv").query("setting == @row.setting")["final_test_acc"]
        assert row.final_test_acc_mean == pytest.approx(finals.mean())
        assert row.final_test_acc_min == pytest.approx(finals.min()) and row.n == len(finals)


def test_confusion_over_the_seeds_models_agrees_with_the_models(tiny):
    _, out, _ = tiny
    best = json.loads((out / "course.json").read_text())["sections"]["1"]["best"]["digits"][
        "setting"
    ]
    folder = out / "3-confusion" / "digits"
    models = sorted((out / "1-hyperparameters" / "models" / f"digits-{best}").glob("seed-*.pt"))
    data = load_dataset("digits", test_subset=100)
    labels = data.test.labels.numpy()
    matrices = []
    for path in models:
        model, _ = load_checkpoint(path, "digits")
        predicted = engine.predict(model, data.test.images, data.spec, engine.resolve_device("cpu"))
        matrices.append(
            confusion_matrix(labels, predicted.argmax(1), labels=range(10), normalize="true")
        )
    mean = read_csv(folder / "confusion_mean.csv")
    np.testing.assert_allclose(
        mean.drop(columns="true").to_numpy(), np.mean(matrices, axis=0), atol=1e-9
    )
    std = read_csv(folder / "confusion_std.csv").drop(columns="true").to_numpy()
    np.testing.assert_allclose(std, np.std(matrices, axis=0, ddof=1), atol=1e-9)
    pairs = read_csv(folder / "confused_pairs.csv")
    assert len(pairs) <= 2 and pairs["rate_mean"].is_monotonic_decreasing
    hard = read_csv(folder / "hard_samples.csv")
    for group, rows in hard.groupby("group", sort=False):
        assert is_png(folder / "hard" / f"{group}.png")
        order = list(zip(-rows["seeds_wrong"], -rows["mean_prob_wrong"], strict=True))
        assert order == sorted(order)
    assert is_png(folder / "confusion.png")
    assert set(read_csv(folder / "models.csv")["seed"]) == {42, 43}
    assert is_png(out / "3-confusion" / "mnist" / "confusion.png")  # mnist: section 2's models


def test_the_noise_section_trains_the_shipped_hybrid_matrix_and_tables_the_peaks(tiny):
    _, out, _ = tiny
    folder = out / "4-noise"
    used = read_transition_csv(folder / "transition-transition.csv", 10)
    shipped, _ = read_beside(Path("/nowhere/x.toml"), "lenet5-hybrid.csv", 10)
    np.testing.assert_allclose(used, shipped)
    table = read_csv(folder / "memorisation.csv")
    runs = read_csv(folder / "runs.csv")
    assert list(table["setting"]) == ["none-0", "symmetric-0.4", "transition"]
    for row in table.itertuples():
        own = runs[runs["setting"] == row.setting]
        assert row.peak_test_acc_mean == pytest.approx(own["best_test_acc"].mean())
        assert row.final_test_acc_mean == pytest.approx(own["final_test_acc"].mean())
        assert row.peak_minus_final >= 0


def test_a_weight_decay_study_tables_the_train_test_gap(tiny):
    _, out, _ = tiny
    folder = out / "5-design" / "weight-decay"
    table = read_csv(folder / "overfitting.csv")
    runs = read_csv(folder / "runs.csv")
    assert list(table["weight_decay"]) == [0, 0.001]
    for row in table.itertuples():
        own = runs[runs["setting"] == row.setting]
        gap = own["final_train_acc"] - own["final_test_acc"]
        assert (row.gap_mean, row.gap_std, row.n) == pytest.approx((gap.mean(), gap.std(), 2))
    assert not (out / "1-hyperparameters" / "overfitting.csv").exists()  # no decay varies


def test_the_discussion_rests_on_the_numbers_beside_it(tiny):
    _, out, run = tiny
    sentences = read_csv(out / "discussion.csv")
    assert list(sentences["text"]) == [s.text for s in run.sentences]
    assert set(sentences["topic"]) == {
        "hyperparameters",
        "datasets",
        "confusion",
        "noise",
        "weight-decay",
    }
    ranking = run.sentences[[s.topic for s in run.sentences].index("datasets")]
    table = read_csv(out / "2-datasets" / "datasets.csv").set_index("dataset")
    assert ranking.numbers["mnist_mean"] == pytest.approx(table.loc["mnist", "final_test_acc_mean"])
    texts = [s.text for s in run.sentences]
    gap = next(i for i, text in enumerate(texts) if "lowest mean train-test gap" in text)
    assert "Welch t-test" in texts[gap + 1] or "no test was possible" in texts[gap + 1]


def test_a_second_call_reuses_every_run(tiny):
    path, out, _ = tiny
    confusion = [p for p in (out / "3-confusion").rglob("*") if p.is_file()]
    before = {
        p: (p.stat().st_mtime_ns, p.read_bytes())
        for p in out.rglob("*") if p.suffix == ".pt" or p.name in ("runs.csv", "metrics.csv")
    }  # fmt: skip
    before |= {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in confusion}
    run_course(path, out, "quick", None, OPTIONS)
    for p, (mtime, content) in before.items():
        assert p.read_bytes() == content, p
        if p.suffix == ".pt" or "3-confusion" in p.parts:
            assert p.stat().st_mtime_ns == mtime, p  # not made again, not even rewritten
    config = json.loads((out / "1-hyperparameters" / "config.json").read_text())
    assert config["options"]["resume"] is True and config["earlier_sessions"]
    assert all(s["groups"] == [] for s in config["options"]["settings"])  # nothing trained


def test_confusion_is_made_again_when_what_it_was_made_from_changes(tiny):
    path, out, _ = tiny
    folder = out / "3-confusion" / "digits"
    inputs = json.loads((folder / "inputs.json").read_text())
    assert [Path(m["file"]).name for m in inputs["models"]] == ["seed-42.pt", "seed-43.pt"]
    (folder / "inputs.json").write_text(json.dumps({**inputs, "top": 5}))  # as if asked for 5
    (folder / "hard" / "0-as-9.png").write_bytes(PNG)  # a gallery of a pair no longer shown
    made = (folder / "confusion.png").stat().st_mtime_ns
    run_course(path, out, "quick", [3], OPTIONS)
    assert (folder / "confusion.png").stat().st_mtime_ns > made
    assert not (folder / "hard" / "0-as-9.png").exists()
    assert (
        json.loads((folder / "inputs.json").read_text()) == inputs
    )  # top 3 again, as the file says


def test_a_confusion_folder_written_in_part_is_no_result_and_is_made_again(
    tiny, tmp_path, monkeypatch
):
    path, out, _ = tiny
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    folder = copy / "3-confusion" / "digits"
    # a call stopped while it replaced the files: the record, removed first, is not there
    import lenetcli.commands.course.confusion as confusion

    def stopped(folder, *args):
        (folder / "confused_pairs.csv").write_text("rank,true\n")  # the first file, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(confusion, "write_seed_confusion", stopped)
    (folder / "inputs.json").write_text("{}")  # made from other inputs: written again
    with pytest.raises(Interrupted):
        run_course(path, copy, "quick", [3], OPTIONS)
    assert not (folder / "inputs.json").exists()
    monkeypatch.undo()
    from lenetcli.commands.report.study import run_study_report

    run_study_report(path, copy, "quick", "1", OPTIONS)  # renders the report, from the files
    report = (copy / "report.md").read_text(encoding="utf-8")
    assert "3-confusion/digits holds no results yet." in report
    discussion = read_csv(copy / "discussion.csv")
    assert not (
        discussion["topic"].str.contains("confus") & discussion["text"].str.contains("Digits")
    ).any()
    run_study_report(path, copy, "quick", "3", OPTIONS)  # and the next call makes it whole
    assert (folder / "inputs.json").is_file()
    assert "3-confusion/digits holds no results yet." not in (copy / "report.md").read_text()


def test_a_file_whose_section_lost_a_setting_is_refused_before_any_record_is_written(
    tiny, tmp_path
):
    path, out, _ = tiny
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    edited = study_file(tmp_path, TINY.replace("{ lr = 0.0005 }, { lr = 0.005 }", "{ lr = 0.005 }"))
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    for dry_run in (True, False):
        with pytest.raises(LenetError) as error:
            run_course(edited, copy, "quick", [1], OPTIONS, dry_run=dry_run)
        message = str(error.value)
        assert message.startswith(
            f"config file {edited}, section 1 'hyperparameters': cannot resume"
        )
        assert "holds 2 finished run(s) that this lenet sweep does not include" in message
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before


def test_confusion_is_reused_when_the_study_is_run_from_another_folder(tiny, tmp_path, monkeypatch):
    # inputs.json named the models as --out was typed, so another working folder (or the
    # study moved) made every confusion again
    path, out, _ = tiny
    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    folder = moved / "3-confusion" / "digits"
    inputs = json.loads((folder / "inputs.json").read_text())
    assert inputs["models"][0]["file"].startswith("1-hyperparameters/models/digits-")
    made = (folder / "confusion.png").stat().st_mtime_ns
    monkeypatch.chdir(tmp_path)
    run_course(path, Path("moved"), "quick", [3], OPTIONS)
    assert (folder / "confusion.png").stat().st_mtime_ns == made
    assert list(read_csv(folder / "models.csv")["model"]) == [m["file"] for m in inputs["models"]]


def test_the_course_downloads_from_the_mirror_given(tmp_path, monkeypatch):
    import lenetcli.commands.course.run as course_run

    asked = []

    def record(spec, root, download, quiet, mirror=None):
        asked.append((spec.name, mirror))
        raise LenetError("stop here")

    monkeypatch.setattr(course_run, "ensure_files", record)
    options = replace(OPTIONS, data_dir=tmp_path / "data", mirror="http://127.0.0.1:8/lab")
    with pytest.raises(LenetError, match="stop here"):
        run_course(None, tmp_path / "out", "quick", [1], options)
    assert asked == [("mnist", "http://127.0.0.1:8/lab/")]  # it was never passed on


def test_another_profile_in_the_same_folder_is_refused(tiny):
    path, out, _ = tiny
    with pytest.raises(LenetError, match="holds the course study's profile 'quick', not 'full'"):
        run_course(path, out, "full", None, OPTIONS)


def test_another_study_file_in_the_same_folder_is_refused_before_anything_is_written(
    tiny, tmp_path
):
    # its section 1 is not the folder's section 1: the runs there are another study's
    _, out, _ = tiny
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    other = (
        TINY.replace('name = "hyperparameters"', 'name = "rates"')
        .replace('best_of = "hyperparameters"', 'best_of = "rates"')
        .replace('models_of = ["hyperparameters"', 'models_of = ["rates"')
    )
    path = study_file(tmp_path, other)
    with pytest.raises(LenetError) as raised:
        run_course(path, out, "quick", None, OPTIONS)
    assert str(raised.value).startswith(
        f"{out} holds a course study whose section 1 is 'hyperparameters' (sweep), but {path} "
        "names section 1 'rates' (sweep): its runs are another study's; choose another --out"
    )
    noise_only = "\n".join(['title = "noise"', "[profiles.quick]", "epochs = 2", "[[sections]]",
                             'name = "noise"', 'kind = "noise"', 'datasets = ["digits"]',
                             "symmetric = [0, 0.4]"])  # fmt: skip
    with pytest.raises(LenetError, match="names section 1 'noise' \\(noise\\)"):
        run_course(study_file(tmp_path, noise_only, "noise.toml"), out, "quick", None, OPTIONS)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_section_whose_every_job_failed_says_how_to_go_on_with_the_study(tmp_path, monkeypatch):
    from conftest import EveryJobFails

    from lenetcli.studies import session

    monkeypatch.setattr(session, "executor_for", lambda options, device: EveryJobFails)
    out = tmp_path / "out"
    with pytest.raises(LenetError) as raised:
        run_course(study_file(tmp_path, TINY), out, "quick", [1], OPTIONS)
    assert str(raised.value) == (
        "section 1 'hyperparameters': every job of this study failed, e.g. with "
        "FileNotFoundError: no MNIST here (runs.csv has each error); fix the cause, then run "
        f"the same study into {out} again (with --resume)"
    )


def test_a_section_that_builds_on_one_not_run_is_refused_before_anything_is_written(tmp_path):
    path = study_file(tmp_path, TINY)
    out = tmp_path / "out"
    with pytest.raises(
        LenetError, match="section 3 'confusion' builds on the results of section 1"
    ):
        run_course(path, out, "quick", [3], OPTIONS)
    assert not out.exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "course.json").write_text("[" * 100_000 + "]" * 100_000)
    for folder in ("mine", "deep"):  # deep: json.loads raised RecursionError, a traceback
        with pytest.raises(LenetError, match="holds no readable course.json of a course study"):
            run_course(path, tmp_path / folder, "quick", None, OPTIONS)


BY_SETTING = replace(OPTIONS, group_by="setting")  # one engine.train call per setting


def test_an_interrupted_course_says_where_and_continues(tmp_path, monkeypatch):
    path = study_file(
        tmp_path,
        TINY.split("[[sections]]")[0]
        + ONE.replace('"a"', '"hyperparameters"').replace(
            "{ lr = 0.001 }", "{ lr = 0.001 }, { lr = 0.002 }"
        ),
    )
    out = tmp_path / "out"
    train = engine.train
    calls = []

    def interrupted_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return train(*args, **kwargs)

    monkeypatch.setattr(engine, "train", interrupted_second)
    with pytest.raises(Interrupted, match="interrupted in section 1 'hyperparameters'.* saved in"):
        run_course(path, out, "quick", None, BY_SETTING)
    first = read_csv(out / "1-hyperparameters" / "runs.csv")
    assert list(first["status"]) == ["finished", "finished", "pending", "pending"]
    monkeypatch.setattr(engine, "train", train)
    run_course(path, out, "quick", None, BY_SETTING)
    again = read_csv(out / "1-hyperparameters" / "runs.csv")
    assert set(again["status"]) == {"finished"}
    pd.testing.assert_frame_equal(again.iloc[:2], first.iloc[:2], check_dtype=False)


@pytest.mark.parametrize("where", ["confusion.predict", "run.course_discussion"])
def test_ctrl_c_outside_training_says_resume_not_overwrite(tiny, tmp_path, monkeypatch, where):
    # Ctrl-C in section 3 (predicting with the seeds' models), or while the report is written:
    # what trained is kept, and the way on is --resume (--overwrite would delete it all).
    path, done, _ = tiny
    out = tmp_path / "out"
    shutil.copytree(done, out)
    (out / "3-confusion" / "digits" / "inputs.json").unlink()  # so that section 3 runs again

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(f"lenetcli.commands.course.{where}", interrupted)
    with pytest.raises(Interrupted) as stop:
        run_course(path, out, "quick", [3], OPTIONS)
    assert "--resume" in str(stop.value) and "--overwrite" not in str(stop.value)
    assert json.loads((out / "config.json").read_text())["interrupted"]
    assert (out / "1-hyperparameters" / "runs.csv").read_bytes() == (
        done / "1-hyperparameters" / "runs.csv"
    ).read_bytes()
    monkeypatch.undo()
    run_course(path, out, "quick", [3], OPTIONS)
    assert "interrupted" not in json.loads((out / "config.json").read_text())


def test_datasets_whose_means_show_alike_share_a_rank_in_the_given_order():
    from lenetcli.commands.course.tables import DATASET_TABLE_STATS, datasets_table

    def row(dataset, mean):
        stats = {f"final_{v}_acc_{s}": mean for v in ("train", "test") for s in DATASET_TABLE_STATS}
        return {"dataset": dataset, "setting": "s", "epochs": 2, "n": 5, "diverged": 0, **stats}

    best = pd.Series(row("digits", 98.87199999999999))
    others = pd.DataFrame([row("mnist", 98.87200000000001), row("fashion-mnist", 90.0)])
    table = datasets_table(best, others, "1-hp", "2-ds")
    assert list(table["dataset"]) == ["digits", "mnist", "fashion-mnist"]
    assert list(table["rank"]) == [1, 1, 3]
