"""Multi30k task 1 translation (test2016) under a training-time budget, against the anchors.

Protocol (issue "translation"): train on the 29,000 official training pairs, validate on
val (1,014), test on test_2016_flickr (1,000); report two BLEU figures, labelled:

- cased detokenized sacreBLEU with its signature (the comparable number), and
- lower-cased tokenized BLEU (sacreBLEU ``lowercase=True``, ``13a`` tokens), the metric of
  the anchors: bentrevett/pytorch-seq2seq's legacy attention GRU, de->en, 28.1; the
  text-only attention RNNs of the WMT16/17 multimodal papers, en->de, mid-to-high 30s.

Targets (lower-cased tokenized BLEU, beam 5): de->en > 35, en->de > 33, each trained in at
most 30 minutes on 2 CPU cores. Run one direction per process, with one torch thread::

    /work/wt/slot.sh python benchmarks/translate_multi30k.py --src-lang de --tgt-lang en

The time budget is wall-clock training as Lightning's ``max_time`` counts it (periodic
validation included), not counting tokenizer training or the final decoding.

The beam's length penalty ``alpha`` is chosen on the validation split: each of ``--alpha``
(default 0.6 0.8 1.0 1.2) is decoded on val with the beam, the best val BLEU picks the one
used on test, and the val scores are printed (one value: no search). ``--model DIR`` skips training
and evaluates a model directory this script wrote (same direction).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from rnnkit.data.parallel import multi30k
from rnnkit.tasks.translate import Translator

ANCHORS = {
    ("de", "en"): ("bentrevett legacy attention GRU", 28.1),
    ("en", "de"): ("WMT16/17 multimodal text-only attention RNNs (low end)", 35.0),
}
TARGETS = {("de", "en"): 35.0, ("en", "de"): 33.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src-lang", default="de")
    ap.add_argument("--tgt-lang", default="en")
    ap.add_argument("--time", default="30m", help="training budget (30m)")
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--joint-vocab", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--cell", default="gru")
    ap.add_argument("--embedding-size", type=int, default=256)
    ap.add_argument("--encoder-size", type=int, default=256)
    ap.add_argument("--decoder-size", type=int, default=512)
    ap.add_argument("--attention", default="general")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--batch-size", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--val-every", type=int, default=150, help="steps between validations")
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument(
        "--alpha",
        type=float,
        nargs="+",
        default=[0.6, 0.8, 1.0, 1.2],
        help="GNMT length penalty; several: chosen on the validation split",
    )
    ap.add_argument("--model", default=None, help="evaluate this model directory, no training")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="benchmarks/out/multi30k")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    if not os.environ.get("RNNKIT_DATA_DIR"):
        ap.error("set RNNKIT_DATA_DIR (e.g. ../shared/data)")
    torch.set_num_threads(args.threads)
    pair = (args.src_lang, args.tgt_lang)
    splits = multi30k(*pair)
    out = Path(args.out) / f"{args.src_lang}-{args.tgt_lang}"
    if args.model:
        return evaluate(Translator.load(args.model), Path(args.model), splits, args, pair,
                        {"pair": "-".join(pair), "model": args.model})  # fmt: skip
    tr = Translator(vocab_size=args.vocab_size, joint_vocab=args.joint_vocab, cell=args.cell,
                    embedding_size=args.embedding_size, encoder_size=args.encoder_size,
                    decoder_size=args.decoder_size, attention=args.attention,
                    dropout=args.dropout, label_smoothing=args.label_smoothing)  # fmt: skip
    start = time.perf_counter()
    tr.fit(splits["train"], splits["valid"], out=out, keep_best=False, max_time=args.time,
           batch_size=args.batch_size, lr=args.lr, warmup_steps=args.warmup,
           val_every=args.val_every, seed=args.seed, progress=False)  # fmt: skip
    train_s = time.perf_counter() - start
    history = tr.metrics.get("history", [])
    print(f"trained {tr.metrics['train_steps']} steps in {train_s / 60:.1f} min "
          f"(incl. tokenizer); validation history: "
          f"{[(int(h['step']), round(h['val_loss'], 3)) for h in history]}",
          flush=True)  # fmt: skip
    results: dict = {"pair": "-".join(pair), "train_seconds": train_s,
                     "train_steps": tr.metrics["train_steps"], "history": history}  # fmt: skip
    return evaluate(tr, out, splits, args, pair, results)


def evaluate(tr: Translator, out: Path, splits: dict, args, pair: tuple, results: dict) -> int:
    """Greedy and beam BLEU on test (alpha chosen on val when several are given)."""
    results.update(
        args=vars(args),
        threads=args.threads,
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
    )
    alpha = args.alpha[0]
    if len(args.alpha) > 1:
        val_bleu = {}
        for a in args.alpha:
            t0 = time.perf_counter()
            m = tr.evaluate(splits["valid"], beam_size=args.beam, alpha=a)
            val_bleu[a] = m["bleu_lc_tok"]
            print(f"val beam{args.beam} alpha {a}: lower-cased tokenized BLEU "
                  f"{m['bleu_lc_tok']:.2f} ({m['bleu_detail']}) | "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        alpha = max(val_bleu, key=val_bleu.get)
        results["val_alpha_search"] = val_bleu
        print(f"alpha {alpha} chosen on the validation split", flush=True)
    results["alpha"] = alpha
    test = splits["test"]
    for name, beam in (("greedy", 1), (f"beam{args.beam}", args.beam)):
        t0 = time.perf_counter()
        m = tr.evaluate(test, beam_size=beam, alpha=alpha)
        m["decode_seconds"] = time.perf_counter() - t0
        hyps = m.pop("translations")
        (out / f"test2016.{name}.{args.tgt_lang}").write_text("\n".join(hyps) + "\n", "utf-8")
        results[name] = m
        print(f"{name:>7}: lower-cased tokenized BLEU {m['bleu_lc_tok']:.2f} | sacreBLEU "
              f"{m['bleu']:.2f} ({m['bleu_signature']}) | chrF {m['chrf']:.2f} | ppl "
              f"{m['perplexity']:.2f} | decode {m['decode_seconds']:.0f} s",
              flush=True)  # fmt: skip
    anchor_name, anchor = ANCHORS[pair] if pair in ANCHORS else ("none", float("nan"))
    best = results[f"beam{args.beam}"]["bleu_lc_tok"]
    target = TARGETS.get(pair)
    print(f"beam {args.beam} vs anchor ({anchor_name}, {anchor}): ratio {best / anchor:.3f}")
    if target is not None:
        verdict = "MET" if best > target else "NOT MET"
        print(f"target lower-cased tokenized BLEU > {target}: {verdict} ({best:.2f})")
    for i in range(3):
        print(
            f"  src: {test[i][0]}\n  ref: {test[i][1]}\n  hyp: "
            f"{(out / f'test2016.beam{args.beam}.{args.tgt_lang}').read_text().splitlines()[i]}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
