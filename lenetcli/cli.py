"""The `lenet` command: parses options and hands them to the modules that do the work."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from lenetcli import __version__
from lenetcli.config import TrainConfig
from lenetcli.errors import Interrupted, LenetError


class FlagHelp:
    """Shows --help as the flag it is: typer would print a value type ("<bool>") beside it."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class Command(FlagHelp, TyperCommand):
    pass


class Group(FlagHelp, TyperGroup):
    pass


app = typer.Typer(
    cls=Group,
    help="Train and study LeNet-5 on MNIST, Fashion-MNIST, CIFAR-10 and scikit-learn digits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"lenet {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            metavar="",
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Train and study LeNet-5 from the shell; every command writes CSV tables and PNG figures."""


def print_error(message: str) -> None:
    # escape: a message may quote text in brackets ([[settings]]) that is not rich markup
    Console(stderr=True).print(
        f"[bold red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True
    )


def fail(message: str) -> None:
    """One line on stderr, exit code 2: how every bad input ends."""
    print_error(message)
    raise typer.Exit(2)


def run() -> None:
    """The `lenet` program. What the option parser refuses (a word where a number belongs, an
    unknown option or command) ends as every bad input does: one `Error:` line, exit code 2,
    rather than click's framed box."""
    command = typer.main.get_command(app)
    try:
        # Returns the exit code; Ctrl-C outside training (e.g. while data loads) returns 130
        code = command.main(prog_name="lenet", standalone_mode=False)
    except Exception as exc:
        # click's exceptions (typer carries its own copy of click in newer versions)
        if not hasattr(exc, "format_message"):
            raise
        message = " ".join(exc.format_message().split()).rstrip(".")
        if message:  # empty for `lenet` alone, which has printed its help
            context = getattr(exc, "ctx", None)
            hint = f"; see '{context.command_path} --help'" if context else ""
            print_error(message + hint)
        code = exc.exit_code
    sys.exit(code or 0)


def run_command(work, *args) -> None:
    """Run a command's work: bad input ends in `fail`, Ctrl-C in one line saying what was
    kept and exit code 130 (a shell's code for Ctrl-C)."""
    try:
        work(*args)
    except LenetError as exc:
        fail(str(exc))
    except Interrupted as exc:
        Console(stderr=True).print(
            f"[bold yellow]{escape(str(exc))}[/]", highlight=False, soft_wrap=True
        )
        raise typer.Exit(130) from None


# Options shared by every command that trains. Defaults come from TrainConfig.
D = TrainConfig()
Dataset_ = Annotated[
    str, typer.Option("--dataset", help="mnist, fashion-mnist, cifar10 or digits.")
]
Epochs = Annotated[int, typer.Option(help="Training epochs.")]
Lr = Annotated[float, typer.Option("--lr", help="Learning rate.")]
BatchSize = Annotated[int, typer.Option(help="Training batch size.")]
Optimizer = Annotated[str, typer.Option(help="adam, or sgd (momentum 0.9).")]
WeightDecay = Annotated[float, typer.Option(help="L2 weight decay.")]
Loss = Annotated[str, typer.Option(help="cross-entropy, mse or l1 (softmax against one-hot).")]
Activation = Annotated[str, typer.Option(help="relu, tanh, sigmoid, leakyrelu or elu.")]
Pool = Annotated[str, typer.Option(help="max or avg pooling.")]
Seed = Annotated[int, typer.Option(help="Random seed; repeats use seed, seed+1, ...")]
Repeats = Annotated[int, typer.Option(help="Models trained with consecutive seeds.")]
TrainSubset = Annotated[
    int | None, typer.Option(help="Train on a class-stratified subset of N images.")
]
TestSubset = Annotated[
    int | None, typer.Option(help="Test on a class-stratified subset of N images.")
]
Device = Annotated[
    str, typer.Option(help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps.")
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Dataset folder (torchvision layout). Default: $LENET_DATA_DIR, else ~/.cache/lenetcli/data."
    ),
]
# metavar="": a flag takes no value, and typer would show one ("<bool>")
NoDownload = Annotated[
    bool, typer.Option("--no-download", help="Never download missing files.", metavar="")
]
Out = Annotated[
    Path | None,
    typer.Option(
        help="Output folder. Default: a new one in runs/, named after the command, dataset and time."
    ),
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Write into a non-empty output folder.", metavar="")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.", metavar="")]
GroupSize = Annotated[
    int | None,
    typer.Option(help="Most models trained at once as one group (default: as memory allows)."),
]
NoGraph = Annotated[
    bool,
    typer.Option(
        "--no-graph",
        help="On CUDA, run steps eagerly instead of replaying a CUDA graph.",
        metavar="",
    ),
]


@app.command("train", cls=Command)
def train_command(
    dataset: Dataset_ = D.dataset,
    epochs: Epochs = D.epochs,
    lr: Lr = D.lr,
    batch_size: BatchSize = D.batch_size,
    optimizer: Optimizer = D.optimizer,
    weight_decay: WeightDecay = D.weight_decay,
    loss: Loss = D.loss,
    activation: Activation = D.activation,
    pool: Pool = D.pool,
    seed: Seed = D.seed,
    repeats: Repeats = D.repeats,
    train_subset: TrainSubset = None,
    test_subset: TestSubset = None,
    device: Device = "auto",
    data_dir: DataDir = None,
    no_download: NoDownload = False,
    out: Out = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    group_size: GroupSize = None,
    no_graph: NoGraph = False,
) -> None:
    """Train LeNet-5 and write config, metrics, predictions, curves and the model to --out."""
    config = TrainConfig(
        dataset, epochs, lr, batch_size, optimizer, weight_decay, loss, activation, pool,
        seed, repeats, train_subset, test_subset,
    )  # fmt: skip
    run_command(
        run_train, config, data_dir, not no_download, device, group_size, not no_graph, out,
        overwrite, quiet,
    )  # fmt: skip


def run_train(config, data_dir, download, device, group_size, graph, out, overwrite, quiet):
    # Imported here so that `lenet --help` answers without loading torch.
    from lenetcli import runs
    from lenetcli.outputs import (
        check_output_dir,
        create_output_dir,
        default_folder,
        remove_previous_output,
    )
    from lenetcli.progress import make_reporter, results_table, stdout_console

    options = runs.RunOptions(data_dir, download, device, group_size, graph, quiet)
    config.validate()
    fresh_name = out is None
    out = check_output_dir(out or default_folder(f"train-{config.dataset}"), overwrite, "train")
    torch_device, data = runs.prepare(config, options)
    if overwrite:
        remove_previous_output(out, "train")
    out = create_output_dir(out, fresh_name, exclusive=not out.exists())
    console = stdout_console()
    if not quiet:
        console.print(
            f"LeNet-5 on {data.spec.title}: {len(data.train)} train / {len(data.test)} test images, "
            f"{runs.parameter_count(config, data)} parameters, device {torch_device}",
            highlight=False,
        )
    with make_reporter(console, quiet) as reporter:
        results = runs.run_training(config, data, options, torch_device, out, reporter)
    if diverged := runs.diverged_seeds(results):
        runs.warn_diverged(f"the model of seed {', '.join(map(str, diverged))}")
    if not quiet:
        rows = [
            [r.seed, r.metrics[-1]["train_acc"], r.metrics[-1]["test_acc"],
             max(m["test_acc"] for m in r.metrics), sum(m["seconds"] for m in r.metrics)]
            for r in results
        ]  # fmt: skip
        columns = ["seed", "train acc (%)", "test acc (%)", "best test acc (%)", "total seconds"]
        console.print(results_table(f"Final epoch ({config.epochs})", columns, rows))
        console.print(f"Wrote {out}/", highlight=False)


# --------------------------------------------------------------------------- lenet sweep


def list_option(example: str, default, what: str):
    """A training option of `lenet sweep`: text, since it may hold a comma list."""
    return typer.Option(help=f"{what} Comma list, e.g. {example}. Default: {default}.")


@app.command("sweep", cls=Command)
def sweep_command(
    dataset: Annotated[
        str | None,
        list_option("mnist,fashion-mnist", D.dataset, "mnist, fashion-mnist, cifar10, digits."),
    ] = None,
    epochs: Annotated[str | None, list_option("10,15", D.epochs, "Training epochs.")] = None,
    lr: Annotated[str | None, list_option("0.001,0.005", D.lr, "Learning rates.")] = None,
    batch_size: Annotated[str | None, list_option("32,8", D.batch_size, "Batch sizes.")] = None,
    optimizer: Annotated[str | None, list_option("adam,sgd", D.optimizer, "adam, sgd.")] = None,
    weight_decay: Annotated[
        str | None, list_option("0,0.0005", D.weight_decay, "L2 weight decay.")
    ] = None,
    loss: Annotated[
        str | None, list_option("cross-entropy,mse", D.loss, "cross-entropy, mse, l1.")
    ] = None,
    activation: Annotated[
        str | None, list_option("relu,tanh", D.activation, "relu, tanh, sigmoid, leakyrelu, elu.")
    ] = None,
    pool: Annotated[str | None, list_option("max,avg", D.pool, "max, avg.")] = None,
    seed: Annotated[
        str | None, list_option("42,1000", D.seed, "First seed; repeats use seed, seed+1, ...")
    ] = None,
    repeats: Annotated[
        str | None, list_option("3,5", D.repeats, "Runs per setting, with consecutive seeds.")
    ] = None,
    train_subset: Annotated[
        str | None, list_option("1000,5000", "all", "Class-stratified training subset sizes.")
    ] = None,
    test_subset: Annotated[
        str | None, list_option("1000", "all", "Class-stratified test subset sizes.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML study file with a list of settings (see docs/sweep.md). Options given beside it override it, one value each.",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the sweep in --out: runs already finished there are kept, not trained again.",
            metavar="",
        ),
    ] = False,
    device: Device = "auto",
    data_dir: DataDir = None,
    no_download: NoDownload = False,
    out: Annotated[
        Path | None, typer.Option(help="Output folder. Default: runs/sweep-<time>.")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    group_size: GroupSize = None,
    no_graph: NoGraph = False,
) -> None:
    """Train every setting of a grid or study file over repeated seeds; write tables and curves."""
    texts = {
        "dataset": dataset, "epochs": epochs, "lr": lr, "batch_size": batch_size,
        "optimizer": optimizer, "weight_decay": weight_decay, "loss": loss,
        "activation": activation, "pool": pool, "seed": seed, "repeats": repeats,
        "train_subset": train_subset, "test_subset": test_subset,
    }  # fmt: skip
    # Imported here, as in train: the modules that do the work load when a command runs.
    from lenetcli.runs import RunOptions
    from lenetcli.sweep import run_sweep

    options = RunOptions(data_dir, not no_download, device, group_size, not no_graph, quiet)
    run_command(run_sweep, texts, config, options, out, overwrite, resume, quiet)


# --------------------------------------------------------------------------- lenet noise

NoiseType = Annotated[
    str | None,
    typer.Option(help="symmetric, pair, or both as a comma list. Default: symmetric."),
]
NoiseRate = Annotated[
    str | None,
    typer.Option(help="Noise rates: fractions in [0, 1), comma list. Default: 0,0.2,0.4,0.6,0.8."),
]
Pairs = Annotated[
    str | None,
    typer.Option(
        help="Pair noise mapping TRUE:NOISY,..., e.g. 0:1,1:2. Default: i -> (i+1) mod K."
    ),
]
Transition = Annotated[
    Path | None,
    typer.Option(
        help="CSV of a K x K row-stochastic matrix (row i: P(noisy label | true label i)); replaces --noise-type and --noise-rate."
    ),
]
NoiseSeed = Annotated[
    int, typer.Option(help="Seed of the noise draws; repeat r uses noise-seed + r.")
]


@app.command("noise", cls=Command)
def noise_command(
    dataset: Dataset_ = D.dataset,
    noise_type: NoiseType = None,
    noise_rate: NoiseRate = None,
    pairs: Pairs = None,
    transition: Transition = None,
    noise_seed: NoiseSeed = 0,
    epochs: Epochs = D.epochs,
    lr: Lr = D.lr,
    batch_size: BatchSize = D.batch_size,
    optimizer: Optimizer = D.optimizer,
    weight_decay: WeightDecay = D.weight_decay,
    loss: Loss = D.loss,
    activation: Activation = D.activation,
    pool: Pool = D.pool,
    seed: Seed = D.seed,
    repeats: Repeats = D.repeats,
    train_subset: TrainSubset = None,
    test_subset: TestSubset = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the noise study in --out: runs already finished there are kept, not trained again.",
            metavar="",
        ),
    ] = False,
    device: Device = "auto",
    data_dir: DataDir = None,
    no_download: NoDownload = False,
    out: Annotated[
        Path | None, typer.Option(help="Output folder. Default: runs/noise-<dataset>-<time>.")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    group_size: GroupSize = None,
    no_graph: NoGraph = False,
) -> None:
    """Train under label noise, over noise types and rates and repeated seeds; write the study."""
    config = TrainConfig(
        dataset, epochs, lr, batch_size, optimizer, weight_decay, loss, activation, pool,
        seed, repeats, train_subset, test_subset,
    )  # fmt: skip
    # Imported here so that `lenet --help` answers without loading torch.
    from lenetcli.runs import RunOptions

    options = RunOptions(data_dir, not no_download, device, group_size, not no_graph, quiet)
    run_command(
        run_noise, config, noise_type, noise_rate, pairs, transition, noise_seed,
        options, out, overwrite, resume, quiet,
    )  # fmt: skip


def run_noise(
    config, noise_type, noise_rate, pairs, transition, noise_seed,
    options, out, overwrite, resume, quiet,
):  # fmt: skip
    from lenetcli import noise
    from lenetcli.config import check_seed_range
    from lenetcli.data import get_spec
    from lenetcli.noise_study import run_noise_study

    # Every check of the noise options runs here, before the study checks the rest and
    # before anything is written.
    if transition is not None and (noise_type is not None or noise_rate is not None):
        raise LenetError(
            "--transition replaces --noise-type and --noise-rate; give the matrix or the types and rates, not both"
        )
    check_seed_range("--noise-seed", noise_seed, config.repeats)
    k = len(get_spec(config.dataset).classes)
    if transition is None:
        types = noise.parse_noise_types(noise.NOISE_TYPES[0] if noise_type is None else noise_type)
        default_rates = ",".join(f"{r:g}" for r in noise.DEFAULT_RATES)
        rates = noise.parse_rates(default_rates if noise_rate is None else noise_rate)
        pair_map = None if pairs is None else noise.parse_pairs(pairs)
        settings = noise.noise_settings(k, types, rates, pair_map)
    else:
        if pairs is not None:
            raise LenetError(
                "--pairs sets pair noise, which --transition replaces; give one of the two"
            )
        settings = [noise.custom_setting(noise.read_transition_csv(transition, k))]
    record = {
        "noise_type": noise_type,
        "noise_rate": noise_rate,
        "pairs": pairs,
        "transition_file": None if transition is None else str(Path(transition).resolve()),
        "noise_seed": noise_seed,
        "noise_seeds": "repeat r (model seed seed + r) draws with noise seed noise_seed + r",
        "noise_settings": [
            {"setting": s.label, "noise_type": s.noise_type, "noise_rate": s.rate,
             "transition": s.transition.tolist()}
            for s in settings
        ],
    }  # fmt: skip
    run_noise_study(config, settings, noise_seed, options, out, record, overwrite, resume, quiet)


# --------------------------------------------------------------------------- lenet confusion, hardsamples

# Options of the commands that study a model: it comes from a checkpoint, or is trained first.
Datasets_ = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="mnist, fashion-mnist, cifar10 or digits; several separated by commas are handled in turn. Default: the checkpoint's dataset, else mnist.",
    ),
]
Checkpoint = Annotated[
    str | None,
    typer.Option(
        help="A model.pt written by `lenet train`; with several datasets, one per dataset, comma-separated, in the same order. Without it (or --from) a model is trained first."
    ),
]
FromDir = Annotated[
    Path | None,
    typer.Option(
        "--from",
        help="A run folder of `lenet train`: uses its model.pt (or <folder>/<dataset>/model.pt).",
    ),
]
Top = Annotated[int, typer.Option(help="How many of the most confused pairs to show.")]


