"""The `lenet` command: parses options and hands them to the modules that do the work."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from lenetcli import __version__
from lenetcli.config import RunOptions, TrainConfig, option_name
from lenetcli.errors import Interrupted, LenetError, os_failure, stop_signals


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


def print_stop(message: str) -> None:
    Console(stderr=True).print(
        f"[bold yellow]{escape(message)}[/]", highlight=False, soft_wrap=True
    )


BAD_INPUT = 2
INTERRUPTED = 130  # a shell's code for Ctrl-C: 128 + SIGINT; StopSignals gives SIGTERM's 143


def fail(message: str) -> None:
    """One line on stderr, exit code 2: how every bad input ends."""
    print_error(message)
    raise typer.Exit(BAD_INPUT)


def run() -> None:
    """The `lenet` program, and its one boundary: Ctrl-C, SIGTERM and SIGHUP stop a command
    alike (StopSignals), a reader that goes away (`| head -1`) silences the output rather than
    the run (SilencedWhenClosed), and what the option parser refuses (a word where a number
    belongs, an unknown option or command) ends as every bad input does: one `Error:` line,
    exit code 2, rather than click's framed box."""
    with StopSignals() as stops, silenced_when_closed() as streams:
        code = parse_and_run()
        if message := lost_output(streams):
            print_error(message)
            code = code or BAD_INPUT
    sys.exit(stops.exit_code(code or 0))


def parse_and_run() -> int:
    command = typer.main.get_command(app)
    try:
        # Returns the exit code; Ctrl-C before a command's work begins (while lenet loads)
        # returns 130 without a word: nothing was written
        return command.main(prog_name="lenet", standalone_mode=False)
    except OSError as exc:  # outside a command's work (run_command has its own)
        print_error(str(os_failure(exc)))
        return BAD_INPUT
    except Exception as exc:
        # click's exceptions (typer carries its own copy of click in newer versions)
        if not hasattr(exc, "format_message"):
            raise
        message = " ".join(exc.format_message().split()).rstrip(".")
        if message:  # empty for `lenet` alone, which has printed its help
            print_error(f"{message}; see '{help_command(exc, command)} --help'")
        return exc.exit_code


