"""``rnnkit textgen train | eval | predict``."""

from __future__ import annotations

from pathlib import Path

import typer

from . import _common as C

app = typer.Typer(
    help="Character-, word- or BPE-level language models that generate text.", no_args_is_help=True
)


@app.command()
@C.train_options()
def train(
    data: str = typer.Argument(
        ..., help="A text file, a folder of .txt files, or a dataset name (tinyshakespeare, ptb)."
    ),
    out: Path = C.OUT,
    level: str = typer.Option("char", help="char, word or bpe."),
    cell: str = typer.Option("lstm", help="lstm, gru or rnn."),
    hidden_size: int = typer.Option(256, help="Hidden units per layer."),
    num_layers: int = typer.Option(2, help="Stacked layers."),
    embedding_size: int = typer.Option(None, help="Embedding width (default: hidden size)."),
    dropout: float = typer.Option(0.0, help="Dropout between layers."),
    input_dropout: float = typer.Option(0.0, help="Dropout on each layer's input."),
    recurrent_dropout: float = typer.Option(0.0, help="Variational dropout on h fed back."),
    weight_drop: float = typer.Option(0.0, help="DropConnect on the recurrent weights."),
    zoneout: float = typer.Option(0.0, help="Zoneout probability."),
    layer_norm: bool = typer.Option(False, help="Layer-normalised cells (Ba et al. 2016)."),
    embedding_dropout: float = typer.Option(0.0, help="Drop whole words from the embedding."),
    output_dropout: float = typer.Option(0.0, help="Locked dropout before the output layer."),
    tie_weights: bool = typer.Option(False, help="Share embedding and output weights."),
    embedding_init_std: float = typer.Option(
        None, help="Initial N(0, std) spread of the embedding (default: by level and tying)."
    ),
    residual: bool = typer.Option(
        False, help="Pre-norm residual layers: x + rnn(LayerNorm(x)) each, LayerNorm at the top."
    ),
    adaptive_softmax: str = typer.Option(
        None, help="Word level: adaptive softmax cutoffs, e.g. 2000,6000 (faster training)."
    ),
    reverse: bool = typer.Option(
        False, help="A backward model (reads the text from its end), for classifier transfer."
    ),
    min_freq: int = typer.Option(1, help="Word level: words rarer than this become <unk>."),
    max_vocab: int = typer.Option(None, help="Word level: vocabulary size limit."),
    bpe_vocab_size: int = typer.Option(1024, help="BPE level: vocabulary size."),
    bptt: int = typer.Option(64, help="Tokens per truncated-BPTT window."),
    stateful: bool = typer.Option(True, help="Carry the hidden state across windows."),
    val_fraction: float = typer.Option(0.1, help="Last fraction of a single text held out."),
    encoding: str = C.ENCODING,
    run: C.Run = None,
) -> None:
    """Train a language model on DATA and write it to --out."""
    from ..data import read_splits, read_text, split_text

    if data == "ptb":
        splits = read_splits("ptb", encoding=encoding)
        train_text, val_text = splits["train"], splits["valid"]
    else:
        train_text, val_text = split_text(read_text(data, encoding=encoding), val_fraction)
    from ..tasks.textgen import TextGenerator  # after the data: bad input fails fast

    if run.continues(out):
        gen = TextGenerator.load(out)  # a finished run: its own options
    else:  # a new run, or one killed before it wrote config.json (same options again)
        gen = TextGenerator(level=level, cell=cell, hidden_size=hidden_size,
                            num_layers=num_layers, embedding_size=embedding_size,
                            dropout=dropout, input_dropout=input_dropout,
                            recurrent_dropout=recurrent_dropout, weight_drop=weight_drop,
                            zoneout=zoneout, layer_norm=layer_norm,
                            embedding_dropout=embedding_dropout, output_dropout=output_dropout,
                            tie_weights=tie_weights, embedding_init_std=embedding_init_std,
                            min_freq=min_freq, max_vocab=max_vocab,
                            bpe_vocab_size=bpe_vocab_size, bptt=bptt, stateful=stateful,
                            residual=residual, reverse=reverse,
                            adaptive_softmax=C.number_list(adaptive_softmax, "--adaptive-softmax",
                                                           int, "2000,6000"))  # fmt: skip
    gen.fit(train_text, val_text, out=out, resume=run.resume, callbacks=run.callbacks,
            **run.options)  # fmt: skip
    if not run.main:
        return
    best = gen.metrics.get("best_val_loss")
    if best is not None:
        typer.echo(f"best validation loss {best:.4f} nats/token")
    typer.echo(f"model written to {out}; generate with: rnnkit textgen predict {out} --prompt ...")