@app.command("confusion", cls=Command)
def confusion_command(
    ctx: typer.Context,
    dataset: Datasets_ = None,
    checkpoint: Checkpoint = None,
    from_dir: FromDir = None,
    normalize: Annotated[
        str,
        typer.Option(
            help="true (each row sums to 1), pred (each column), all (the whole matrix) or none (counts)."
        ),
    ] = "true",
    top: Top = 3,
    unordered: Annotated[
        bool,
        typer.Option(
            "--unordered",
            metavar="",
            help="Rank pairs of classes {i, j} with both directions added.",
        ),  # fmt: skip
    ] = False,
    epochs: Epochs = D.epochs,
    lr: Lr = D.lr,
    batch_size: BatchSize = D.batch_size,
    optimizer: Optimizer = D.optimizer,
    weight_decay: WeightDecay = D.weight_decay,
    loss: Loss = D.loss,
    activation: Activation = D.activation,
    pool: Pool = D.pool,
    seed: Seed = D.seed,
    train_subset: TrainSubset = None,
    test_subset: TestSubset = None,
    device: Device = "auto",
    data_dir: DataDir = None,
    no_download: NoDownload = False,
    out: Out = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    no_graph: NoGraph = False,
) -> None:
    """Confusion matrix, most confused pairs and per-class precision, recall and F1 of a model."""
    from lenetcli.diagnostics import ConfusionSettings  # late: keeps `lenet --help` free of torch

    config = TrainConfig(
        dataset or D.dataset, epochs, lr, batch_size, optimizer, weight_decay, loss, activation,
        pool, seed, 1, train_subset, test_subset,
    )  # fmt: skip
    settings = ConfusionSettings(normalize, top, unordered)
    run_command(
        run_analysis, "confusion", settings, config, dataset, checkpoint, from_dir, data_dir,
        not no_download, device, not no_graph, out, overwrite, quiet, training_options_given(ctx),
    )  # fmt: skip


