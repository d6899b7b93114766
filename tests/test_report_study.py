"""`lenet report --study`: the shipped course's quick profile end to end (once for the module),
its report checked against the runs' CSVs; a second call that trains nothing; a real SIGINT
and --resume; the command's errors; and the pure pieces (sections, the course reporter, the
plan's ETA, what --overwrite recognises)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import real_data_root, record_titles
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.commands.course.plan import describe_course, make_plan
from lenetcli.commands.course.reading import read_course_file
from lenetcli.commands.report.study import parse_sections, run_study_report
from lenetcli.commands.report.study_document import (
    StudyDocument,
    section_time_rows,
    section_times,
    shown_noise_settings,
)
from lenetcli.config import RunOptions
from lenetcli.errors import LenetError
from lenetcli.outputs import progress
from lenetcli.outputs.document import Figure, render_markdown
from lenetcli.outputs.files import previous_output, read_csv, study_report_files
from lenetcli.science import data, engine
from lenetcli.science.data import COPY_NOTE, COPY_SUFFIX, copy_note

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()
OPTIONS = RunOptions(device="cpu", quiet=True)


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


DRAWN: list[str] = []  # the titles of every figure the quick fixture drew


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The shipped study, quick profile, through the command line; with its wall time. The
    titles of its figures go to DRAWN."""
    for name in ("mnist", "fashion-mnist", "cifar10"):
        real_data_root(name)
    out = tmp_path_factory.mktemp("study") / "out"
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        record_titles(patch, DRAWN)
        result = runner.invoke(
            app,
            ["report", "--study", "--profile", "quick", "--out", str(out), "--device", "cpu", "-q"],
        )
    assert result.exit_code == 0, result.output
    return out, time.perf_counter() - started


def captions(markdown: str) -> list[str]:
    return re.findall(r"^\*(.+)\*$", markdown, flags=re.MULTILINE)


def named_csvs(caption: str) -> list[str]:
    """The CSV files a table's caption names: '(tables/x.csv)' or '(a.csv, b.csv)'."""
    return re.findall(r"([\w./-]+\.csv)", caption)


def test_every_figure_the_report_shows_is_a_png_beside_it(quick):
    out, _ = quick
    markdown = (out / "report.md").read_text()
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(figures) > 20
    for figure in figures:
        assert is_png(out / figure), figure
    for needed in ("1-hyperparameters/compare.png", "4-noise/accuracy_vs_noise.png",
                   "3-confusion/cifar10/confusion.png"):  # fmt: skip
        assert needed in figures


def test_the_html_is_self_contained(quick):
    out, _ = quick
    page = (out / "report.html").read_text()
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count("<img") == (out / "report.md").read_text().count("![")


def test_every_table_names_csvs_that_parse(quick):
    out, _ = quick
    markdown = (out / "report.md").read_text()
    tables = markdown.count("\n| --- ")
    named = [c for c in captions(markdown) if named_csvs(c)]
    assert len(named) == tables  # every table has a caption naming its CSV
    for caption in named:
        for name in named_csvs(caption):
            frame = pd.read_csv(out / name)
            assert len(frame), name


def test_the_seeds_tables_agree_with_the_runs(quick):
    out, _ = quick
    for folder, dataset, name in [
        ("1-hyperparameters", "mnist", "1-hyperparameters-mnist.csv"),
        ("2-datasets", "cifar10", "2-datasets-cifar10.csv"),
        ("5-design/activations", "mnist", "5-design-activations-mnist.csv"),
        ("5-design/weight-decay", "fashion-mnist", "5-design-weight-decay-fashion-mnist.csv"),
    ]:
        table = read_csv(out / "tables" / name).set_index("No.")
        runs = read_csv(out / folder / "runs.csv")
        runs = runs[runs["dataset"] == dataset]
        assert len(runs)
        for setting, own in runs.groupby("setting"):
            own = own.sort_values("seed")
            for value, label in (("final_train_acc", "training"), ("final_test_acc", "testing")):
                column = table[f"{setting} {label}"]
                np.testing.assert_allclose(column.iloc[: len(own)], own[value], atol=1e-8)
                assert column["Mean"] == pytest.approx(own[value].mean())
                assert column["Std"] == pytest.approx(own[value].std())
                assert column["Best"] == pytest.approx(own[value].max())