@app.command("eval")
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    data: str = typer.Argument(
        ...,
        help="A text file, a folder, or a dataset name (ptb: its test split; "
        "tinyshakespeare: the part train holds out, its last --val-fraction).",
    ),
    mode: str = typer.Option("stream", help="stream (carried state) or windows (zero state)."),
    window: int = typer.Option(64, help="Window length for --mode windows."),
    val_fraction: float = typer.Option(
        0.1, help="For a one-file dataset name: score its last fraction (train's --val-fraction)."
    ),
    encoding: str = C.ENCODING,
) -> None:
    """Cross-entropy, perplexity and bits per character of MODEL_DIR on DATA."""
    from ..tasks.textgen import TextGenerator

    gen = TextGenerator.load(model_dir)
    text, part = _eval_text(data, val_fraction, encoding)
    m = gen.evaluate(text, mode=mode, window=window)
    typer.echo(
        f"loss {m['loss']:.4f} nats/token  perplexity {m['perplexity']:.2f}  "
        f"bits/char {m['bits_per_char']:.4f}  ({m['tokens']} tokens, {mode})"
    )
    if part:
        typer.echo(f"scored {part}")


def _eval_text(data: str, val_fraction: float, encoding: str) -> tuple[str, str | None]:
    """The text ``eval`` scores on DATA, and which part of a registered dataset that is:
    never text that ``train`` on the same name learned from."""
    from ..data import is_registered, read_splits, read_text, split_text

    if data == "ptb":  # as train reads it: its own train and valid splits
        return read_splits("ptb", encoding)["test"], "the test split of ptb (ptb.test.txt)"
    text = read_text(data, encoding)
    if Path(data).exists() or not is_registered(data):
        return text, None
    if val_fraction == 0:
        return text, f"all of {data} (--val-fraction 0), the training text included"
    _, held_out = split_text(text, val_fraction)
    return held_out, (f"the last {val_fraction * 100:g}% of {data} ({len(held_out)} of {len(text)} "
                      "characters), which train holds out for validation")  # fmt: skip


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    prompt: str = typer.Option("", help="Text to start from."),
    max_new_tokens: int = typer.Option(200, help="Tokens to generate."),
    temperature: float = typer.Option(0.8, help="Sampling temperature (0: greedy)."),
    top_k: int = typer.Option(None, help="Sample among the k most likely tokens."),
    top_p: float = typer.Option(None, help="Nucleus sampling mass."),
    seed: int = typer.Option(None, help="Random seed for reproducible text."),
    output: Path = typer.Option(None, "--output", help="Write the text here, not stdout."),
) -> None:
    """Generate text from MODEL_DIR, streaming it as it comes."""
    from ..tasks.textgen import TextGenerator

    gen = TextGenerator.load(model_dir)
    if gen.reverse:  # a backward model writes what comes before the prompt: all at once
        text = gen.generate(prompt, max_new_tokens, temperature, top_k, top_p, seed)
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            typer.echo(text)
        return
    pieces = gen.stream(prompt, max_new_tokens, temperature, top_k, top_p, seed)
    if output is not None:
        output.write_text(prompt + "".join(pieces), encoding="utf-8")
        return
    typer.echo(prompt, nl=False)
    for piece in pieces:
        typer.echo(piece, nl=False)
    typer.echo()