@app.command("hardsamples", cls=Command)
def hardsamples_command(
    ctx: typer.Context,
    dataset: Datasets_ = None,
    checkpoint: Checkpoint = None,
    from_dir: FromDir = None,
    top: Top = 3,
    per_pair: Annotated[
        int, typer.Option(help="Most images shown for each confused pair (or class).")
    ] = 16,
    per_class: Annotated[
        bool,
        typer.Option(
            "--per-class",
            help="Also show each class's least confident correct and most confident wrong images.",
            metavar="",
        ),
    ] = False,
    epochs: Epochs = D.epochs,
    lr: Lr = D.lr,
    batch_size: BatchSize = D.batch_size,
    optimizer: Optimizer = D.optimizer,
    weight_decay: WeightDecay = D.weight_decay,
    loss: Loss = D.loss,
    activation: Activation = D.activation,
    pool: Pool = D.pool,
    seed: Seed = D.seed,
    train_subset: TrainSubset = None,
    test_subset: TestSubset = None,
    device: Device = "auto",
    data_dir: DataDir = None,
    no_download: NoDownload = False,
    out: Out = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
    no_graph: NoGraph = False,
) -> None:
    """Galleries of the test images behind the most confused pairs, hardest first."""
    from lenetcli.diagnostics import HardSettings

    config = TrainConfig(
        dataset or D.dataset, epochs, lr, batch_size, optimizer, weight_decay, loss, activation,
        pool, seed, 1, train_subset, test_subset,
    )  # fmt: skip
    settings = HardSettings(top, per_pair, per_class)
    run_command(
        run_analysis, "hardsamples", settings, config, dataset, checkpoint, from_dir, data_dir,
        not no_download, device, not no_graph, out, overwrite, quiet, training_options_given(ctx),
    )  # fmt: skip


