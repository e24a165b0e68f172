"""``rnnkit diagnose MODEL_DIR DATA``: a gradient-flow report for a trained model.

The task of the model directory picks the probe (:mod:`rnnkit.diagnostics.report`) that
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
        help="Data in the form the model's task reads (textgen: a "
        "text file, folder or dataset name).",
    ),
    out: Path = typer.Option(None, "--out", help="Report folder (default MODEL_DIR/diagnostics)."),
    batch_size: int = typer.Option(8, help="Sequences in the probe batch."),
    seq_len: int = typer.Option(128, help="Time steps per sequence (where the task allows)."),
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
    if threads:
        torch.set_num_threads(threads)
    task = io.read_config(model_dir)["task"]
    probe_fn = find_probe(task)  # before loading: an unknown task fails fast
    estimator = io.load(model_dir)
    probe = probe_fn(estimator, data, batch_size, seq_len)
    out = out if out is not None else model_dir / "diagnostics"
    report = write_report(probe, out, title=f"rnnkit diagnose: {model_dir.name} ({task})",
                          n_probes=probes or None)  # fmt: skip
    typer.echo(f"report written to {report}")


def textgen_probe(gen, data: str, batch_size: int, seq_len: int):
    """A text generator on ``batch_size`` windows of ``seq_len`` tokens spread over DATA."""
    import torch

    from ..data import chunk_windows, read_splits, read_text
    from ..diagnostics.report import Probe
    from ..tasks._lm import lm_loss

    text = read_splits("ptb")["test"] if data == "ptb" else read_text(data)
    ids = gen._encode(text, "diagnosis text", unknown_ok=True)
    xs, ys = chunk_windows(ids, seq_len)
    full = int((ys[:, -1] != -100).sum())  # windows without right padding
    if full < 1:
        raise ValueError(
            f"the text has {ids.numel()} tokens, too few for one window of --seq-len {seq_len}; "
            "use a smaller --seq-len or more text"
        )
    pick = torch.linspace(0, full - 1, min(batch_size, full)).round().long().unique()
    desc = (f"Probe batch: {len(pick)} windows of {seq_len} {gen.level} tokens from {data}, "
            "each from a zero state.")  # fmt: skip
    return Probe(gen.model, (xs[pick], ys[pick]), lm_loss, desc)