def test_the_cross_dataset_and_noise_tables_agree_with_the_runs(quick):
    out, _ = quick
    datasets = read_csv(out / "2-datasets" / "datasets.csv")
    assert list(datasets["dataset"].sort_values()) == ["cifar10", "fashion-mnist", "mnist"]
    assert datasets["final_test_acc_mean"].is_monotonic_decreasing
    for row in datasets.itertuples():
        runs = read_csv(out / row.section / "runs.csv").query(
            "setting == @row.setting and dataset == @row.dataset"
        )
        assert row.final_test_acc_mean == pytest.approx(runs["final_test_acc"].mean())
    noise = read_csv(out / "tables" / "4-noise-accuracy.csv")
    runs = read_csv(out / "4-noise" / "runs.csv")
    assert len(noise) == 8
    for row in noise.itertuples():
        own = runs[runs["setting"] == row.setting]
        assert row.final_test_acc_mean == pytest.approx(own["final_test_acc"].mean())
        assert row.final_train_acc_clean_mean == pytest.approx(own["final_train_acc_clean"].mean())
    tests = read_csv(out / "tables" / "5-design-losses-mnist-tests.csv")
    assert set(tests["setting"]) == {"cross-entropy", "mse", "l1", "bce"}
    assert tests["p_value"].dropna().between(0, 1).all()


def test_the_setup_names_the_study_file_its_hash_and_the_cifar_caveat(quick):
    out, _ = quick
    markdown = (out / "report.md").read_text()
    shipped = read_course_file()
    assert shipped.sha256 in markdown
    data = read_csv(out / "tables" / "data.csv")
    assert set(data["dataset"]) == {"mnist", "fashion-mnist", "cifar10"}
    # the offline copy of CIFAR-10 is a JPEG rendition: its files are not the official ones
    assert "CIFAR-10 caveat" in markdown
    record = json.loads((out / "config.json").read_text())
    assert record["command"] == "report" and "interrupted" not in record
    assert record["options"]["study"]["folders"][0] == "1-hyperparameters"
    results = json.loads((out / "results.json").read_text())
    assert {r["section"] for r in results["runs"]} >= {"1-hyperparameters", "4-noise"}
    discussion = read_csv(out / "discussion.csv")
    for text in discussion["text"]:
        assert text in markdown


def test_the_cifar_copy_is_noted_beside_every_cifar_table_figure_and_the_discussion(quick):
    out, _ = quick
    markdown = (out / "report.md").read_text()
    figures = re.findall(r"!\[([^\]]*)\]\(([^)]+)\)", markdown)
    # the copy is noted where CIFAR-10 shows: its curves, section 3.cifar10's matrix and
    # galleries, and every figure of all datasets (compare.png of section 2 has a panel each)
    for caption, path in figures:
        cifar = "cifar10" in path or path.startswith("2-datasets/") and "curves" not in path
        assert caption.endswith(copy_note()) == cifar, (caption, path)
    assert sum("3-confusion/cifar10/hard/" in path for _, path in figures) >= 1
    for caption in captions(markdown):
        cifar = any("cifar10" in name or name.endswith("2-datasets/datasets.csv")
                    for name in named_csvs(caption))  # fmt: skip
        assert caption.endswith(copy_note()) == cifar, caption
    section = markdown.split("### 3.cifar10")[1].split("\n## ")[0]
    accuracy = next(line for line in section.splitlines() if "test accuracy" in line)
    assert accuracy.endswith(copy_note())
    # the discussion: one sentence before its first topic, the sentences themselves as made
    discussion = markdown.split("\n## Discussion\n")[1]
    assert discussion.split("\n### ")[0].count(COPY_NOTE) == 1
    assert discussion.count(COPY_NOTE) == 1
    # figures lenet drew of CIFAR-10 from the copy say so in their title
    cifar = [title for title in DRAWN if "CIFAR-10" in title]
    assert cifar and all(f"CIFAR-10 {COPY_SUFFIX}" in title for title in cifar)
    assert any(t.startswith(f"LeNet-5 on CIFAR-10 {COPY_SUFFIX}, ") for t in cifar)
    assert any("confusion matrix" in t for t in cifar) and any("classified as" in t for t in cifar)