TRAINING_OPTIONS = [
    "epochs", "lr", "batch_size", "optimizer", "weight_decay", "loss", "activation", "pool",
    "seed", "train_subset",
]  # fmt: skip


def training_options_given(ctx: typer.Context) -> list[str]:
    """The training options typed on the command line (not left at their defaults)."""
    return [
        "--" + name.replace("_", "-")
        for name in TRAINING_OPTIONS
        if ctx.get_parameter_source(name).name == "COMMANDLINE"
    ]


def run_analysis(
    command, settings, config, dataset, checkpoint, from_dir, data_dir, download, device, graph,
    out, overwrite, quiet, training_options,
):  # fmt: skip
    """Check every input, then per dataset: train if asked, predict, write the files, report."""
    from lenetcli import diagnostics, runs
    from lenetcli.outputs import create_output_dir, remove_previous_output
    from lenetcli.progress import make_reporter, stdout_console

    if training_options and (checkpoint or from_dir):
        source = "--from" if from_dir else "--checkpoint"
        raise LenetError(
            f"{', '.join(training_options)} would train a model, but {source} gives one; "
            f"leave out {source} to train first, or the training options"
        )
    options = runs.RunOptions(data_dir, download, device, None, graph, quiet)
    settings.validate()
    datasets = diagnostics.parse_datasets(dataset)
    paths = diagnostics.checkpoint_paths(datasets, checkpoint, from_dir)
    torch_device, top, jobs = diagnostics.prepare_jobs(
        command, datasets, paths, config, options, out, overwrite
    )
    if overwrite:
        remove_previous_output(top, command)
    claimed = create_output_dir(top, fresh_name=out is None, exclusive=not top.exists())
    for job in jobs:  # a default name taken meanwhile became <name>-2
        job.out = claimed / job.out.relative_to(top)
    console = stdout_console(quiet)
    for job in jobs:
        job.out.mkdir(exist_ok=True)
        label = job.data.spec.name if len(jobs) > 1 else ""
        if job.model is None:
            console.print(
                f"Training LeNet-5 on {job.data.spec.title}: {len(job.data.train)} train / "
                f"{len(job.data.test)} test images, device {torch_device}",
                highlight=False,
            )
        with make_reporter(console, quiet, label) as reporter:
            diagnostics.train_if_needed(job, options, torch_device, reporter, command)
        evaluation = diagnostics.evaluate(job, torch_device)
        diagnostics.write_record(command, job, options, settings, torch_device)
        console.print(
            f"{diagnostics.figure_title(evaluation)} ({model_text(job)})",
            highlight=False,
            soft_wrap=True,
        )
        if command == "confusion":
            pairs = diagnostics.write_confusion(evaluation, settings)
            console.print(confused_pairs_table(pairs, settings.unordered) if len(pairs) else NONE)
        else:
            groups = diagnostics.write_hardsamples(evaluation, settings)
            shown = any(len(g.positions) for g in groups)
            console.print(hard_samples_table(groups) if shown else NONE)
        console.print(f"Wrote {job.out}/", highlight=False)


