"""``rnnkit diagnose MODEL_DIR DATA``: a gradient-flow report for a trained model.

The task of the model directory picks the probe (``rnnkit.cli._probes``) that
turns DATA into one batch; the report (``report.md``, PNGs, ``diagnostics.json``) goes to
``--out`` (default ``MODEL_DIR/diagnostics``).
"""

from __future__ import annotations

from pathlib import Path

import typer


def diagnose(
    model_dir: Path = typer.Argument(..., help="A model directory written by a train command."),
    data: str = typer.Argument(
        ...,
        help="Data in the form the model's eval command reads: a text file or ptb (textgen), "
        "labelled texts or sst2 (classify), a CSV like the training one (forecast), a manifest, "
        "folder or fsdd (speech), a TSV of pairs or multi30k (translate).",
    ),
    out: Path = typer.Option(None, "--out", help="Report folder (default MODEL_DIR/diagnostics)."),
    batch_size: int = typer.Option(8, help="Sequences in the probe batch."),
    seq_len: int = typer.Option(
        128,
        help="Time steps per sequence at most (textgen, classify, translate; forecast and "
        "speech take the model's and the audio's).",
    ),
    option: list[str] = typer.Option(
        None,
        "--option",
        "-o",
        help="KEY=VALUE the data needs, repeatable: classify text_col, "
        "label_col, format, encoding; speech split; translate src_lang, tgt_lang, split, "
        "src_col, tgt_col, encoding.",
    ),
    probes: int = typer.Option(
        0, help="Random projections per Jacobian (0: exact up to 64 units, else 8)."
    ),
    threads: int = typer.Option(0, help="torch threads (0: torch's default)."),
) -> None:
    """Write a Markdown report (+ PNGs) on vanishing/exploding gradients in MODEL_DIR on DATA."""
    import torch

    from .. import io
    from ..diagnostics.report import find_probe, write_report

    if batch_size < 1 or seq_len < 2:
        raise ValueError(f"expected --batch-size >= 1 and --seq-len >= 2, got {batch_size}, "
                         f"{seq_len}")  # fmt: skip
    if probes < 0:
        raise ValueError(f"--probes must be >= 0, got {probes}")
    options = {}
    for item in option or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"expected --option KEY=VALUE, got {item!r}")
        options[key.strip()] = value
    if threads:
        torch.set_num_threads(threads)
    task = io.read_config(model_dir)["task"]
    probe_fn = find_probe(task)  # before loading: an unknown task fails fast
    estimator = io.load(model_dir)
    probe = probe_fn(estimator, data, batch_size, seq_len, **options)
    out = out if out is not None else model_dir / "diagnostics"
    report = write_report(probe, out, title=f"rnnkit diagnose: {model_dir.name} ({task})",
                          n_probes=probes or None)  # fmt: skip
    typer.echo(f"report written to {report}")
