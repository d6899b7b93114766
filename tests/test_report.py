"""`lenet report` over real output folders of every command, made on a small digits subset."""

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import real_data_root, record_titles
from typer.testing import CliRunner

from lenetcli.cli import app
from lenetcli.commands import sweep as sweep_command
from lenetcli.commands.report import writer
from lenetcli.commands.report.sections import command_line, data_text
from lenetcli.commands.report.sources import RESULT_COLUMNS, find_sources
from lenetcli.outputs.document import Table, Text, render_html, render_markdown
from lenetcli.outputs.files import WRITING
from lenetcli.science import data
from lenetcli.science.data import COPY_NOTE, COPY_SUFFIX, copy_note

runner = CliRunner()
SMALL = ["--dataset", "digits", "--train-subset", "300", "--test-subset", "100", "--quiet"]


def lenet(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """One output folder of each command that report reads."""
    root = tmp_path_factory.mktemp("runs")
    made = {
        "train": ["train", *SMALL, "--epochs", "2", "--repeats", "2"],
        "sweep": ["sweep", *SMALL, "--epochs", "1", "--repeats", "2", "--lr", "0.001,0.01"],
        "noise": ["noise", *SMALL, "--epochs", "1", "--repeats", "2", "--noise-rate", "0,0.4"],
    }
    for name, args in made.items():
        result = lenet(*args, "--out", root / name)
        assert result.exit_code == 0, result.output
    for command in ("confusion", "hardsamples"):
        result = lenet(command, "--from", root / "train", "--quiet", "--out", root / command)
        assert result.exit_code == 0, result.output
    return {name: root / name for name in [*made, "confusion", "hardsamples"]}


@pytest.fixture(scope="module")
def full_report(folders, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "all"
    result = lenet("report", *folders.values(), "--out", out, "--title", "Lab 3")
    assert result.exit_code == 0, result.output
    return out


def test_report_writes_every_file(full_report):
    names = sorted(p.name for p in full_report.iterdir())
    assert names == [
        "compare.png", "config.json", "figures", "report.html", "report.md", "results.csv",
        "results.json",
    ]  # fmt: skip
    record = json.loads((full_report / "config.json").read_text())
    assert record["command"] == "report" and record["options"]["title"] == "Lab 3"
    assert [s["command"] for s in record["data"]["sources"]] == [
        "train", "sweep", "noise", "confusion", "hardsamples",
    ]  # fmt: skip
    assert record["environment"]["lenetcli"]


def test_results_hold_one_row_per_configuration_with_the_folders_numbers(folders, full_report):
    results = pd.read_csv(full_report / "results.csv")
    assert list(results.columns) == RESULT_COLUMNS
    assert results[["source", "setting"]].fillna("").values.tolist() == [
        ["train", ""], ["sweep", "lr0.001"], ["sweep", "lr0.01"],
        ["noise", "none-0"], ["noise", "symmetric-0.4"],
    ]  # fmt: skip
    assert (results["n"] == 2).all() and (results["dataset"] == "digits").all()

    # train: mean and sample std of the final epoch's test accuracy over the two seeds
    metrics = pd.read_csv(folders["train"] / "metrics.csv")
    final = metrics[metrics["epoch"] == 2]["test_acc"]
    train = results.iloc[0]
    assert train["final_test_acc_mean"] == pytest.approx(final.mean(), abs=1e-4)
    assert train["final_test_acc_std"] == pytest.approx(final.std(ddof=1), abs=1e-4)
    assert train["best_test_acc_mean"] == pytest.approx(
        metrics.groupby("seed")["test_acc"].max().mean(), abs=1e-4
    )
    assert train["epochs"] == 2 and train["lr"] == 0.001

    # sweep and noise: the same numbers as their own summary.csv
    for name in ("sweep", "noise"):
        summary = pd.read_csv(folders[name] / "summary.csv")
        own = results[results["source"] == name].reset_index(drop=True)
        columns = ["final_test_acc_mean", "final_test_acc_std", "final_test_acc_ci95"]
        for column in [*columns, "final_train_acc_mean"]:
            assert own[column].tolist() == pytest.approx(summary[column].tolist(), abs=1e-4)
    noise = results[results["source"] == "noise"]
    assert noise["noise_rate"].tolist() == [0.0, 0.4]
    assert ",none,0," in (full_report / "results.csv").read_text()  # as runs.csv writes it
    assert noise["noise_type"].tolist() == ["none", "symmetric"]
    assert results["noise_type"].isna().sum() == 3


def test_markdown_shows_every_folder_and_links_only_files_that_exist(folders, full_report):
    text = (full_report / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# Lab 3\n")
    for i, name in enumerate(["train", "sweep", "noise", "confusion", "hardsamples"], 1):
        assert f"## {i}. {name}: lenet {name}" in text
        record = json.loads((folders[name] / "config.json").read_text())
        assert f"```\n{command_line(record)}\n```" in text  # the command that made it
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "compare.png" in links and "figures/1-train/curves.png" in links
    assert "figures/4-confusion/confusion.png" in links
    assert any(link.startswith("figures/5-hardsamples/hard-") for link in links)
    for link in links:
        assert (full_report / link).is_file(), link
    # The summary table: a header, the alignment row, and one row per configuration
    summary = text.split("## Summary")[1].split("![")[0]
    assert len([line for line in summary.splitlines() if line.startswith("| ")]) == 2 + 5


class Tags(HTMLParser):
    """Counts images and checks that every opened tag is closed in order."""

    VOID = {"meta", "img", "br"}

    def __init__(self):
        super().__init__()
        self.open, self.images, self.viewport = [], [], None
        self.tables = self.scrolled = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "meta" and attrs.get("name") == "viewport":
            self.viewport = attrs["content"]
        if tag == "table":
            self.tables += 1
            self.scrolled += self.open[-1:] == ["div"]
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open.pop() == tag


def test_html_is_one_page_with_the_same_images_embedded(full_report):
    markdown = (full_report / "report.md").read_text(encoding="utf-8")
    html = (full_report / "report.html").read_text(encoding="utf-8")
    page = Tags()
    page.feed(html)
    assert page.open == []
    assert len(page.images) == markdown.count("![")
    assert all(src.startswith("data:image/png;base64,iVBOR") for src in page.images)
    # Readable on a phone: laid out at the screen's width, wide tables scroll on their own
    assert page.viewport == "width=device-width, initial-scale=1"
    assert page.tables and page.tables == page.scrolled
    assert "<caption>Most confused pairs</caption>" in html


def test_analysis_sections_say_what_was_evaluated_and_label_their_tables(folders, full_report):
    text = (full_report / "report.md").read_text(encoding="utf-8")
    confusion = text.split(": lenet confusion")[1].split("\n## ")[0]
    model = json.loads((folders["confusion"] / "config.json").read_text())["data"]
    assert f"Evaluated on {model['test_size']} test images of Digits" in confusion
    assert "(seed 42, 2 epochs on 300 training images)" in confusion
    assert "*Most confused pairs*" in confusion and "*Per class" in confusion
    hard = text.split(": lenet hardsamples")[1]
    assert "and p, the probability the model gave its prediction" in hard


def test_unordered_pairs_of_a_confusion_are_shown(folders, tmp_path):
    out = tmp_path / "unordered"
    result = lenet("confusion", "--from", folders["train"], "--unordered", "-q", "--out", out)
    assert result.exit_code == 0, result.output
    assert lenet("report", out, "--out", tmp_path / "rep", "-q").exit_code == 0
    pairs = pd.read_csv(out / "confused_pairs.csv").head(5)
    text = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "Share of both classes (%)" in text
    for p in pairs.itertuples():
        assert f"| {p.rank} | {p.class_a_name} ↔ {p.class_b_name} | {p.count} |" in text


def test_folder_of_a_multi_dataset_confusion_is_read_per_dataset(folders, tmp_path):
    parent = tmp_path / "confusion-all"
    for name in ("digits", "copy"):
        shutil.copytree(folders["confusion"], parent / name)
    sources, _ = find_sources([parent])
    assert [s.label for s in sources] == ["copy", "digits"]
    assert all(s.command == "confusion" for s in sources)


def test_a_folder_of_runs_counts_as_the_runs_in_it_but_not_its_reports(
    folders, full_report, tmp_path
):
    runs = tmp_path / "runs"
    shutil.copytree(folders["train"], runs / "train")
    shutil.copytree(full_report, runs / "report")
    for name in ("mnist", "digits"):  # as `lenet confusion --dataset mnist,digits` lays out
        shutil.copytree(folders["confusion"], runs / "confusion" / name)
    (runs / "notes").mkdir()
    labels = [s.label for s in find_sources([runs])[0]]
    assert labels == ["digits", "mnist", "train"]


def test_output_folders_are_found_at_any_depth_and_nowhere_they_are_not(folders, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(folders["train"], course / "week1" / "lab" / "monday" / "train")
    shutil.copytree(folders["sweep"], course / "week2" / "sweep")
    shutil.copytree(folders["noise"], course / ".git" / "noise")  # hidden: not looked into
    (course / "tool").mkdir()  # another program's config.json, with a run below it
    (course / "tool" / "config.json").write_text('{"name": "not lenet"}')
    shutil.copytree(folders["train"], course / "tool" / "run")
    (course / "list").mkdir()
    (course / "list" / "config.json").write_text("[1, 2]")  # JSON, but no lenet record
    shutil.copytree(folders["train"], course / "week3")
    (course / "week3" / "config.json").write_text("{")  # damaged: listed, not fatal
    (course / "week2" / "loop").symlink_to(course, target_is_directory=True)
    sources, left_out = find_sources([course])
    assert [s.label for s in sources] == ["run", "train", "sweep"]
    assert left_out == {course / "week3": "its config.json cannot be read"}
    # a folder with another program's config.json, given by name, is searched too
    assert [s.label for s in find_sources([course / "tool"])[0]] == ["run"]


def test_a_default_folder_taken_meanwhile_gets_the_report_whole(folders, tmp_path, monkeypatch):
    taken = tmp_path / "runs" / "report-20261127-101500"
    taken.mkdir(parents=True)  # by a report started in the same second, after the check
    monkeypatch.setattr(writer, "default_folder", lambda name: taken)
    result = lenet("report", folders["train"], folders["sweep"])
    assert result.exit_code == 0, result.output
    moved = taken.with_name(taken.name + "-2")
    assert f"Wrote {moved}/ (open report.html)" in " ".join(result.output.split())
    assert not any(taken.iterdir())
    assert "](compare.png)" in (moved / "report.md").read_text()
    assert (moved / "compare.png").is_file() and (moved / "report.html").stat().st_size > 0


def test_diverged_runs_are_counted(folders, tmp_path):
    blown = tmp_path / "blown"
    args = ["--epochs", "1", "--repeats", "2", "--optimizer", "sgd", "--lr", "1000"]
    assert lenet("train", *SMALL, *args, "--out", blown).exit_code == 0
    out = tmp_path / "rep"
    assert lenet("report", folders["train"], blown, "--out", out, "-q").exit_code == 0
    results = pd.read_csv(out / "results.csv")
    assert list(results["n"]) == [2, 2] and list(results["diverged"]) == [0, 2]
    assert "| 2 (2 diverged) |" in (out / "report.md").read_text()


def test_a_setting_whose_runs_all_diverged_is_never_shown_best(tmp_path):
    study = tmp_path / "sweep"
    args = ["--epochs", "1", "--optimizer", "sgd", "--lr", "0.0000001,1000", "--seed", "5"]
    assert lenet("sweep", *SMALL, *args, "--out", study).exit_code == 0
    summary = pd.read_csv(study / "summary.csv").set_index("setting")
    assert summary.loc["lr1000", "diverged"] == 1 and summary.loc["lr1e-07", "best"] == 1
    out = tmp_path / "rep"
    assert lenet("report", study, "--out", out, "-q").exit_code == 0
    text = (out / "report.md").read_text()
    best_rows = [line for line in text.splitlines() if "**best**" in line]
    assert len(best_rows) == 1 and "lr1e-07" in best_rows[0], best_rows
    assert "Best setting: lr1000" not in text


def test_folders_of_the_same_name_get_their_parent_in_the_label(folders, tmp_path):
    for parent in ("a", "b"):
        shutil.copytree(folders["train"], tmp_path / parent / "run")
    sources, _ = find_sources([tmp_path / "a" / "run", tmp_path / "b" / "run"])
    assert [s.label for s in sources] == ["a/run", "b/run"]


def test_labels_stay_unique_when_parents_share_names_too(folders, tmp_path):
    # lab1/runs/mnist and lab2/runs/mnist: the parent alone would give both "runs/mnist"
    shutil.copytree(folders["train"], tmp_path / "lab1" / "runs" / "mnist")
    shutil.copytree(folders["sweep"], tmp_path / "lab2" / "runs" / "mnist")
    shutil.copytree(folders["noise"], tmp_path / "other")
    given = [tmp_path / "lab1" / "runs" / "mnist", tmp_path / "lab2" / "runs" / "mnist"]
    out = tmp_path / "rep"
    assert lenet("report", *given, tmp_path / "other", "--out", out, "-q").exit_code == 0
    results = pd.read_csv(out / "results.csv")
    assert results["source"].drop_duplicates().tolist() == [
        "lab1/runs/mnist", "lab2/runs/mnist", "other",
    ]  # fmt: skip
    assert results.groupby("source")["command"].first().to_dict() == {
        "lab1/runs/mnist": "train", "lab2/runs/mnist": "sweep", "other": "noise",
    }  # fmt: skip


def test_an_interrupted_study_is_shown_as_provisional(folders, tmp_path):
    study = tmp_path / "interrupted"
    shutil.copytree(folders["sweep"], study)
    runs = pd.read_csv(study / "runs.csv")
    runs.loc[runs["setting"] == runs["setting"].iloc[-1], "status"] = "pending"
    runs.to_csv(study / "runs.csv", index=False)
    (study / "summary.md").unlink()  # as an interrupted sweep leaves it: not written yet
    out = tmp_path / "rep"
    result = lenet("report", study, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    # on stderr, even with --quiet: a script must know its numbers are provisional
    warning = "Warning: " + f"{study} is an interrupted sweep: 2 pending run(s) left out"
    assert warning in " ".join(result.stderr.split())
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "Interrupted: 2 of 4 runs finished. The 2 pending ones are left out" in text
    assert f"--resume --out {study}" in text
    assert "summary.md" not in text
    assert len(pd.read_csv(out / "results.csv")) == 1


def test_study_without_finished_runs_is_said_so(folders, tmp_path):
    study = tmp_path / "interrupted"
    shutil.copytree(folders["sweep"], study)
    runs = pd.read_csv(study / "runs.csv")
    runs.assign(status="pending").to_csv(study / "runs.csv", index=False)
    # as a study stopped in its first setting leaves it: the header alone
    metrics = pd.read_csv(study / "metrics.csv")
    metrics.head(0).to_csv(study / "metrics.csv", index=False)
    result = lenet("report", study, folders["train"], "--out", tmp_path / "rep", "--quiet")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "rep" / "results.csv")["source"].tolist() == ["train"]
    text = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "No run of this sweep has finished yet" in text


def interrupted_copy(train_folder, destination):
    """A train folder as Ctrl-C leaves it: config.json marked, no model, no predictions."""
    shutil.copytree(train_folder, destination)
    record = json.loads((destination / "config.json").read_text())
    record["interrupted"] = "after epoch 1 of 2"
    (destination / "config.json").write_text(json.dumps(record))
    for name in ("model.pt", "predictions.csv"):
        (destination / name).unlink()
    return destination


def test_a_damaged_folder_in_a_folder_of_runs_is_left_out_and_listed(folders, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(folders["train"], runs / "done")
    shutil.copytree(folders["train"], runs / "edited")
    (runs / "edited" / "metrics.csv").write_text("seed,epoch,train_loss\n42,1,x\n")
    shutil.copytree(folders["confusion"], runs / "pairs")
    (runs / "pairs" / "confused_pairs.csv").write_text("rank\n1\n")
    out = tmp_path / "rep"
    result = lenet("report", runs, "--out", out)
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out / "results.csv")["source"].tolist() == ["done"]
    warnings = " ".join(result.stderr.split())
    assert f"Warning: Left out {runs / 'edited'}: cannot be read as lenet wrote it:" in warnings
    assert f"Warning: Left out {runs / 'pairs'}: cannot be read as lenet wrote it:" in warnings
    recorded = json.loads((out / "config.json").read_text())["data"]["unfinished"]
    assert sorted(Path(f).name for f in recorded) == ["edited", "pairs"]
    assert "has no column train_acc" in recorded[str(runs / "edited")]
    # named itself, the same folder is refused, naming its fix
    result = lenet("report", runs / "edited", "--out", tmp_path / "rep2")
    assert_refused(result, "has no column train_acc", "leave the folder out")
    shutil.rmtree(runs / "done")
    assert_refused(
        lenet("report", runs, "--out", tmp_path / "rep3"), "no output folder to report on"
    )


def test_unfinished_folders_in_a_folder_of_runs_are_left_out_and_listed(folders, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(folders["train"], runs / "done")
    interrupted_copy(folders["train"], runs / "stopped")
    shutil.copytree(folders["sweep"], runs / "crashed")
    (runs / "crashed" / "runs.csv").unlink()
    out = tmp_path / "rep"
    result = lenet("report", runs, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Left out" in result.output and "stopped" in result.output
    assert pd.read_csv(out / "results.csv")["source"].tolist() == ["done"]
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "2 folder(s) left out, unfinished or unreadable" in text
    assert "## Left out: unfinished or unreadable folders" in text
    assert "lenet train was interrupted after epoch 1 of 2" in text
    assert "runs.csv missing" in text
    recorded = json.loads((out / "config.json").read_text())["data"]["unfinished"]
    assert sorted(Path(f).name for f in recorded) == ["crashed", "stopped"]


def test_an_unfinished_folder_named_itself_is_refused(folders, tmp_path):
    stopped = interrupted_copy(folders["train"], tmp_path / "stopped")
    out = tmp_path / "rep"
    assert_refused(
        lenet("report", stopped, folders["sweep"], "--out", out),
        "is unfinished: lenet train was interrupted after epoch 1 of 2",
    )
    parent = tmp_path / "only-unfinished"
    interrupted_copy(folders["train"], parent / "stopped")
    assert_refused(lenet("report", parent, "--out", out), "no finished output folder")
    assert not out.exists()


def test_report_of_analysis_folders_only_has_no_results_table(folders, tmp_path):
    out = tmp_path / "rep"
    result = lenet("report", folders["confusion"], "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "figures", "report.html", "report.md", "results.csv", "results.json",
    ]  # fmt: skip
    assert "## Summary" not in (out / "report.md").read_text(encoding="utf-8")
    # results.csv is there for scripts that read it, with its header and no rows
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == RESULT_COLUMNS and results.empty


def test_a_hardsamples_folder_without_errors_says_so(folders, tmp_path):
    # as hardsamples writes it when every test image is classified correctly
    folder = tmp_path / "hard"
    shutil.copytree(folders["hardsamples"], folder)
    samples = pd.read_csv(folder / "hard_samples.csv")
    samples.head(0).to_csv(folder / "hard_samples.csv", index=False)
    shutil.rmtree(folder / "hard")
    out = tmp_path / "rep"
    assert lenet("report", folder, "--out", out, "--quiet").exit_code == 0
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "No confused pairs: every test image is classified correctly." in text
    assert "| Gallery |" not in text and "0 most confused" not in text


def test_setting_names_that_look_like_numbers_stay_as_written(tmp_path, monkeypatch):
    # lenet 0.2 refuses such names (a spreadsheet misreads them); folders of earlier versions
    # may hold them
    monkeypatch.setattr(sweep_command, "NAME_PATTERN", re.compile(r"[A-Za-z0-9][\w.+-]{0,99}"))
    study = tmp_path / "study.toml"
    study.write_text(
        'datasets = ["digits"]\n[defaults]\nepochs = 1\ntrain_subset = 100\ntest_subset = 50\n'
        '[[settings]]\nname = "01"\nlr = 0.001\n[[settings]]\nname = "02"\nlr = 0.01\n'
    )
    sweep = tmp_path / "sweep"
    assert lenet("sweep", "--config", study, "--out", sweep, "--quiet").exit_code == 0
    out = tmp_path / "rep"
    assert lenet("report", sweep, "--out", out, "--quiet").exit_code == 0
    results = pd.read_csv(out / "results.csv", dtype={"setting": str})
    assert list(results["setting"]) == ["01", "02"]
    best = pd.read_csv(sweep / "summary.csv", dtype={"setting": str}).query("best == 1")
    (name,) = best["setting"]
    assert f"digits-{name}" in (out / "report.md").read_text(encoding="utf-8")  # its curves


def assert_refused(result, *words):
    """Exit code 2, one line naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    for word in words:
        assert word in lines[0], lines[0]


def test_bad_folders_are_refused_before_anything_is_written(folders, tmp_path):
    out = tmp_path / "rep"
    assert_refused(lenet("report", tmp_path / "nowhere", "--out", out), "is not a folder")
    (tmp_path / "empty").mkdir()
    assert_refused(
        lenet("report", tmp_path / "empty", "--out", out), "holds no output folder of lenet"
    )

    broken = tmp_path / "broken"
    shutil.copytree(folders["train"], broken)
    (broken / "config.json").write_text("{not json")
    assert_refused(lenet("report", broken, "--out", out), "cannot read", "config.json")
    (broken / "config.json").write_text("[" * 100_000 + "]" * 100_000)  # too deep for json
    assert_refused(lenet("report", broken, "--out", out), "thousands of levels deep")
    for other in ("[1, 2]", '{"command": "evil"}'):  # JSON, but not a record lenet writes
        (broken / "config.json").write_text(other)
        assert_refused(
            lenet("report", broken, "--out", out),
            f"{broken / 'config.json'} is not a record of a lenet command",
        )

    unfinished = tmp_path / "unfinished"
    shutil.copytree(folders["train"], unfinished)
    (unfinished / "metrics.csv").unlink()
    assert_refused(
        lenet("report", folders["sweep"], unfinished, "--out", out),
        "is unfinished: metrics.csv missing",
    )

    edited = tmp_path / "edited"
    shutil.copytree(folders["confusion"], edited)
    pairs = pd.read_csv(edited / "confused_pairs.csv")
    pairs.drop(columns=["predicted_class"]).to_csv(edited / "confused_pairs.csv", index=False)
    assert_refused(lenet("report", edited, "--out", out), "has no column predicted_class")
    assert not out.exists()


def test_a_report_is_not_reported_on_and_never_overwrites_a_source(folders, full_report, tmp_path):
    assert_refused(lenet("report", full_report, "--out", tmp_path / "r"), "is a report itself")
    before = (folders["train"] / "config.json").read_bytes()
    assert_refused(
        lenet("report", folders["train"], "--out", folders["train"], "--overwrite"),
        "an input of this command; choose another --out",
    )
    assert (folders["train"] / "config.json").read_bytes() == before
    assert_refused(
        lenet("report", folders["train"], "--out", folders["train"] / "report"),
        f"lies in {folders['train']}, a folder reported on; choose another --out",
    )
    assert not (folders["train"] / "report").exists()
    assert_refused(lenet("report", folders["train"], "--out", full_report), "not empty")


def test_command_line_is_the_one_typed_with_its_quoting():
    record = {"argv": ["/venv/bin/lenet", "report", "runs/a b", "--title", "Lab 3"]}
    assert command_line(record) == "lenet report 'runs/a b' --title 'Lab 3'"


def test_rendering_escapes_what_markdown_and_html_would_read_as_markup():
    blocks = [Table(["a|b", "<n>"], [["x|y", "1"]]), Text("<script>")]
    markdown = render_markdown(blocks, {})
    # a "<" that opens a tag is text in Markdown too (a Markdown viewer renders raw HTML)
    assert "| a\\|b | &lt;n> |" in markdown and "&lt;script>" in markdown
    assert "<n>" not in markdown and "<script>" not in markdown
    page = render_html(blocks, "t", Path("."))
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;n&gt;" in page


def test_noise_section_shows_the_noisiest_setting_not_the_clean_one(full_report):
    text = (full_report / "report.md").read_text(encoding="utf-8")
    noise = text.split(": lenet noise")[1].split("\n## ")[0]
    assert "Training acc. (noisy labels)" in noise
    assert (
        "![Noisiest setting: symmetric-0.4](figures/3-noise/curves-digits-symmetric-0.4.png)"
        in noise
    )
    assert "![Noisy training labels of symmetric-0.4]" in noise
    assert "Best setting" not in noise


def test_pairs_never_confused_are_not_shown_as_confused(folders, tmp_path):
    perfect = tmp_path / "perfect"
    shutil.copytree(folders["confusion"], perfect)
    pairs = pd.read_csv(perfect / "confused_pairs.csv")
    pairs.assign(count=0, rate=0.0).to_csv(perfect / "confused_pairs.csv", index=False)
    assert lenet("report", perfect, "--out", tmp_path / "rep", "-q").exit_code == 0
    text = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "No confused pairs: every test image is classified correctly." in text
    assert "*Most confused pairs*" not in text


def test_validation_accuracy_is_reported_beside_folders_without_it(folders, tmp_path):
    validated = tmp_path / "validated"
    args = ["--epochs", "1", "--repeats", "2", "--lr", "0.001,0.01", "--val-split", "0.2"]
    assert lenet("sweep", *SMALL, *args, "--out", validated).exit_code == 0
    # A folder written before --val-split existed: no such option, column or value anywhere
    old = tmp_path / "old"
    shutil.copytree(folders["train"], old)
    record = json.loads((old / "config.json").read_text())
    del record["options"]["val_split"], record["data"]["val_size"]
    (old / "config.json").write_text(json.dumps(record))
    out = tmp_path / "rep"
    result = lenet("report", validated, old, "--out", out, "-q")
    assert result.exit_code == 0, result.output

    results = pd.read_csv(out / "results.csv")
    summary = pd.read_csv(validated / "summary.csv")
    mine = results[results["source"] == "validated"].set_index("setting")
    for row in summary.itertuples():
        assert mine.loc[row.setting, "final_val_acc_mean"] == pytest.approx(row.final_val_acc_mean)
        assert mine.loc[row.setting, "val_split"] == 0.2
    theirs = results[results["source"] == "old"].iloc[0]
    assert theirs["val_split"] == 0 and pd.isna(theirs["final_val_acc_mean"])

    text = (out / "report.md").read_text()
    assert "240 training, 60 validation and 100 test images" in text
    assert "highest mean validation accuracy of its dataset" in text
    header = next(line for line in text.splitlines() if line.startswith("| Source"))
    assert "| Validation acc. |" in header
    # the options that differ between the rows have a column; the others do not
    assert "| epochs | lr | val split | n |" in header and "| batch size |" not in header


def test_a_noise_study_shows_training_accuracy_on_the_true_labels(folders, full_report):
    summary = pd.read_csv(folders["noise"] / "summary.csv", dtype={"setting": str})
    results = pd.read_csv(full_report / "results.csv", dtype={"setting": str})
    noise = results[results["command"] == "noise"].set_index("setting")
    for row in summary.itertuples():
        assert noise.loc[row.setting, "final_train_acc_clean_mean"] == pytest.approx(
            row.final_train_acc_clean_mean
        )
    assert results[results["command"] != "noise"]["final_train_acc_clean_mean"].isna().all()
    text = (full_report / "report.md").read_text()
    assert "| Training acc. (noisy labels) | Training acc. (true labels) |" in text


def test_an_interrupted_report_is_marked_and_replaced_by_overwrite(folders, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    write_text = writer.write_text

    def interrupted_at_the_html(path, text):
        if path.name == "report.html":  # results.csv, the figures and report.md are written
            raise KeyboardInterrupt
        return write_text(path, text)

    monkeypatch.setattr(writer, "write_text", interrupted_at_the_html)
    result = lenet("report", folders["train"], folders["sweep"], "--out", out, "-q")
    assert result.exit_code == 130, result.output
    assert f"run the command again with --overwrite --out {out}" in " ".join(result.output.split())
    assert (out / "report.md").is_file() and not (out / "report.html").exists()
    record = json.loads((out / "config.json").read_text())
    assert record["command"] == "report" and record["interrupted"] == WRITING

    monkeypatch.undo()
    result = lenet("report", folders["train"], folders["sweep"], "--out", out, "-q", "--overwrite")
    assert result.exit_code == 0, result.output
    assert "interrupted" not in json.loads((out / "config.json").read_text())
    assert (out / "report.html").stat().st_size > 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # nothing left aside


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda m: m.assign(train_acc="abc"), "line 2, column train_acc: 'abc' is not a number"),
        (lambda m: m.iloc[:0], "metrics.csv holds no epochs (a header alone)"),
    ],
)
def test_a_train_folder_with_a_damaged_metrics_csv_is_one_line(folders, tmp_path, damage, message):
    source = tmp_path / "train"
    shutil.copytree(folders["train"], source)
    damage(pd.read_csv(source / "metrics.csv")).to_csv(source / "metrics.csv", index=False)
    result = lenet("report", source, "--out", tmp_path / "r")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_the_report_shows_every_hyperparameter_of_a_run():
    # a TrainConfig field added later must be named in config.ADDED_FIELDS (what an older
    # folder ran it at) or the report's CONFIG_COLUMNS, or no report would ever show it
    from lenetcli.commands.report.sources import ADDED_COLUMNS, CONFIG_COLUMNS
    from lenetcli.config import HYPERPARAMETERS

    assert sorted([*CONFIG_COLUMNS, *ADDED_COLUMNS]) == sorted(HYPERPARAMETERS)


def test_folders_named_like_a_formula_or_a_date_are_text_in_results_csv(folders, tmp_path):
    for name in ("=1+2", "2025-01"):
        shutil.copytree(folders["train"], tmp_path / name)
    out = tmp_path / "rep"
    result = lenet("report", tmp_path / "=1+2", tmp_path / "2025-01", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    sources = pd.read_csv(out / "results.csv")["source"].tolist()
    assert sources == ["./=1+2", "./2025-01"]  # a spreadsheet evaluated =1+2 and read a date


def test_text_a_spreadsheet_would_read_as_another_type_is_told_apart():
    from lenetcli.outputs.files import reads_as_text

    for text in ("train", "runs/2025-01", "lr0.001-bs32", "NAtest", "digits", "élan"):
        assert reads_as_text(text), text
    for text in ("=1+2", "+1", "-1", "@SUM(A1)", "1-2", "1e5", "0012", "", "Jan-2", "NA", "TRUE",
                 "nan", "Infinity"):  # fmt: skip
        assert not reads_as_text(text), text


def test_a_record_without_its_data_says_so_rather_than_none():
    assert data_text({}) == "Data not recorded"
    assert data_text({"data": None}) == "Data not recorded"
    mnist = {"dataset": "mnist", "train_size": 60000, "test_size": 10000, "source": "/d"}
    assert data_text({"data": mnist}) == "MNIST: 60,000 training and 10,000 test images from /d"


# --------------------------------------------------------------------------- CIFAR-10's copy


@pytest.fixture(scope="module")
def cifar_copy(tmp_path_factory):
    """Folders of every command that report reads, on CIFAR-10 from the offline copy (a JPEG
    rendition, whose files are not the official ones), the report of them, and the titles of
    every figure drawn meanwhile."""
    root = real_data_root("cifar10")
    runs = tmp_path_factory.mktemp("cifar")
    small = ["--dataset", "cifar10", "--data-dir", root, "--no-download", "--quiet",
             "--train-subset", "200", "--test-subset", "100", "--epochs", "1"]  # fmt: skip
    made = {
        "train": ["train", *small],
        "sweep": ["sweep", *small, "--lr", "0.001,0.01"],
        "noise": ["noise", *small, "--noise-rate", "0,0.4"],
        "confusion": ["confusion", "--from", runs / "train", "--test-subset", "100"],
        "hardsamples": ["hardsamples", "--from", runs / "train", "--test-subset", "100"],
    }
    drawn = []
    with pytest.MonkeyPatch.context() as patch:
        record_titles(patch, drawn)
        for name, args in made.items():
            extra = [] if name in ("train", "sweep", "noise") else ["--data-dir", root, "--quiet"]
            result = lenet(*args, *extra, "--out", runs / name)
            assert result.exit_code == 0, result.output
        result = lenet("report", *(runs / name for name in made), "--out", runs / "report", "-q")
        assert result.exit_code == 0, result.output
    return runs, drawn


def test_every_figure_lenet_draws_of_the_cifar_copy_says_so_in_its_title(cifar_copy):
    _, drawn = cifar_copy
    cifar = [title for title in drawn if "CIFAR-10" in title]
    assert cifar and all(f"CIFAR-10 {COPY_SUFFIX}" in title for title in cifar), cifar
    for title in (
        f"LeNet-5 on CIFAR-10 {COPY_SUFFIX}",  # train's curves
        f"LeNet-5 on CIFAR-10 {COPY_SUFFIX}, lr0.001",  # a sweep's curves
        f"LeNet-5 on CIFAR-10 {COPY_SUFFIX}: final test accuracy under label noise",
        f"CIFAR-10 {COPY_SUFFIX}",  # a panel of compare.png and accuracy.png
    ):
        assert any(t.startswith(title) for t in cifar), title
    for words in ("confusion matrix", "classified as", "labels, "):
        assert any(words in t for t in cifar), words  # confusion, galleries, noisy labels


def test_the_report_notes_the_cifar_copy_beside_every_table_and_figure(cifar_copy):
    runs, _ = cifar_copy
    markdown = (runs / "report" / "report.md").read_text()
    figures = re.findall(r"!\[([^\]]*)\]", markdown)
    captions = re.findall(r"^\*(.+)\*$", markdown, flags=re.MULTILINE)
    assert len(figures) >= 10 and len(captions) >= 3
    for text in [*figures, *captions]:
        assert text.endswith(copy_note()), text
    # the tables without a caption: the summary's, and each folder's after its data sentence
    paragraphs = markdown.split("\n\n")
    for i, paragraph in enumerate(paragraphs):
        if paragraph.startswith("| ") and not paragraphs[i - 1].startswith("*"):
            near = paragraphs[i - 1] + paragraphs[i + 1]
            assert copy_note() in near, paragraphs[i - 1]


def test_cifar_from_the_official_files_gets_no_note(cifar_copy, monkeypatch):
    runs, _ = cifar_copy
    monkeypatch.setattr(data, "official_cifar_files", lambda folder: True)
    drawn = []
    record_titles(monkeypatch, drawn)
    folders = [runs / name for name in ("train", "sweep", "noise", "confusion", "hardsamples")]
    result = lenet("report", *folders, "--out", runs / "official", "-q")
    assert result.exit_code == 0, result.output
    markdown = (runs / "official" / "report.md").read_text()
    assert "CIFAR-10" in markdown and COPY_NOTE not in markdown
    assert "CIFAR-10" in drawn and not any(COPY_SUFFIX in title for title in drawn)