NONE = "No confused pairs: every test image is classified correctly."


def model_text(job) -> str:
    """Which model: a run of several seeds keeps the first in model.pt, the rest in models/."""
    text = f"model {job.checkpoint_path}, seed {job.checkpoint.get('seed')}"
    repeats = (job.checkpoint.get("config") or {}).get("repeats", 1)
    if repeats > 1 and job.checkpoint_path.name == "model.pt":
        others = job.checkpoint_path.parent / "models"
        text += f", the first of {repeats} seeds; for another, give --checkpoint {others}/seed-S.pt"
    return text


def confused_pairs_table(pairs, unordered: bool):
    from lenetcli.progress import results_table

    if unordered:
        columns = ["rank", "classes", "images", "a as b", "b as a", "share of both (%)"]
        rows = [
            [p.rank, f"{p.class_a_name} ↔ {p.class_b_name}", p.count, p.a_as_b, p.b_as_a,
             100.0 * p.rate]
            for p in pairs.itertuples()
        ]  # fmt: skip
    else:
        columns = ["rank", "true class", "predicted as", "images", "share of true class (%)"]
        rows = [
            [p.rank, p.true_class, p.predicted_class, p.count, 100.0 * p.rate]
            for p in pairs.itertuples()
        ]
    return results_table("Most confused pairs", columns, rows)