def test_the_course_report_of_official_cifar_files_has_no_note(quick, monkeypatch):
    out, _ = quick
    monkeypatch.setattr(data, "official_cifar_files", lambda folder: True)
    record = json.loads((out / "config.json").read_text())
    blocks, _ = StudyDocument(read_course_file(), out, record, "t").contents()
    markdown = render_markdown(blocks, {b.path: "f.png" for b in blocks if isinstance(b, Figure)})
    assert "CIFAR-10" in markdown and "CIFAR-10 caveat" not in markdown
    assert COPY_NOTE not in markdown


def test_the_quick_profile_is_quick(quick):
    _, seconds = quick
    print(f"quick profile: {seconds:.0f} s wall")
    assert seconds < 600  # 3 minutes on an idle 2-core CPU; this machine may be shared


def test_a_second_call_reuses_every_run_and_renders_the_report_again(quick, monkeypatch):
    # what it costs is measured in docs/performance.md, not timed here: a test's timing
    # on a shared 2-core machine says more about the machine than about the code
    out, _ = quick

    def no_training(*args, **kwargs):
        raise AssertionError("a second call trained a model")

    monkeypatch.setattr(engine, "train", no_training)
    made = (out / "report.html").stat().st_mtime_ns
    run_study_report(None, out, "quick", None, OPTIONS)
    assert (out / "report.html").stat().st_mtime_ns > made
    # the report still gives each section's training time, not only this call's seconds
    times = read_csv(out / "tables" / "times.csv")
    sections = json.loads((out / "course.json").read_text())["sections"]
    paces = [sections[n]["pace"] for n in sorted(sections, key=int)]
    assert list(times["training_seconds"]) == pytest.approx([p["seconds"] for p in paces])
    assert list(times["model_epochs"]) == [p["model_epochs"] for p in paces]
    assert times["training_seconds"].sum() > 0 and times["model_epochs"].sum() > 0


def test_the_noise_matrices_name_each_true_class_once(quick):
    out, _ = quick
    transition = read_csv(out / "4-noise" / "transition-symmetric-0.4.csv")
    markdown = (out / "report.md").read_text()
    headers = [line for line in markdown.splitlines() if line.startswith("| True \\ noisy")]
    assert len(headers) >= 2  # the transition and the empirical matrix of a rate
    for header in headers:  # the true class, then one column per noisy class
        assert [c.strip() for c in header.strip("|").split("|")][1:] == [
            c for c in transition.columns if c != "true"
        ]
    first_row = markdown.split(headers[0], 1)[1].splitlines()[2]
    assert first_row.startswith("| 0 | 0.60 |")  # class 0 keeps its label with 1 - 0.4


def test_a_dry_run_prints_the_plan_with_an_eta_and_writes_nothing(quick, capsys):
    out, _ = quick
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    run_study_report(None, out, "quick", None, OPTIONS, dry_run=True)
    text = capsys.readouterr().out
    assert "1. Hyperparameters on MNIST (sweep): 6 runs, 12 model-epochs (12 finished" in text
    assert re.search(r"Total: \d+ runs, \d+ model-epochs, 0 to train", text)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before


# --------------------------------------------------------------------------- SIGINT, --resume

