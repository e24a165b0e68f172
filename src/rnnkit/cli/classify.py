"""``rnnkit classify train | eval | predict``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer

from . import _common as C

app = typer.Typer(
    help="Text classification (sentiment analysis) with recurrent encoders.", no_args_is_help=True
)

TEXT_COL = typer.Option(None, "--text-col", help="Text column of a CSV/TSV/JSONL (text).")
LABEL_COL = typer.Option(None, "--label-col", help="Label column of a CSV/TSV/JSONL (label).")
FORMAT = typer.Option("auto", "--format", help="auto, csv, tsv, jsonl, lines, folder.")


def _read(data: str, split: str, text_col, label_col, fmt: str, encoding: str):
    """A registered dataset's split (sst2: train/dev/test; mr: all of it, for training) or a
    user's file/folder."""
    from ..data import dataset_path, is_registered
    from ..data.labeled import read_labeled, read_mr

    if Path(data).exists() or not is_registered(data):
        return read_labeled(data, text_col, label_col, fmt, encoding)
    if data == "mr":
        if split != "train":
            raise ValueError("mr has no dev or test split (its users cross-validate); evaluate "
                             "on a file of held-out sentences instead")  # fmt: skip
        return read_mr("cp1252" if encoding.lower().replace("-", "") == "utf8" else encoding)
    if data != "sst2":
        raise ValueError(f"{data} is a registered dataset but not labelled texts; classify "
                         "reads sst2 or mr by name, or a file or folder of your own")  # fmt: skip
    return read_labeled(dataset_path(data, split), fmt="lines", encoding=encoding)


@app.command()
@C.train_options(weight_decay=0.01)
def train(
    data: str = typer.Argument(
        ...,
        help="CSV/TSV/JSONL file, 'label text' lines (SST-2), a folder per class, sst2 or mr.",
    ),
    out: Path = C.OUT,
    text_col: str = TEXT_COL,
    label_col: str = LABEL_COL,
    fmt: str = FORMAT,
    val: str = typer.Option(None, "--val", help="Validation data (default: 10% of DATA)."),
    level: str = typer.Option("word", help="word or bpe."),
    lower: bool = typer.Option(True, "--lower/--no-lower", help="Lower-case the texts."),
    split_punct: bool = typer.Option(
        True, "--split-punct/--no-split-punct", help="Split punctuation off words."
    ),
    max_length: int = typer.Option(256, help="Tokens per text at most (the rest is cut)."),
    min_freq: int = typer.Option(1, help="Words rarer than this become <unk>."),
    max_vocab: int = typer.Option(None, help="Vocabulary size limit."),
    bpe_vocab_size: int = typer.Option(8000, help="BPE vocabulary size."),
    cell: str = typer.Option("lstm", help="lstm, gru or rnn."),
    embedding_size: int = typer.Option(300, help="Embedding width."),
    hidden_size: int = typer.Option(256, help="Hidden units per direction."),
    num_layers: int = typer.Option(1, help="Stacked layers."),
    bidirectional: bool = typer.Option(True, "--bidirectional/--unidirectional"),
    pooling: str = typer.Option("max", help="last, mean, max, attention, concat (last+max+mean)."),
    dropout: float = typer.Option(0.5, help="Dropout before the classifier."),
    embedding_dropout: float = typer.Option(0.1, help="Drop whole words from the embedding."),
    recurrent_dropout: float = typer.Option(0.0, help="Variational dropout on h fed back."),
    weight_drop: float = typer.Option(0.0, help="DropConnect on the recurrent weights."),
    class_weights: str = typer.Option(None, help="'balanced' for imbalanced classes."),
    pretrained: list[Path] = typer.Option(
        None,
        help="Word-level textgen model dir to start from; twice for a forward and a backward "
        "(textgen train --reverse) one.",
    ),
    lr_decay: float = typer.Option(None, help="Discriminative lr factor per layer (2.6)."),
    gradual_unfreeze: bool = typer.Option(False, help="Unfreeze one layer group per epoch."),
    adversarial: float = typer.Option(
        0.0,
        help="Adversarial training: push each text's embeddings by this fraction of their norm.",
    ),
    bucket: int = typer.Option(
        0, help="Batch texts of similar length: sort pools of this many batches (0: off)."
    ),
    early_stopping: int = typer.Option(
        None, help="Stop after N validations without a better validation accuracy."
    ),
    encoding: str = C.ENCODING,
    run: C.Run = None,
) -> None:
    """Train a classifier on DATA and write it to --out."""
    from ..data import get_dataset

    texts, labels = _read(data, "train", text_col, label_col, fmt, encoding)
    val_data = (None, None)
    if val is not None:
        val_data = _read(val, "dev", text_col, label_col, fmt, encoding)
    elif not Path(data).exists() and "dev" in get_dataset(data).splits:  # sst2: its own dev
        val_data = _read(data, "dev", text_col, label_col, fmt, encoding)
    from ..tasks.classify import TextClassifier  # after the data: bad input fails fast

    if run.continues(out):
        clf = TextClassifier.load(out)
    else:
        clf = TextClassifier(level=level, lower=lower, split_punct=split_punct,
                             max_length=max_length, min_freq=min_freq, max_vocab=max_vocab,
                             bpe_vocab_size=bpe_vocab_size, cell=cell,
                             embedding_size=embedding_size, hidden_size=hidden_size,
                             num_layers=num_layers, bidirectional=bidirectional,
                             pooling=pooling, dropout=dropout,
                             embedding_dropout=embedding_dropout,
                             recurrent_dropout=recurrent_dropout, weight_drop=weight_drop,
                             class_weights=class_weights, pretrained=pretrained or None,
                             lr_decay=lr_decay, gradual_unfreeze=gradual_unfreeze,
                             adversarial=adversarial, bucket=bucket)  # fmt: skip
    options = dict(run.options)
    if early_stopping is not None:
        options["early_stopping"] = early_stopping
    clf.fit(texts, labels, *val_data, out=out, resume=run.resume, callbacks=run.callbacks,
            **options)  # fmt: skip
    if not run.main:
        return
    best = clf.metrics.get("best_val_accuracy")
    if best is not None:
        typer.echo(f"best validation accuracy {best:.4f}")
    typer.echo(f"model written to {out}; classes {clf.classes}; "
               f"predict with: rnnkit classify predict {out} \"some text\"")  # fmt: skip