def hard_samples_table(groups):
    from lenetcli.progress import results_table

    columns = ["gallery", "images of", "images", "shown"]
    rows = [
        [f"hard/{g.name}.png" if len(g.positions) else "(none)", g.title, g.total, len(g.positions)]
        for g in groups
    ]
    return results_table("Hard samples", columns, rows)


# --------------------------------------------------------------------------- lenet report


@app.command("report", cls=Command)
def report_command(
    folders: Annotated[
        list[Path],
        typer.Argument(
            metavar="FOLDER",
            help="Output folders of lenet train, sweep, noise, confusion or hardsamples, or a folder holding them (such as runs/).",
            show_default=False,
        ),
    ],
    title: Annotated[str, typer.Option(help="The report's title.")] = "LeNet-5 report",
    out: Annotated[
        Path | None, typer.Option(help="Output folder. Default: runs/report-<time>.")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Gather output folders into one report: results.csv, compare.png, report.md and .html."""
    run_command(run_report, folders, title, out, overwrite, quiet)


def run_report(folders, title, out, overwrite, quiet):
    from lenetcli import report
    from lenetcli.outputs import (
        check_output_dir,
        create_output_dir,
        default_folder,
        remove_previous_output,
    )
    from lenetcli.progress import results_table, stdout_console

    fresh_name = out is None
    out = check_output_dir(out or default_folder("report"), overwrite, "report")
    gathered = report.gather(folders, title, out)
    if overwrite:
        remove_previous_output(out, "report")
    if (created := create_output_dir(out, fresh_name, exclusive=not out.exists())) != out:
        out, gathered = created, report.gather(folders, title, created)  # links point into out
    report.write_report(gathered, out, report.run_config(gathered, folders, out))
    if quiet:
        return
    console = stdout_console()
    for warning in gathered.warnings():
        console.print(f"[yellow]{escape(warning)}[/]", highlight=False, soft_wrap=True)
    if len(gathered.results):
        rows = [
            [r.source, r.dataset, r.setting or "–", r.n,
             report.mean_std(r.final_test_acc_mean, r.final_test_acc_std)]
            for r in gathered.results.itertuples()
        ]  # fmt: skip
        columns = ["source", "dataset", "setting", "n", "test acc (%)"]
        title = "Final test accuracy: mean ± std over seeds"
        console.print(results_table(title, columns, rows, left=3))
    console.print(
        f"Reported on {len(gathered.sources)} folder(s). Wrote {out}/ (open report.html)",
        highlight=False,
    )
