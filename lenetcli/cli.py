"""The `lenet` command: parses options and hands them to the modules that do the work."""

from __future__ import annotations

import contextlib
import errno
import inspect
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
from lenetcli.config import DATASET_NAMES, RunOptions, TrainConfig
from lenetcli.errors import Interrupted, LenetError, os_failure, stop_signals, unknown_choice
from lenetcli.options import DEFAULTS, TRAINING, Option, declared, number_text, one_of


class FlagHelp:
    """Shows --help as the flag it is: typer would print a value type ("<bool>") beside it."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class Command(FlagHelp, TyperCommand):
    pass


# Typer's shell completion: --install-completion and --show-completion detect the shell
# (with shellingham) and take no value; `lenet --show-completion zsh` names one (Group).
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")  # those Typer writes scripts for
COMPLETION_FLAGS = {
    "--install-completion": "Install shell completion for the current shell, or for SHELL",
    "--show-completion": "Print the completion script of the current shell, or of SHELL",
}


class Group(FlagHelp, TyperGroup):
    def get_params(self, ctx):
        """The group's options, the completion flags shown as taking an optional SHELL."""
        params = super().get_params(ctx)
        for param in params:
            if flag := next((f for f in param.opts if f in COMPLETION_FLAGS), None):
                param.metavar = "[SHELL]"
                param.help = f"{COMPLETION_FLAGS[flag]}: {', '.join(SHELLS)}."
        return params

    def parse_args(self, ctx, args):
        """`lenet --show-completion SHELL`: the shell named is served, by Typer's own callback
        (which prints or installs the script, then exits), rather than the one detected; a
        name that is no shell Typer knows is refused (Typer would serve the detected shell,
        and --install-completion would change its rc file)."""
        if len(args) > 1 and args[0] in COMPLETION_FLAGS and not args[1].startswith("-"):
            if args[1] not in SHELLS:
                message = unknown_choice("shell", args[1], SHELLS).args[0]
                raise typer.BadParameter(message, ctx, param_hint=f"'{args[0]}'")
            param = next(p for p in self.params if args[0] in p.opts)
            param.callback(ctx, param, args[1])
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=Group,
    help="Train and study LeNet-5 on MNIST, Fashion-MNIST, CIFAR-10 and scikit-learn digits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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
    """How a command runs (RunOptions), from its parameters; an option the command does not
    have keeps RunOptions' default."""
    default = RunOptions()
    return RunOptions(
        data_dir=options["data_dir"],
        download=not options["no_download"],
        device=options["device"],
        group_size=options.get("group_size"),
        group_by=options.get("group_by", default.group_by),
        backend=options.get("backend", default.backend),
        ray_address=options.get("ray_address"),
        task_cpus=options.get("task_cpus"),
        task_gpus=options.get("task_gpus"),
        ray_data=options.get("ray_data", default.ray_data),
        graph=not options["no_graph"],
        quiet=options["quiet"],
        mirror=options.get("mirror"),
    )


# --------------------------------------------------------------------------- declared options
# The options of lenetcli/options.py as typer parameters. A command lists them, with its own,
# in the order its help shows them; `with_options` builds the signature typer reads.

TRAINING_NAMES = tuple(TRAINING)
RUN_NAMES = (
    "device", "data_dir", "no_download", "mirror", "out", "overwrite", "quiet", "group_size",
    "no_graph", "json_output",
)  # fmt: skip


CLUSTER = ("backend", "ray_address", "task_cpus", "task_gpus", "ray_data")  # sweep, noise


def without(names: tuple[str, ...], *left_out: str) -> tuple[str, ...]:
    return tuple(name for name in names if name not in left_out)


def value_parser(option: Option):
    """typer's parser of an option whose text is not simply its type ('all' for a subset)."""

    def parse(text: str):
        try:
            return option.value_of(text)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parse


def typer_parameter(option: Option, as_list: bool = False) -> inspect.Parameter:
    """A declared option as a parameter typer reads: typed, or (as_list: a training option of
    lenet sweep) the text of a comma list, None when it is not given."""
    # escape: help is rich markup to typer, and would drop [ray] of pip install 'lenetcli[ray]'
    settings = {"help": escape(option.help), "metavar": option.metavar}
    if option.choices:  # a list's items, or one value
        settings["autocompletion"] = option.completions if as_list else option.one_completion
    if as_list:
        annotation, default = str | None, None
        settings |= {
            "help": escape(option.list_help()),
            "metavar": "N" if option.one_value else "LIST",
            "show_default": False,  # None means "not given"; the help names the default
        }
    elif option.is_flag:
        annotation, default = bool, option.default
        settings["metavar"] = ""  # a flag takes no value, and typer would show one ("<bool>")
    else:
        default = option.default
        annotation = option.kind if default is not None else option.kind | None
        if option.all_is_none:
            settings |= {"parser": value_parser(option), "show_default": number_text(default)}
        elif option.kind is Path:  # an empty path refused; shown as typer shows a path
            settings |= {"parser": value_parser(option), "metavar": option.metavar or "<path>"}
    return inspect.Parameter(
        option.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=default,
        annotation=Annotated[annotation, typer.Option(*option.names, **settings)],
    )