SMALL = """
title = "A small study"
seed = 42
repeats = 2
[defaults]
epochs = 3
batch_size = 50
train_subset = 300
test_subset = 100
[[sections]]
name = "hyperparameters"
datasets = ["digits"]
settings = [{ lr = 0.001 }, { lr = 0.002 }, { lr = 0.003 }]
[[sections]]
name = "noise"
kind = "noise"
datasets = ["digits"]
symmetric = [0, 0.4]
"""


def lenet(*args: str) -> list[str]:
    return [sys.executable, "-m", "lenetcli", "report", "--study", *args]


def test_an_interrupted_study_resumes_to_the_same_tables(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    flags = ["--out", str(out), "--device", "cpu", "--group-by", "setting"]
    child = subprocess.Popen(
        lenet(str(path), *flags), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    runs = out / "1-hyperparameters" / "runs.csv"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        if runs.is_file() and (read_csv(runs)["status"] == "finished").any():
            break
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 130, stderr
    assert "interrupted in section" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    assert not (out / "report.md").exists()
    kept = read_csv(runs)
    finished = kept[kept["status"] == "finished"]
    assert len(finished) >= 1
    resumed = subprocess.run(
        lenet(str(path), *flags, "--resume"), env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    again = read_csv(runs).set_index("run_key")
    for key, row in finished.set_index("run_key").iterrows():  # kept, not trained again
        assert again.loc[key, "seconds"] == row["seconds"]
    straight = tmp_path / "straight"
    run_study_report(
        path, straight, "full", None, RunOptions(device="cpu", quiet=True, group_by="setting")
    )
    for name in ("1-hyperparameters-digits.csv", "2-noise-accuracy.csv"):
        pd.testing.assert_frame_equal(
            read_csv(out / "tables" / name), read_csv(straight / "tables" / name), atol=1e-6
        )


def test_resume_needs_a_study_in_out(tmp_path):
    with pytest.raises(LenetError, match="holds none"):
        run_study_report(None, tmp_path / "new", "quick", None, OPTIONS, resume=True)
    assert not (tmp_path / "new").exists()


# --------------------------------------------------------------------------- the command line


def test_print_study_writes_the_shipped_file():
    result = runner.invoke(app, ["report", "--print-study"])
    assert result.exit_code == 0
    assert result.stdout == (ROOT / "lenetcli" / "studies" / "lenet5.toml").read_text()


@pytest.mark.parametrize("extra", [["mine.toml"], ["--study"]])
def test_print_study_takes_no_file_of_its_own(extra):
    result = runner.invoke(app, ["report", "--print-study", *extra])
    assert result.exit_code == 2
    assert "--print-study prints the shipped study file and takes no other" in result.output
    assert "[[sections]]" not in result.output


def one_line_error(args: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "lenetcli", *args], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error:") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_a_malformed_study_file_is_one_line_naming_the_file_section_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[sections]]\nname = "a"\ndatasets = ["digits"]\nsettings = [{ lr = 0.001 }]\n'
        '[[sections]]\nname = "b"\nepoch = 3\nsettings = [{ lr = 0.001 }]\n'
    )
    error = one_line_error(["report", "--study", str(path), "--out", str(tmp_path / "out")])
    assert str(path) in error and "section 2 'b'" in error and "'epoch'" in error
    assert not (tmp_path / "out").exists()


def test_study_options_need_study_and_folders_are_reported_as_before(tmp_path):
    assert "--profile belongs to --study" in one_line_error(["report", "--profile", "quick", "x"])
    assert "give the output folders" in one_line_error(["report"])
    error = one_line_error(["report", "--study", "--sections", "1,x", "--dry-run"])
    assert "--sections takes section numbers" in error


# --------------------------------------------------------------------------- pure pieces


def test_section_times_keep_an_interrupted_section_s_training():
    # Section 4 was interrupted in an earlier call (course.json keeps its pace, no seconds),
    # then section 1 ran alone: the report still renders both, titled as in the file.
    sections = {
        "4": {"pace": {"seconds": 90.5, "model_epochs": 30}},
        "1": {"title": "Hyperparameters", "seconds": 2.0,
              "pace": {"seconds": 3725.0, "model_epochs": 200}},
    }  # fmt: skip
    times = section_times(sections, {"1": "From the file", "4": "Label noise"})
    assert list(times["section"]) == ["1. Hyperparameters", "4. Label noise"]
    assert list(times["training_seconds"]) == [3725.0, 90.5]
    assert list(times["model_epochs"]) == [200, 30] and pd.isna(times["seconds"][1])
    assert section_time_rows(times) == [
        ["1. Hyperparameters", "1:02:05", "200", "0:00:02"],
        ["4. Label noise", "0:01:30", "30", "0:00:00"],
    ]


def test_sections_parse_as_numbers():
    assert parse_sections(None) is None
    assert parse_sections("1, 3") == [1, 3]
    for text in ("1-3", "\u00b2", "1,\u0663"):  # superscript two and an Arabic-Indic three:
        with pytest.raises(LenetError, match="e.g. 1,4"):  # digits to isdigit(), not to int()
            parse_sections(text)


class Spy(progress.StudyReporter):
    def __init__(self):
        self.calls = []

    def start_study(self, total_runs, finished_runs):
        self.calls.append(("study", total_runs, finished_runs))

    def start_setting(self, label, runs):
        self.calls.append(("setting", label, runs))

    def finish_setting(self, runs):
        self.calls.append(("finish", runs))


def test_the_course_reporter_counts_the_whole_study_once():
    spy = Spy()
    with progress.CourseReporter(spy) as reporter:
        reporter.start_course(30, 4)
        reporter.start_section("§2")
        reporter.start_study(10, 2)  # a section's session: its runs are in the totals
        reporter.start_setting("mnist wd0", 3)
        reporter.finish_setting(3)
    assert spy.calls == [("study", 30, 4), ("setting", "§2 mnist wd0", 3), ("finish", 3)]


def test_the_plan_gives_an_eta_at_the_pace_of_earlier_sessions(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL)
    study = read_course_file(path)
    plan = make_plan(study, list(study.sections), {}, OPTIONS)
    previous = {"sections": {"1": {"pace": {"seconds": 9.0, "model_epochs": 18}}}}
    text = describe_course(study, list(study.sections), plan, "full", tmp_path, previous)
    # 18 + 12 model-epochs to train, at 0.5 s each (section 2 at section 1's pace): 15 s
    assert "Total: 10 runs, 30 model-epochs, 30 to train" in text
    assert "ETA 0:00:15" in text
    unknown = describe_course(study, list(study.sections), plan, "full", tmp_path, {})
    assert "No time estimate" in unknown


def test_overwrite_recognises_a_study_folder_by_its_config(tmp_path):
    record = {"command": "report", "options": {"study": {"folders": ["1-a", "2-b", "../x"]}}}
    assert study_report_files(record, "report") == {
        "1-a",
        "2-b",
        *["course.json", "discussion.csv", "tables"],
    }
    assert study_report_files({"command": "report", "options": {}}, "report") == set()
    (tmp_path / "config.json").write_text(json.dumps(record))
    for name in ("1-a", "2-b", "mine"):
        (tmp_path / name).mkdir()
    found = {p.name for p in previous_output(tmp_path, "report")}
    assert found == {"config.json", "1-a", "2-b"}


def test_a_welch_table_names_the_measure_its_best_is_by(quick):
    out, _ = quick
    runs = read_csv(out / "1-hyperparameters" / "runs.csv")
    means = runs.groupby("setting")["final_test_acc"].mean()
    text = " ".join((out / "report.md").read_text(encoding="utf-8").split())
    assert (
        "each setting against the one with the highest mean final test accuracy, "
        f"{means.idxmax()}, by a two-sided Welch t-test"
    ) in text


def test_the_noise_section_shows_each_type_at_40_percent_or_its_highest_rate():
    summary = pd.DataFrame({
        "setting": ["none-0", "symmetric-0.1", "symmetric-0.3", "symmetric-0.5", "pair-0.2",
                    "pair-0.4", "pair-0.6", "transition"],
        "noise_type": ["none", "symmetric", "symmetric", "symmetric", "pair", "pair", "pair",
                       "transition"],
        "noise_rate": [0.0, 0.1, 0.3, 0.5, 0.2, 0.4, 0.6, 0.25],
    })  # fmt: skip
    shown = shown_noise_settings(summary)
    assert list(shown["setting"]) == ["symmetric-0.5", "pair-0.4", "transition"]
    clean = summary[summary["noise_type"] == "none"]
    assert shown_noise_settings(clean).empty


def test_a_confusion_section_given_to_lenet_report_names_the_study_around_it(quick, tmp_path):
    out, _ = quick
    folder = next((out / "3-confusion").iterdir())  # a dataset's folder, with no config.json
    result = runner.invoke(app, ["report", str(folder), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert f"is part of the course study in {out}, whose report is {out / 'report.md'}" in message
    assert not (tmp_path / "r").exists()


def test_the_best_setting_names_the_mean_it_was_chosen_by_and_any_tie():
    from lenetcli.commands.report.study_document import best_sentence
    from lenetcli.studies.summary import best_mask

    rows = pd.DataFrame({
        "dataset": ["digits"] * 3, "setting": ["lr0.006", "lr0.01", "lr0.012"], "n": [2] * 3,
        "diverged": [0] * 3, "final_val_acc_mean": [88.0, 89.5, 89.5],
        "final_test_acc_mean": [87.0, 88.5, 89.75], "final_test_acc_std": [1.0, 1.41, 3.18],
    })  # fmt: skip
    text = best_sentence("digits", rows, rows[best_mask(rows)])
    assert text == (
        "Best setting on Digits (scikit-learn 8x8): lr0.01, lr0.012 are tied at the highest mean validation "
        "accuracy (89.50%); the first, lr0.01, is taken as the best (88.50 ± 1.41% testing "
        "accuracy)."
    )
    rows.loc[2, "final_val_acc_mean"] = 89.0
    assert best_sentence("digits", rows, rows[best_mask(rows)]) == (
        "Best setting on Digits (scikit-learn 8x8): lr0.01, the highest mean validation accuracy (89.50% "
        "validation accuracy; 88.50 ± 1.41% testing accuracy)."
    )
    plain = rows.drop(columns="final_val_acc_mean")
    assert best_sentence("digits", plain, plain[best_mask(plain)]) == (
        "Best setting on Digits (scikit-learn 8x8): lr0.012, the highest mean testing accuracy (89.75 ± 3.18% "
        "testing accuracy)."
    )


def test_the_seeds_table_shows_validation_accuracy_where_the_runs_have_it(tmp_path):
    from lenetcli.commands.report.study_document import StudyDocument

    runs = pd.DataFrame({
        "setting": ["a", "a", "b", "b"], "seed": [42, 43, 42, 43],
        "final_train_acc": [90.0, 91.0, 92.0, 93.0], "final_val_acc": [88.0, 89.0, 90.0, 91.0],
        "final_test_acc": [87.0, 88.0, 89.0, 90.0],
    })  # fmt: skip
    summary = pd.DataFrame({"setting": ["a", "b"]})
    document = StudyDocument(read_course_file(), tmp_path, {}, "t")
    table = document.seeds_table("x.csv", "digits", summary, runs)
    frame = document.tables["x.csv"]
    assert list(frame.columns) == ["No.", "a training", "a validation", "a testing",
                                   "b training", "b validation", "b testing"]  # fmt: skip
    assert list(frame["b validation"]) == [90.0, 91.0, 91.0, 90.5, pytest.approx(0.7071, 1e-4)]
    assert "final training, validation and testing accuracy of each" in table.caption
    without = runs.assign(final_val_acc=float("nan"))
    plain = document.seeds_table("y.csv", "digits", summary, without)
    assert "final training and testing accuracy of each" in plain.caption
    assert "a validation" not in document.tables["y.csv"]


def test_a_dry_run_of_the_study_names_the_datasets_it_would_download_first(tmp_path):
    nowhere, out = tmp_path / "no-data", tmp_path / "out"
    result = runner.invoke(app, ["report", "--study", "--profile", "quick", "--dry-run",
                                 "--data-dir", str(nowhere), "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"Not in {nowhere} yet, downloaded first: MNIST, Fashion-MNIST, CIFAR-10" in text
    assert not nowhere.exists() and not out.exists()


def test_a_welch_table_states_differences_of_its_shown_means_ties_and_p_beside_alpha(tmp_path):
    from lenetcli.commands.report.study_document import StudyDocument

    document = StudyDocument(course=read_course_file(), out=tmp_path, record={}, title="t")
    relu, tanh = [98.9, 98.99, 98.83, 99.05, 98.95], [98.87, 98.83, 98.59, 98.49, 98.86]
    # sigmoid comes first in the study's order; elu's equal mean (98.872) is a hair above it
    elu, sigmoid = [99.06, 98.61, 98.99, 98.9, 98.8], [99.06, 98.6, 99.0, 98.9, 98.8]
    runs = pd.DataFrame({
        "setting": ["relu"] * 5 + ["tanh"] * 5,
        "final_test_acc": relu + tanh,
    })  # fmt: skip
    table = document.welch_table("t.csv", runs, "final_test_acc")
    row = dict(zip(table.header, table.rows[1], strict=True))
    assert row["Mean ± std"].startswith("98.73") and table.rows[0][2].startswith("98.94")
    assert row["Difference (points)"] == "0.21"  # not 98.944 - 98.728's 0.22
    assert (row["p"], row["Significant"]) == ("0.0498", "yes")  # p = 0.04975, not 0.050
    assert document.tables["t.csv"]["difference"][1] == pytest.approx(0.216)  # unrounded
    tied = pd.DataFrame({"setting": ["sigmoid"] * 5 + ["elu"] * 5, "final_test_acc": sigmoid + elu})
    assert np.mean(elu) > np.mean(sigmoid)
    table = document.welch_table("u.csv", tied, "final_test_acc")
    assert [r[0] for r in table.rows] == ["sigmoid", "elu"] and table.rows[0][3] == "best"
    assert "final test accuracy, sigmoid, tied with elu (the first is taken), by" in table.caption


def test_the_memorisation_table_states_the_peak_minus_final_of_its_means_in_whole_epochs():
    from lenetcli.commands.report.study_document import memorisation_rows

    table = pd.DataFrame({
        "setting": ["none-0", "pair-0.4"], "epochs": [15, 15],
        "final_test_acc_mean": [99.0, 98.944], "final_test_acc_std": [0.1, 0.1],
        "peak_test_acc_mean": [99.0, 99.156], "peak_test_acc_std": [0.1, 0.1],
        "peak_epoch_mean": [15.0, 3.4], "peak_epoch_min": [15, 2], "peak_epoch_max": [15, 5],
        "peak_minus_final": [0.0, 0.212], "final_train_acc_noisy_mean": [99.5, 70.0],
        "final_train_acc_true_mean": [99.5, 95.0],
    })  # fmt: skip
    rows = memorisation_rows(table)
    assert rows[0][4:6] == ["15 (15-15)", "0.00"]
    assert rows[1][2:6] == ["98.94 ± 0.10", "99.16 ± 0.10", "3.4 (2-5)", "0.22"]
