"""The ``rnnkit`` command line.

Every command turns a user mistake (``ValueError``, ``FileNotFoundError``) into one line on
stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from .quickstart import quickstart as _quickstart

app = typer.Typer(
    name="rnnkit",
    help="Recurrent neural networks on PyTorch: layers, fast paths, and ready applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def quickstart(
    seconds: float = typer.Option(20.0, help="Training time budget of the demo, in seconds."),
    threads: int = typer.Option(0, help="torch threads (0: torch's default)."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """Show the layers at work: parity with torch.nn, backend choice, training, streaming."""
    _quickstart(seconds=seconds, threads=threads, seed=seed)


@app.command()
def version() -> None:
    """Print the versions of rnnkit and torch."""
    import torch

    from .. import __version__

    typer.echo(f"rnnkit {__version__} (torch {torch.__version__})")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rnnkit`` script."""
    try:
        app(args=argv, standalone_mode=False)
    except (ValueError, FileNotFoundError, IsADirectoryError) as e:
        print(f"rnnkit: error: {e}", file=sys.stderr)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        print("rnnkit: aborted", file=sys.stderr)
        return 130
    except Exception as e:  # click's own usage errors
        import click

        if isinstance(e, click.ClickException):
            print(f"rnnkit: error: {e.format_message()}", file=sys.stderr)
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