class StopSignals:
    """Ctrl-C, SIGTERM (kill, systemd, Slurm, Docker) and SIGHUP (a closed terminal) stop a
    command alike: each raises KeyboardInterrupt wherever the program is, so the same code
    keeps what had finished and says how to go on (the engine's TrainingInterrupted, the
    commands' Interrupted). The signal is kept for the exit code."""

    def __init__(self):
        self.received: int | None = None
        self.previous: dict = {}

    def __enter__(self):
        self.previous = {
            number: signal.signal(number, self.stop)
            for number in stop_signals()
            # nohup's SIGHUP, or SIGINT of a script's background job: the caller asked that
            # they be ignored, and so they stay
            if signal.getsignal(number) is not signal.SIG_IGN
        }
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)

    def stop(self, number: int, frame) -> None:
        self.received = number
        raise KeyboardInterrupt

    def exit_code(self, code: int) -> int:
        """An interrupted command's code as a shell gives it: 128 + the signal's number (130
        for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
        if code == INTERRUPTED and self.received is not None:
            return 128 + self.received
        return code


class SilencedWhenClosed:
    """stdout or stderr, silent once it cannot be written: `lenet train ... | head -1` trains on
    and writes its outputs, rather than dying of BrokenPipeError with a folder holding only
    config.json. When a write fails, the stream's file descriptor is pointed at os.devnull,
    so that what Python still holds in its buffer (and flushes at exit) goes nowhere too.

    A reader that went away (EPIPE: the pipe's; EIO: the terminal's) wanted no more. Any
    other failure (ENOSPC: a log file's disk is full) lost output someone wanted: it is
    kept as `lost`, which run() reports at the end.
    """

    GONE = (errno.EPIPE, errno.EIO)

    def __init__(self, stream, name: str):
        self.stream, self.name = stream, name
        self.lost: OSError | None = None

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            self.silence(exc)
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            self.silence(exc)

    def silence(self, exc: OSError) -> None:
        if exc.errno not in self.GONE and self.lost is None:
            self.lost = exc
        nowhere = os.open(os.devnull, os.O_WRONLY)
        os.dup2(nowhere, self.stream.fileno())
        os.close(nowhere)

    def __getattr__(self, name):  # isatty, fileno, encoding, ...: the stream's own
        return getattr(self.stream, name)


@contextlib.contextmanager
def silenced_when_closed():
    """sys.stdout and sys.stderr as SilencedWhenClosed while the program runs (yielded);
    streams without a file descriptor (pytest's captures) stay as they are."""
    streams = {"stdout": sys.stdout, "stderr": sys.stderr}
    guards = []
    for name, stream in streams.items():
        with contextlib.suppress(AttributeError, OSError, ValueError):  # no fileno: not a file
            stream.fileno()
            guards.append(SilencedWhenClosed(stream, name))
            setattr(sys, name, guards[-1])
    try:
        yield guards
    finally:
        for guard in guards:
            with contextlib.suppress(ValueError):  # a stream closed by hand
                guard.flush()  # through the guard, while it is still there
        for name, stream in streams.items():
            setattr(sys, name, stream)


def lost_output(guards: list[SilencedWhenClosed]) -> str | None:
    """The message for stdout that could not be written (a full disk under `> log`), or None.
    Said on stderr where it still can be: stdout may have held what a script reads (--json)."""
    lost = next((g for g in guards if g.lost is not None and g.name == "stdout"), None)
    if lost is None:
        return None
    reason = (lost.lost.strerror or str(lost.lost)).lower()
    return f"{reason} writing to stdout: what lenet printed there is lost; free space, or send it elsewhere"


def help_command(exc, group) -> str:
    """The command whose --help answers a parser error: click names it, except for an
    option that lacks its value, which it reports before the command's context exists."""
    context = getattr(exc, "ctx", None)
    if context is not None:
        return context.command_path
    named = next((arg for arg in sys.argv[1:] if arg in group.commands), None)
    return f"lenet {named}" if named else "lenet"


def run_command(work, **arguments) -> None:
    """Run a command's work: bad input ends in `fail`, and so does any OSError no check caught
    (a disk that fills up meanwhile, a name too long for the file system: one line with the
    path and the system's reason); Ctrl-C (or SIGTERM, SIGHUP) in one line saying what was
    kept, and exit code 130 (run() makes it 128 + the signal's number)."""
    try:
        work(**arguments)
    except LenetError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(str(os_failure(exc)))
    except Interrupted as exc:
        print_stop(str(exc))
        raise typer.Exit(INTERRUPTED) from None
    except KeyboardInterrupt:  # where the command did not say what it kept
        print_stop(
            "interrupted before the command finished; run it again, with --overwrite if it "
            "had begun its output folder"
        )
        raise typer.Exit(INTERRUPTED) from None


def training_config(options: dict, **fixed) -> TrainConfig:
    """A command's training options as a TrainConfig. The command's parameters are named as
    its fields; a field the command has no option for keeps its default."""
    given = {name: options[name] for name in TrainConfig.field_names() if name in options}
    return TrainConfig(**{**given, **fixed})


def run_options(options: dict):
    """How a command runs (RunOptions), from its parameters."""
    return RunOptions(
        data_dir=options["data_dir"],
        download=not options["no_download"],
        device=options["device"],
        group_size=options.get("group_size"),
        graph=not options["no_graph"],
        quiet=options["quiet"],
    )


# Options shared by every command that trains. Defaults come from TrainConfig.
DEFAULTS = TrainConfig()
DatasetOption = Annotated[
    str, typer.Option("--dataset", help="mnist, fashion-mnist, cifar10 or digits.")
]
Epochs = Annotated[int, typer.Option(help="Training epochs.")]
Lr = Annotated[float, typer.Option("--lr", help="Learning rate.")]
LrSchedule = Annotated[
    str,
    typer.Option(
        help="constant; cosine (down to lr/100 in the last epoch); or step (lr/10 from the middle epoch, lr/100 from three quarters, as MultiStepLR)."
    ),
]
BatchSize = Annotated[int, typer.Option(help="Training batch size.")]
Optimizer = Annotated[str, typer.Option(help="adam, or sgd (momentum 0.9).")]
WeightDecay = Annotated[float, typer.Option(help="L2 weight decay.")]
Loss = Annotated[str, typer.Option(help="cross-entropy, mse or l1 (softmax against one-hot).")]
Activation = Annotated[str, typer.Option(help="relu, tanh, sigmoid, leakyrelu or elu.")]
Pool = Annotated[str, typer.Option(help="max or avg pooling.")]
Seed = Annotated[int, typer.Option(help="Random seed; repeats use seed, seed+1, ...")]
Repeats = Annotated[int, typer.Option(help="Models trained with consecutive seeds.")]


def subset_size(text: str) -> int | None:
    """--train-subset/--test-subset: a number of images, or all (None: the whole split)."""
    if text.strip().lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a whole number or all") from None


TrainSubset = Annotated[
    int | None,
    typer.Option(
        parser=subset_size,
        metavar="N",
        help="Train on a class-balanced subset of N images (as many of each class); all: the whole split.",
    ),
]
TestSubset = Annotated[
    int | None,
    typer.Option(
        parser=subset_size,
        metavar="N",
        help="Test on a class-balanced subset of N images (as many of each class); all: the whole split.",
    ),
]
ValSplit = Annotated[
    float,
    typer.Option(
        help="Hold out this share of the training images (stratified by class, the same for every seed) to validate on each epoch, e.g. 0.1; 0 holds none out."
    ),
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
    bool,
    typer.Option(
        "--overwrite", help="Replace an earlier output of the same command in --out.", metavar=""
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.", metavar="")]
GroupSize = Annotated[
    int | None,
    typer.Option(
        help="Most models trained at once as one group. Default: 10 on the CPU, 64 on a GPU (fewer if memory is small)."
    ),
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
    dataset: DatasetOption = DEFAULTS.dataset,
    epochs: Epochs = DEFAULTS.epochs,
    lr: Lr = DEFAULTS.lr,
    lr_schedule: LrSchedule = DEFAULTS.lr_schedule,
    batch_size: BatchSize = DEFAULTS.batch_size,
    optimizer: Optimizer = DEFAULTS.optimizer,
    weight_decay: WeightDecay = DEFAULTS.weight_decay,
    loss: Loss = DEFAULTS.loss,
    activation: Activation = DEFAULTS.activation,
    pool: Pool = DEFAULTS.pool,
    seed: Seed = DEFAULTS.seed,
    repeats: Repeats = DEFAULTS.repeats,
    train_subset: TrainSubset = None,
    test_subset: TestSubset = None,
    val_split: ValSplit = DEFAULTS.val_split,
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
    config, options = training_config(locals()), run_options(locals())
    from lenetcli.commands.train import run_train  # late: `lenet --help` need not load torch

    run_command(run_train, config=config, options=options, out=out, overwrite=overwrite)


# --------------------------------------------------------------------------- lenet sweep


def list_option(example: str, default, what: str):
    """A training option of `lenet sweep`: text, since it may hold a comma list."""
    return typer.Option(help=f"{what} Comma list, e.g. {example}. Default: {default}.")


@app.command("sweep", cls=Command)
def sweep_command(
    dataset: Annotated[
        str | None,
        list_option(
            "mnist,fashion-mnist", DEFAULTS.dataset, "mnist, fashion-mnist, cifar10, digits."
        ),
    ] = None,
    epochs: Annotated[str | None, list_option("10,15", DEFAULTS.epochs, "Training epochs.")] = None,
    lr: Annotated[str | None, list_option("0.001,0.005", DEFAULTS.lr, "Learning rates.")] = None,
    lr_schedule: Annotated[
        str | None,
        list_option(
            "constant,cosine",
            DEFAULTS.lr_schedule,
            "Learning-rate schedules: constant, cosine, step.",
        ),
    ] = None,
    batch_size: Annotated[
        str | None, list_option("32,8", DEFAULTS.batch_size, "Batch sizes.")
    ] = None,
    optimizer: Annotated[
        str | None, list_option("adam,sgd", DEFAULTS.optimizer, "adam, sgd.")
    ] = None,
    weight_decay: Annotated[
        str | None, list_option("0,0.0005", DEFAULTS.weight_decay, "L2 weight decay.")
    ] = None,
    loss: Annotated[
        str | None, list_option("cross-entropy,mse", DEFAULTS.loss, "cross-entropy, mse, l1.")
    ] = None,
    activation: Annotated[
        str | None,
        list_option("relu,tanh", DEFAULTS.activation, "relu, tanh, sigmoid, leakyrelu, elu."),
    ] = None,
    pool: Annotated[str | None, list_option("max,avg", DEFAULTS.pool, "max, avg.")] = None,
    seed: Annotated[
        str | None,
        list_option("42,1000", DEFAULTS.seed, "First seed; repeats use seed, seed+1, ..."),
    ] = None,
    repeats: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help=f"Runs per setting, with consecutive seeds; one value. Default: {DEFAULTS.repeats}.",
        ),
    ] = None,
    train_subset: Annotated[
        str | None,
        list_option(
            "1000,5000,all", "all", "Class-balanced training subset sizes; all: the whole split."
        ),
    ] = None,
    test_subset: Annotated[
        str | None,
        list_option("1000", "all", "Class-balanced test subset sizes; all: the whole split."),
    ] = None,
    val_split: Annotated[
        str | None,
        list_option(
            "0.1",
            "0 (none)",
            "Shares of the training images held out for validation; where every setting of a dataset holds some out, summary.csv picks the best setting by validation accuracy.",
        ),
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
    # The training options as typed (comma lists), by TrainConfig's field names
    texts = {name: value for name, value in locals().items() if name in TrainConfig.field_names()}
    options = run_options(locals())
    from lenetcli.commands.sweep import run_sweep

    run_command(
        run_sweep, texts=texts, config_path=config, options=options, out=out,
        overwrite=overwrite, resume=resume,
    )  # fmt: skip


# --------------------------------------------------------------------------- lenet noise

NoiseType = Annotated[
    str | None,
    typer.Option(help="symmetric, pair, or both: symmetric,pair. Default: symmetric."),
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
    dataset: DatasetOption = DEFAULTS.dataset,
    noise_type: NoiseType = None,
    noise_rate: NoiseRate = None,
    pairs: Pairs = None,
    transition: Transition = None,
    noise_seed: NoiseSeed = 0,
    epochs: Epochs = DEFAULTS.epochs,
    lr: Lr = DEFAULTS.lr,
    lr_schedule: LrSchedule = DEFAULTS.lr_schedule,
    batch_size: BatchSize = DEFAULTS.batch_size,
    optimizer: Optimizer = DEFAULTS.optimizer,
    weight_decay: WeightDecay = DEFAULTS.weight_decay,
    loss: Loss = DEFAULTS.loss,
    activation: Activation = DEFAULTS.activation,
    pool: Pool = DEFAULTS.pool,
    seed: Seed = DEFAULTS.seed,
    repeats: Repeats = DEFAULTS.repeats,
    train_subset: TrainSubset = None,
    test_subset: TestSubset = None,
    val_split: ValSplit = DEFAULTS.val_split,
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
    config, options = training_config(locals()), run_options(locals())
    from lenetcli.commands.noise import run_noise

    run_command(
        run_noise, config=config, noise_type=noise_type, noise_rate=noise_rate, pairs=pairs,
        transition=transition, noise_seed=noise_seed, options=options, out=out,
        overwrite=overwrite, resume=resume,
    )  # fmt: skip


# --------------------------------------------------------------------------- lenet confusion, hardsamples

# Options of the commands that study a model: it comes from a checkpoint, or is trained first.
DatasetListOption = Annotated[
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
    dataset: DatasetListOption = None,
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
    epochs: Epochs = DEFAULTS.epochs,
    lr: Lr = DEFAULTS.lr,
    batch_size: BatchSize = DEFAULTS.batch_size,
    optimizer: Optimizer = DEFAULTS.optimizer,
    weight_decay: WeightDecay = DEFAULTS.weight_decay,
    loss: Loss = DEFAULTS.loss,
    activation: Activation = DEFAULTS.activation,
    pool: Pool = DEFAULTS.pool,
    seed: Seed = DEFAULTS.seed,
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
    from lenetcli.commands.diagnostics import ConfusionSettings

    analyse("confusion", ConfusionSettings(normalize, top, unordered), ctx, locals())


@app.command("hardsamples", cls=Command)
def hardsamples_command(
    ctx: typer.Context,
    dataset: DatasetListOption = None,
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
    epochs: Epochs = DEFAULTS.epochs,
    lr: Lr = DEFAULTS.lr,
    batch_size: BatchSize = DEFAULTS.batch_size,
    optimizer: Optimizer = DEFAULTS.optimizer,
    weight_decay: WeightDecay = DEFAULTS.weight_decay,
    loss: Loss = DEFAULTS.loss,
    activation: Activation = DEFAULTS.activation,
    pool: Pool = DEFAULTS.pool,
    seed: Seed = DEFAULTS.seed,
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
    from lenetcli.commands.diagnostics import HardSettings

    analyse("hardsamples", HardSettings(top, per_pair, per_class), ctx, locals())


TRAINING_OPTIONS = [
    "epochs", "lr", "batch_size", "optimizer", "weight_decay", "loss", "activation", "pool",
    "seed", "train_subset",
]  # fmt: skip


def analyse(command: str, settings, ctx: typer.Context, options: dict) -> None:
    """confusion and hardsamples: a model from --checkpoint or --from, or trained first."""
    from lenetcli.commands.diagnostics import run_analysis

    run_command(
        run_analysis, command=command, settings=settings,
        config=training_config(options, dataset=options["dataset"] or DEFAULTS.dataset),
        dataset=options["dataset"], checkpoint=options["checkpoint"],
        from_dir=options["from_dir"], options=run_options(options), out=options["out"],
        overwrite=options["overwrite"], training_options=training_options_given(ctx),
    )  # fmt: skip


def training_options_given(ctx: typer.Context) -> list[str]:
    """The training options typed on the command line (not left at their defaults)."""
    return [
        option_name(name)
        for name in TRAINING_OPTIONS
        if ctx.get_parameter_source(name).name == "COMMANDLINE"
    ]


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
    from lenetcli.commands.report import run_report

    run_command(run_report, folders=folders, title=title, out=out, overwrite=overwrite, quiet=quiet)