@app.command("eval")
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    data: str = typer.Argument(..., help="Labelled data as for train, or sst2 (its test)."),
    text_col: str = TEXT_COL,
    label_col: str = LABEL_COL,
    fmt: str = FORMAT,
    encoding: str = C.ENCODING,
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Accuracy, macro F1 and the confusion matrix of MODEL_DIR on DATA."""
    from ..tasks.classify import TextClassifier

    clf = TextClassifier.load(model_dir)
    texts, labels = _read(data, "test", text_col, label_col, fmt, encoding)
    m = clf.evaluate(texts, labels)
    if as_json:
        typer.echo(json.dumps(m, indent=2))
        return
    typer.echo(f"accuracy {m['accuracy']:.4f}  macro F1 {m['macro_f1']:.4f}  ({m['n']} texts)")
    names = [str(x) for x in m["confusion"]["labels"]]
    width = max(8, *(len(n) for n in names))
    typer.echo("confusion (rows: true, columns: predicted)")
    typer.echo(" " * width + "".join(f"{n:>{width + 1}}" for n in names))
    for name, row in zip(names, m["confusion"]["matrix"], strict=True):
        typer.echo(f"{name:>{width}}" + "".join(f"{v:>{width + 1}}" for v in row))
    if m["unseen_labels"]:
        typer.echo(f"labels never seen in training (counted as errors): {m['unseen_labels']}")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    texts: list[str] = typer.Argument(None, help="Texts to classify."),
    file: Path = typer.Option(
        None, "--file", help="Texts to classify: a CSV/TSV/JSONL (--text-col) or one text per line."
    ),
    text_col: str = TEXT_COL,
    fmt: str = FORMAT,
    output: Path = typer.Option(None, "--output", help="Write a CSV (text, label, p_*)."),
    proba: bool = typer.Option(False, "--proba", help="Print the class probabilities too."),
    encoding: str = C.ENCODING,
) -> None:
    """The label of each text (arguments, or --file), printed or written to --output."""
    from ..data.labeled import read_labeled
    from ..tasks.classify import TextClassifier

    if not texts and file is None:
        raise ValueError("expected texts to classify: pass them as arguments or --file FILE")
    items = list(texts or [])
    if file is not None:
        items += read_labeled(file, text_col, None, fmt, encoding, labeled=False)[0]
    clf = TextClassifier.load(model_dir)
    probs = clf.predict_proba(items)
    labels = [clf.classes[i] for i in probs.argmax(-1)]
    if output is not None:
        with open(output, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "label", *(f"p_{c}" for c in clf.classes)])
            for text, label, p in zip(items, labels, probs.tolist(), strict=True):
                w.writerow([text, label, *(f"{v:.6f}" for v in p)])
        typer.echo(f"{len(items)} predictions written to {output}")
        return
    for text, label, p in zip(items, labels, probs.tolist(), strict=True):
        extra = "\t" + " ".join(f"{c}={v:.4f}" for c, v in zip(clf.classes, p, strict=True))
        typer.echo(f"{label}{extra if proba else ''}\t{text}")
