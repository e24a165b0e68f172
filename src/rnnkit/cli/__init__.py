"""The ``rnnkit`` command line.

Every command turns a user mistake (``ValueError``, ``OSError`` such as a missing or
unreadable file) into one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import typer

from . import classify as _classify
from . import diagnose as _diagnose
from . import forecast as _forecast
from . import speech as _speech
from . import textgen as _textgen
from . import translate as _translate

app = typer.Typer(
    name="rnnkit",
    help="Recurrent neural networks on PyTorch: layers, fast paths, and ready applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


app.add_typer(_textgen.app, name="textgen")
app.command("diagnose")(_diagnose.diagnose)
app.add_typer(_forecast.app, name="forecast")
app.add_typer(_speech.app, name="speech")
app.add_typer(_classify.app, name="classify")
app.add_typer(_translate.app, name="translate")


@app.command()
def quickstart(
    out: Path = typer.Option(Path("runs/quickstart"), "--out", help="Model directory."),
    max_time: str = typer.Option("150s", "--max-time", help="Training time: 90s, 5m, ..."),
    threads: int = typer.Option(0, help="torch threads (0: torch's default)."),
    seed: int = typer.Option(0, help="Random seed."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Train a character-level LSTM for a few minutes, then generate text with it."""
    from .quickstart import quickstart as run

    run(out=out, max_time=max_time, threads=threads, seed=seed, progress=progress)


@app.command()
def tour(
    seconds: float = typer.Option(20.0, help="Training time budget of the demo, in seconds."),
    threads: int = typer.Option(0, help="torch threads (0: torch's default)."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Show the layers at work: parity with torch.nn, backend choice, training, streaming."""
    from .tour import tour as run

    run(seconds=seconds, threads=threads, seed=seed)


@app.command()
def version() -> None:
    """Print the versions of rnnkit and torch."""
    import torch

    from .. import __version__

    typer.echo(f"rnnkit {__version__} (torch {torch.__version__})")


def _is_usage_error(e: Exception) -> bool:
    # typer vendors its own copy of click, so match click's exception class by name.
    return any(c.__name__ == "ClickException" for c in type(e).__mro__)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"rnnkit: warning: {message}\n"  # not the source file and line of the warn() call


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rnnkit`` script."""
    formatwarning, warnings.formatwarning = warnings.formatwarning, _one_line_warning
    try:
        return _run(argv)
    finally:  # main() called in-process (tests, notebooks) leaves Python's format as it was
        warnings.formatwarning = formatwarning


def _run(argv: list[str] | None) -> int:
    try:
        app(args=argv, standalone_mode=False)
    except (ValueError, OSError) as e:  # user mistakes and unreadable inputs: one line
        msg = (
            str(e)
            if not isinstance(e, OSError) or not e.filename
            else (f"{e.filename}: {e.strerror}")
        )
        print(f"rnnkit: error: {msg}", file=sys.stderr)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        print("rnnkit: aborted", file=sys.stderr)
        return 130
    except Exception as e:
        if _is_usage_error(e):  # a missing or malformed option: one line too
            print(f"rnnkit: error: {e.format_message()}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
