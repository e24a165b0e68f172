"""``rnnkit translate train | predict | eval``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .. import io
from . import _common as C

app = typer.Typer(
    help="Attention encoder-decoder RNNs that translate sentences (beam search, BLEU).",
    no_args_is_help=True,
)

SRC = typer.Option(None, "--src", help="Source sentences, one per line (plain or .gz).")
TGT = typer.Option(None, "--tgt", help="Target sentences, line-aligned with --src.")
SRC_COL = typer.Option(0, "--src-col", help="TSV column of the source (0-based).")
TGT_COL = typer.Option(1, "--tgt-col", help="TSV column of the target (0-based).")
SRC_LANG = typer.Option(None, "--src-lang", help="multi30k: source language (en, de, fr).")
TGT_LANG = typer.Option(None, "--tgt-lang", help="multi30k: target language (en, de, fr).")
BEAM = typer.Option(5, "--beam", help="Beam size (1: greedy decoding).")
ALPHA = typer.Option(0.6, "--alpha", help="GNMT length-penalty exponent (0: none).")
RATIO = typer.Option(2.0, "--max-len-ratio", help="Longest output / source length.")
NO_REPEAT = typer.Option(0, "--no-repeat-ngram", help="Forbid repeating n-grams of this size.")


def _pairs_from(data, src, tgt, src_col, tgt_col, src_lang, tgt_lang, encoding):
    """``{"all": pairs}`` or official splits, from DATA or --src/--tgt."""
    from ..data.parallel import read_pairs, read_parallel

    if (src is None) != (tgt is None):
        raise ValueError("give both --src and --tgt (line-aligned files), or a pairs file")
    multi30k = src is None and data == "multi30k" and not Path(data).expanduser().is_file()
    if (src_lang or tgt_lang) and not multi30k:
        raise ValueError(
            "--src-lang and --tgt-lang choose the language pair of multi30k; a pairs file has "
            "its own (its columns: --src-col, --tgt-col): leave them out"
        )
    if src is not None:
        if data is not None:
            raise ValueError(f"give either DATA ({data}) or --src/--tgt, not both")
        return {"all": read_parallel(src, tgt, encoding)}
    if data is None:
        raise ValueError("expected DATA (a TSV of pairs, multi30k, tatoeba_fra_eng) or --src/--tgt")
    return read_pairs(data, src_col, tgt_col, src_lang, tgt_lang, encoding)


@app.command()
@C.train_options(batch_size=64, batch_help="Sentence pairs per batch.")
def train(
    data: str = typer.Argument(None, help="A TSV of pairs, or multi30k / tatoeba_fra_eng."),
    out: Path = C.OUT,
    src: Path = SRC,
    tgt: Path = TGT,
    valid_src: Path = typer.Option(None, "--valid-src", help="Validation source file."),
    valid_tgt: Path = typer.Option(None, "--valid-tgt", help="Validation target file."),
    src_col: int = SRC_COL,
    tgt_col: int = TGT_COL,
    src_lang: str = SRC_LANG,
    tgt_lang: str = TGT_LANG,
    val_fraction: float = typer.Option(
        0.05,
        help="Held out for validation and for test, "
        "split by source sentence, when no split is given.",
    ),
    tokenizer: str = typer.Option("bpe", help="bpe (reversible subwords) or word."),
    vocab_size: int = typer.Option(8000, help="BPE vocabulary size (or word cap)."),
    joint_vocab: bool = typer.Option(True, help="One vocabulary for both languages."),
    cell: str = typer.Option("gru", help="gru or lstm."),
    embedding_size: int = typer.Option(256, help="Embedding width."),
    encoder_size: int = typer.Option(256, help="Encoder hidden units per direction."),
    encoder_layers: int = typer.Option(1, help="Bidirectional encoder layers."),
    decoder_size: int = typer.Option(512, help="Decoder hidden units."),
    decoder_layers: int = typer.Option(1, help="Decoder layers."),
    attention: str = typer.Option("general", help="general, dot (Luong) or additive (Bahdanau)."),
    dropout: float = typer.Option(0.3, help="Dropout on embeddings, layers, output."),
    recurrent_dropout: float = typer.Option(0.0, help="Encoder variational dropout on h."),
    tie_embeddings: bool = typer.Option(True, help="Target embedding = output matrix."),
    share_embeddings: bool = typer.Option(False, help="One embedding for both languages."),
    label_smoothing: float = typer.Option(0.1, help="Label smoothing of the loss."),
    max_len: int = typer.Option(100, help="Skip training pairs longer than this (tokens)."),
    encoding: str = C.ENCODING,
    run: C.Run = None,
) -> None:
    """Train a translator and write it to --out."""
    from ..data.parallel import read_parallel, split_by_source, without_empty

    splits = _pairs_from(data, src, tgt, src_col, tgt_col, src_lang, tgt_lang, encoding)
    empty = 0
    if "all" in splits:  # before the split, so that the held-out test.tsv has none either
        splits["all"], empty = without_empty(splits["all"], "input")
    test = None
    if (valid_src is None) != (valid_tgt is None):
        raise ValueError("give both --valid-src and --valid-tgt, or neither")
    if "train" in splits:  # a dataset with official splits: used as they are
        train_pairs, val_pairs = splits["train"], splits["valid"]
    elif valid_src is not None:
        train_pairs, val_pairs = splits["all"], None
    else:  # split by source sentence: train / valid / test
        if not 0.0 < val_fraction < 0.5:
            raise ValueError(f"expected 0 < --val-fraction < 0.5, got {val_fraction}")
        f = val_fraction
        _check_resumed_seed(out, run)
        train_pairs, val_pairs, test = split_by_source(
            splits["all"], (1 - 2 * f, f, f), run.options["seed"]
        )
        # written now, so that a run killed before its end and resumed keeps it too
        _write_test_pairs(out, test, run)
    if valid_src is not None:
        val_pairs = read_parallel(valid_src, valid_tgt, encoding)
    from ..tasks.translate import Translator  # after the data: bad input fails fast

    if run.continues(out):
        tr = Translator.load(out)
    else:
        tr = Translator(tokenizer=tokenizer, vocab_size=vocab_size, joint_vocab=joint_vocab,
                        cell=cell, embedding_size=embedding_size, encoder_size=encoder_size,
                        encoder_layers=encoder_layers, decoder_size=decoder_size,
                        decoder_layers=decoder_layers, attention=attention, dropout=dropout,
                        recurrent_dropout=recurrent_dropout, tie_embeddings=tie_embeddings,
                        share_embeddings=share_embeddings, label_smoothing=label_smoothing,
                        max_len=max_len)  # fmt: skip
    tr.fit(
        train_pairs, val_pairs, out=out, resume=run.resume, callbacks=run.callbacks, **run.options
    )
    if not run.main:
        return
    if empty:  # left out here, before the split: fit() saw none of them
        tr.metrics["dropped_empty_pairs"] += empty
        tr.save(out)
    if test:
        typer.echo(f"held-out test pairs (no source shared with training): {out / 'test.tsv'}")
    ppl = tr.metrics.get("best_val_perplexity")
    if ppl is not None:
        typer.echo(f"best validation perplexity {ppl:.2f}")
    typer.echo(f'model written to {out}; translate with: rnnkit translate predict {out} "..."')


def _check_resumed_seed(out: Path, run: C.Run) -> None:
    """A resumed run splits its data with the seed it was started with: another one would
    deal other pairs into test.tsv, pairs the first run trained on."""
    if not (run.resume and (out / io.CONFIG_FILE).is_file()):
        return
    saved = (io.read_config(out).get("train") or {}).get("seed")
    if saved is not None and saved != run.options["seed"]:
        raise ValueError(f"--resume: the run in {out} split its data and trained with --seed "
                         f"{saved}; resume with --seed {saved} (another seed splits the pairs "
                         "anew, and the test pairs would include trained ones)")  # fmt: skip


def _write_test_pairs(out: Path, test: list, run: C.Run) -> None:
    """``out/test.tsv``: the held-out pairs; a resumed run keeps the one it finds, and its
    split must give the same pairs (the same data and seed)."""
    text = "".join(f"{s}\t{t}\n" for s, t in test)
    file = out / "test.tsv"
    if run.resume and file.is_file():
        if file.read_text(encoding="utf-8") != text:
            raise ValueError(f"--resume: the held-out pairs of this split differ from {file} "
                             "(other data or another --seed than the run it continues); "
                             "resume with the same data and --seed, or train anew")  # fmt: skip
        return
    if run.main:
        out.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    sentences: list[str] = typer.Argument(None, help="Sentences to translate."),
    file: Path = typer.Option(None, "--file", help="Translate this file, one sentence a line."),
    output: Path = typer.Option(None, "--output", help="Write translations here, not stdout."),
    beam: int = BEAM,
    alpha: float = ALPHA,
    n_best: int = typer.Option(1, "--n-best", help="Hypotheses per sentence (tab-separated)."),
    max_len_ratio: float = RATIO,
    no_repeat_ngram: int = NO_REPEAT,
    batch_size: int = typer.Option(64, "--batch-size", help="Sentences decoded together."),
    attention_plot: Path = typer.Option(
        None, "--attention-plot", help="Save the first sentence's attention as a PNG."
    ),
    encoding: str = C.ENCODING,
) -> None:
    """Translate SENTENCES (or --file) with MODEL_DIR, one translation per line."""
    from ..data.parallel import read_lines
    from ..tasks.translate import Translator

    if file is not None and sentences:
        raise ValueError("give sentences or --file, not both")
    inputs = read_lines(file, encoding) if file is not None else list(sentences or [])
    if not inputs:
        raise ValueError('expected sentences to translate: rnnkit translate predict MODEL "..."')
    tr = Translator.load(model_dir)
    result = tr.translate(inputs, beam_size=beam, alpha=alpha, n_best=n_best,
                          max_len_ratio=max_len_ratio, no_repeat_ngram=no_repeat_ngram,
                          batch_size=batch_size)  # fmt: skip
    lines = [r if isinstance(r, str) else "\t".join(r) for r in result]
    if attention_plot is not None:  # the first sentence searched again: its own tokens
        tr.plot_attention(inputs[0], attention_plot, beam_size=beam, alpha=alpha,
                          max_len_ratio=max_len_ratio, no_repeat_ngram=no_repeat_ngram)  # fmt: skip
        print(f"attention plot written to {attention_plot}", file=sys.stderr)
    text = "\n".join(lines) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)


@app.command("eval")
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    data: str = typer.Argument(None, help="A TSV of pairs, or multi30k (its test split)."),
    src: Path = SRC,
    tgt: Path = TGT,
    src_col: int = SRC_COL,
    tgt_col: int = TGT_COL,
    src_lang: str = SRC_LANG,
    tgt_lang: str = TGT_LANG,
    split: str = typer.Option(
        None, help="multi30k split: test (2016, the default), test2017, valid ..."
    ),
    beam: int = BEAM,
    alpha: float = ALPHA,
    max_len_ratio: float = RATIO,
    no_repeat_ngram: int = NO_REPEAT,
    output: Path = typer.Option(None, "--output", help="Also write the translations here."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    encoding: str = C.ENCODING,
) -> None:
    """BLEU (sacreBLEU, with signature), chrF, lower-cased tokenized BLEU and perplexity."""
    from ..tasks.translate import Translator

    splits = _pairs_from(data, src, tgt, src_col, tgt_col, src_lang, tgt_lang, encoding)
    if "all" in splits:
        if src is None and not Path(data).expanduser().is_file():  # a dataset without splits
            raise ValueError(
                f"{data} has no official test split: its pairs include those the model trained "
                f"on; evaluate on the pairs train held out: rnnkit translate eval {model_dir} "
                f"{Path(model_dir) / 'test.tsv'}"
            )
        if split is not None:
            raise ValueError("--split chooses a part of multi30k; a pairs file is scored whole: "
                             "leave --split out")  # fmt: skip
        pairs = splits["all"]
    elif (split or "test") in splits:
        pairs = splits[split or "test"]
    else:
        raise ValueError(f"expected --split one of {sorted(splits)}, got {split!r}")
    tr = Translator.load(model_dir)
    m = tr.evaluate(pairs, beam_size=beam, alpha=alpha, max_len_ratio=max_len_ratio,
                    no_repeat_ngram=no_repeat_ngram)  # fmt: skip
    hyps = m.pop("translations")
    if output is not None:
        output.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(m, indent=2))
        return
    typer.echo(f"BLEU {m['bleu']:.2f}  ({m['bleu_signature']})")
    typer.echo(f"chrF {m['chrf']:.2f}  ({m['chrf_signature']})")
    typer.echo(f"lower-cased tokenized BLEU {m['bleu_lc_tok']:.2f}")
    typer.echo(f"perplexity {m['perplexity']:.2f}  ({m['tokens']} target tokens)  "
               f"{m['sentences']} sentences, beam {beam}")  # fmt: skip