def with_options(command: str, *names: str, lists: bool = False):
    """A command's parameters in the order of its help: each name is a parameter of the
    function's own or an option declared in lenetcli/options.py, which the function receives
    in its **options. lists: the training options take comma lists (lenet sweep)."""

    def decorate(function):
        own = inspect.signature(function, eval_str=True).parameters
        unplaced = [n for n, p in own.items() if p.kind != p.VAR_KEYWORD and n not in names]
        if unplaced:
            raise TypeError(f"{function.__name__}: list {unplaced} among its option names")
        function.__signature__ = inspect.Signature(
            [
                own[name].replace(kind=inspect.Parameter.KEYWORD_ONLY)
                if name in own
                else typer_parameter(declared(name, command), lists and name in TRAINING)
                for name in names
            ]
        )
        return function

    return decorate


@app.command("train", cls=Command)
@with_options("train", *TRAINING_NAMES, *RUN_NAMES)
def train_command(**options) -> None:
    """Train LeNet-5 and write config, metrics, predictions, curves and the model to --out."""
    from lenetcli.commands.train import run_train  # late: `lenet --help` need not load torch

    run_command(
        run_train, config=training_config(options), options=run_options(options),
        out=options["out"], overwrite=options["overwrite"], print_json=options["json_output"],
    )  # fmt: skip


# --------------------------------------------------------------------------- lenet sweep

StudyFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML study file with a list of settings (see docs/sweep.md). Options given beside it override it, one value each.",
    ),
]


@app.command("sweep", cls=Command)
@with_options(
    "sweep",
    *TRAINING_NAMES,
    "config",
    "resume",
    "dry_run",
    "group_by",
    *RUN_NAMES,
    *CLUSTER,
    lists=True,
)
def sweep_command(config: StudyFile = None, **options) -> None:
    """Train every setting of a grid or study file over repeated seeds; write tables and curves."""
    from lenetcli.commands.sweep import run_sweep

    run_command(
        run_sweep, texts={name: options[name] for name in TRAINING_NAMES}, config_path=config,
        options=run_options(options), out=options["out"], overwrite=options["overwrite"],
        resume=options["resume"], dry_run=options["dry_run"], print_json=options["json_output"],
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
@with_options(
    "noise", "dataset", "noise_type", "noise_rate", "pairs", "transition", "noise_seed",
    *without(TRAINING_NAMES, "dataset"), "resume", "dry_run", "group_by", *RUN_NAMES, *CLUSTER,
)  # fmt: skip
def noise_command(
    noise_type: NoiseType = None,
    noise_rate: NoiseRate = None,
    pairs: Pairs = None,
    transition: Transition = None,
    noise_seed: NoiseSeed = 0,
    **options,
) -> None:
    """Train under label noise, over noise types and rates and repeated seeds; write the study."""
    from lenetcli.commands.noise import run_noise

    run_command(
        run_noise, config=training_config(options), noise_type=noise_type,
        noise_rate=noise_rate, pairs=pairs, transition=transition, noise_seed=noise_seed,
        options=run_options(options), out=options["out"], overwrite=options["overwrite"],
        resume=options["resume"], dry_run=options["dry_run"], print_json=options["json_output"],
    )  # fmt: skip


# --------------------------------------------------------------------------- lenet confusion, hardsamples

# Options of the commands that study a model: it comes from a checkpoint, or is trained first.
DatasetList = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help=f"{one_of(DATASET_NAMES)}; several separated by commas are handled in turn. Default: the checkpoint's dataset, else {DEFAULTS.dataset}.",
        autocompletion=TRAINING["dataset"].completions,
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
# The training options that train the model: beside a checkpoint they are refused.
# --test-subset is not one of them: it chooses the images a checkpoint's model is tested on.
MODEL_TRAINING = (
    "epochs", "lr", "batch_size", "optimizer", "weight_decay", "loss", "activation", "pool",
    "seed", "train_subset",
)  # fmt: skip
MODEL_OPTIONS = (*MODEL_TRAINING, "test_subset", *without(RUN_NAMES, "group_size"))


@app.command("confusion", cls=Command)
@with_options(
    "confusion", "ctx", "dataset", "checkpoint", "from_dir", "normalize", "top", "unordered",
    *MODEL_OPTIONS,
)  # fmt: skip
def confusion_command(
    ctx: typer.Context,
    dataset: DatasetList = None,
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
    **options,
) -> None:
    """Confusion matrix, most confused pairs and per-class precision, recall and F1 of a model."""
    from lenetcli.commands.diagnostics import ConfusionSettings

    model = {"dataset": dataset, "checkpoint": checkpoint, "from_dir": from_dir}
    analyse("confusion", ConfusionSettings(normalize, top, unordered), ctx, model, options)


@app.command("hardsamples", cls=Command)
@with_options(
    "hardsamples", "ctx", "dataset", "checkpoint", "from_dir", "top", "per_pair", "per_class",
    *MODEL_OPTIONS,
)  # fmt: skip
def hardsamples_command(
    ctx: typer.Context,
    dataset: DatasetList = None,
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
    **options,
) -> None:
    """Galleries of the test images behind the most confused pairs, hardest first."""
    from lenetcli.commands.diagnostics import HardSettings

    model = {"dataset": dataset, "checkpoint": checkpoint, "from_dir": from_dir}
    analyse("hardsamples", HardSettings(top, per_pair, per_class), ctx, model, options)


def analyse(command: str, settings, ctx: typer.Context, model: dict, options: dict) -> None:
    """confusion and hardsamples: a model from --checkpoint or --from, or trained first."""
    from lenetcli.commands.diagnostics import run_analysis

    run_command(
        run_analysis, command=command, settings=settings,
        config=training_config(options, dataset=model["dataset"] or DEFAULTS.dataset),
        dataset=model["dataset"], checkpoint=model["checkpoint"], from_dir=model["from_dir"],
        options=run_options(options), out=options["out"], overwrite=options["overwrite"],
        training_options=training_options_given(ctx), print_json=options["json_output"],
    )  # fmt: skip


def training_options_given(ctx: typer.Context) -> list[str]:
    """The options typed on the command line (not left at their defaults) that train a model."""
    return [
        TRAINING[name].flag
        for name in MODEL_TRAINING
        if ctx.get_parameter_source(name).name == "COMMANDLINE"
    ]


# --------------------------------------------------------------------------- lenet report

Folders = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="FOLDER|FILE",
        help="Output folders of lenet train, sweep, noise, confusion or hardsamples, or a folder holding them (such as runs/); with --study, the study file (none: the shipped one).",
        show_default=False,
    ),
]
# What only --study uses: the study's own options, and how its runs train.
STUDY_ONLY = (
    "profile", "sections", "resume", "dry_run", "device", "data_dir", "no_download", "mirror",
    "group_size", "group_by", *CLUSTER, "no_graph",
)  # fmt: skip


@app.command("report", cls=Command)
@with_options(
    "report", "ctx", "folders", "study", "print_study", "profile", "sections", "title", "resume",
    "dry_run", "device", "data_dir", "no_download", "mirror", "group_size", "group_by",
    *CLUSTER, "no_graph", "out", "overwrite", "quiet", "json_output",
)  # fmt: skip
def report_command(
    ctx: typer.Context,
    folders: Folders = None,
    title: Annotated[
        str | None,
        typer.Option(help="The report's title. Default: LeNet-5 report, or the study's title."),
    ] = None,
    **options,
) -> None:
    """Gather output folders into one report, or (--study) run a whole study into one: report.md and .html."""
    if options["print_study"]:
        from lenetcli.commands.course.reading import shipped_study

        if folders or options["study"]:  # it prints the shipped file, the one to copy
            fail(
                "--print-study prints the shipped study file and takes no other; leave out "
                f"{folders[0] if folders else '--study'}, or give your file to --study alone"
            )
        sys.stdout.write(shipped_study())
        return
    given = [
        declared(name, "report").flag
        for name in STUDY_ONLY
        if ctx.get_parameter_source(name).name == "COMMANDLINE"
    ]
    if not options["study"]:
        if given:
            fail(f"{given[0]} belongs to --study; add --study, or leave it out")
        if not folders:
            fail(
                "give the output folders to report on, or --study [FILE] to run a study into "
                "one report; see 'lenet report --help'"
            )
        from lenetcli.commands.report import run_report

        run_command(
            run_report, folders=folders, title=title or "LeNet-5 report", out=options["out"],
            overwrite=options["overwrite"], quiet=options["quiet"],
            print_json=options["json_output"],
        )  # fmt: skip
        return
    if folders and len(folders) > 1:
        fail(f"--study takes one study file, got {len(folders)}: {', '.join(map(str, folders))}")
    from lenetcli.commands.report.study import run_study_report

    run_command(
        run_study_report, study_file=folders[0] if folders else None, out=options["out"],
        profile=options["profile"], sections=options["sections"], options=run_options(options),
        resume=options["resume"], overwrite=options["overwrite"], dry_run=options["dry_run"],
        title=title, print_json=options["json_output"],
    )  # fmt: skip
