"""Translation: an attention encoder-decoder RNN, trained on sentence pairs.

``Translator`` learns from ``(source, target)`` pairs (see :mod:`rnnkit.data.parallel` for
files and datasets), tokenizes with reversible BPE (joint or separate vocabularies) or
words, trains a bidirectional GRU/LSTM encoder and an attention decoder with input feeding
(:mod:`rnnkit.tasks._seq2seq`) on label-smoothed cross-entropy, and translates with greedy
decoding or batched beam search (:mod:`rnnkit.tasks._search`). ``evaluate`` reports
sacreBLEU (cased, detokenized, with its signature), chrF, lower-cased tokenized BLEU and
token-level perplexity; ``attention`` and ``plot_attention`` show the alignments.

Training batches hold ``batch_size`` sentence pairs of similar lengths (sorted within
pools of 50 batches, batch order shuffled per epoch), so little compute goes to padding.
"""

from __future__ import annotations

import dataclasses
import math
import random
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import torch

from .. import io
from ..data.parallel import Pair, split_by_source, without_empty
from ..data.subword import build_sentence_tokenizer, sentence_tokenizer_from_dict
from ..train import Batches, FixedBatches, RecurrentTask, TrainConfig, finish, fit, run_folder
from ._search import Hypothesis, beam_search, check_options, greedy
from ._seq2seq import Seq2Seq, Seq2SeqConfig, make_batch, make_loss

TASK = "translate"
POOL = 50  # batches per length-sorting pool
OPTIONS = {"tokenizer", "vocab_size", "joint_vocab", "min_freq", "label_smoothing", "max_len"}


class AttentionMap(NamedTuple):
    """Alignment of one translation: ``weights[i][j]`` is how much output token ``i``
    (the last one is ``</s>``) attended to source token ``j`` (the last one is ``</s>``)."""

    source_tokens: list[str]
    target_tokens: list[str]
    weights: list[list[float]]
    translation: str


class Translator:
    """An attention encoder-decoder RNN for translation (OpenNMT-py's RNN model family).

    Args:
        tokenizer: ``"bpe"`` (reversible subwords, default) or ``"word"``.
        vocab_size: BPE vocabulary (per language unless ``joint_vocab``), or a word cap.
        joint_vocab: one vocabulary learned on both languages (lets ``share_embeddings``).
        min_freq: minimum count of a BPE merge / a word.
        cell, embedding_size, encoder_size (per direction), encoder_layers, decoder_size,
        decoder_layers, attention (``"general"``, ``"dot"``, ``"additive"``), dropout,
        recurrent_dropout / weight_drop / zoneout (encoder regularizers), tie_embeddings,
        share_embeddings: see :class:`rnnkit.tasks._seq2seq.Seq2SeqConfig`.
        label_smoothing: mass spread over the vocabulary in the training loss.
        max_len: training pairs with a side longer than this many tokens are left out (with
            a warning; ``metrics["dropped_long_pairs"]`` counts them).

    Example::

        tr = rnnkit.Translator(vocab_size=8000)
        tr.fit(train_pairs, val_pairs, max_time="30m", batch_size=96, lr=3e-3)
        tr.translate(["Ein Mann fährt Fahrrad."], beam_size=5)
    """

    def __init__(self, tokenizer: str = "bpe", vocab_size: int = 8000, joint_vocab: bool = True,
                 min_freq: int = 2, cell: str = "gru", embedding_size: int = 256,
                 encoder_size: int = 256, encoder_layers: int = 1, decoder_size: int = 512,
                 decoder_layers: int = 1, attention: str = "general", dropout: float = 0.3,
                 recurrent_dropout: float = 0.0, weight_drop: float = 0.0, zoneout: float = 0.0,
                 tie_embeddings: bool = True, share_embeddings: bool = False,
                 label_smoothing: float = 0.1, max_len: int = 100,
                 impl: str = "auto") -> None:  # fmt: skip
        if tokenizer not in ("bpe", "word"):
            raise ValueError(f"tokenizer must be 'bpe' or 'word', got {tokenizer!r}")
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        if max_len < 1:
            raise ValueError(f"max_len must be positive, got {max_len}")
        if share_embeddings and not joint_vocab:
            raise ValueError("share_embeddings needs joint_vocab=True (one vocabulary)")
        self.options = {"tokenizer": tokenizer, "vocab_size": vocab_size,
                        "joint_vocab": joint_vocab, "min_freq": min_freq,
                        "label_smoothing": label_smoothing, "max_len": max_len}  # fmt: skip
        self.model_options = {
            "cell": cell, "embedding_size": embedding_size, "encoder_size": encoder_size,
            "encoder_layers": encoder_layers, "decoder_size": decoder_size,
            "decoder_layers": decoder_layers, "attention": attention, "dropout": dropout,
            "recurrent_dropout": recurrent_dropout, "weight_drop": weight_drop,
            "zoneout": zoneout, "tie_embeddings": tie_embeddings,
            "share_embeddings": share_embeddings, "impl": impl,
        }  # fmt: skip
        n = vocab_size if vocab_size and vocab_size > 4 else 8000
        Seq2SeqConfig(n, n, **self.model_options)  # validate now, not after tokenizing
        self.src_tok: Any = None
        self.tgt_tok: Any = None
        self.model: Seq2Seq | None = None
        self.metrics: dict[str, Any] = {}
        self.train_config: TrainConfig | None = None

    # ------------------------------------------------------------------ training
    def fit(self, train: list[Pair], val: list[Pair] | None = None, out: str | Path | None = None,
            resume: bool = False, keep_best: bool = True, callbacks: list | None = None,
            **train_options: Any) -> Translator:  # fmt: skip
        """Train on ``train`` pairs, validating on ``val`` (default: 5% of ``train``, split
        by source sentence). ``train_options`` are :class:`rnnkit.train.TrainConfig` fields
        (``max_time="30m"``, ``max_epochs``, ``batch_size`` in sentence pairs, ``lr``, ...).
        ``keep_best``: end with the weights of the best validation (else the last ones,
        e.g. for a time-budgeted run whose cosine schedule ends after the last validation).
        ``callbacks``: extra Lightning callbacks, e.g. :class:`rnnkit.diagnostics.GradientMonitor`.
        ``resume=True`` continues the run in ``out`` on the same data: call it on the loaded
        model, ``rnnkit.load(out).fit(..., resume=True)``.
        """
        io.check_resumable(self, out, resume)
        if not {"max_epochs", "max_steps", "max_time"} & set(train_options):
            train_options = {**train_options, "max_epochs": 1}
        cfg = TrainConfig.from_options(**train_options)
        train, empty = without_empty(_check_pairs(train, "training"), "training")
        if val is None:
            train, val = split_by_source(train, (0.95, 0.05), seed=cfg.seed)
        val = without_empty(_check_pairs(val, "validation"), "validation")[0] if val else None
        if self.src_tok is None or not resume:
            self._build_tokenizers(train)
        src_ids, tgt_ids = self._encode_pairs(train)
        keep = self._short_enough(train, src_ids, tgt_ids)
        src_ids, tgt_ids = [src_ids[i] for i in keep], [tgt_ids[i] for i in keep]
        if self.model is None or not resume:
            torch.manual_seed(cfg.seed)  # the initial weights follow the seed too
            self.model = Seq2Seq(Seq2SeqConfig(self.src_tok.vocab_size, self.tgt_tok.vocab_size,
                                               **self.model_options))  # fmt: skip
        self.train_config = cfg
        loss_fn = make_loss(self.model, self.options["label_smoothing"])
        task = RecurrentTask(self.model, loss_fn, cfg)
        batches = _pair_batches(src_ids, tgt_ids, cfg.batch_size, cfg.seed)
        val_batches = None
        if val:
            vs, vt = self._encode_pairs(val)
            val_batches = FixedBatches(_sorted_batches(vs, vt, cfg.batch_size))
        with run_folder(out, "translate", resume) as out_dir:
            trainer = fit(task, batches, val_batches, out_dir, resume=resume, callbacks=callbacks)
            restore = keep_best and bool(val_batches)
            self.metrics = finish(task, trainer, out_dir, restore_best=restore)
        self.metrics.update(train_pairs=len(keep), dropped_long_pairs=len(train) - len(keep),
                            dropped_empty_pairs=empty)  # fmt: skip
        if task.history:
            self.metrics["best_val_perplexity"] = math.exp(min(self.metrics["best_val_loss"], 700))
        if out is not None and trainer.global_rank == 0:
            self.save(out)
        return self

    def _short_enough(self, pairs: list[Pair], src_ids: list, tgt_ids: list) -> list[int]:
        """The indices of the pairs with both sides of at most ``max_len`` tokens; a warning
        counts the others, as one counts pairs with an empty side."""
        n = self.options["max_len"]
        keep = [i for i in range(len(pairs)) if max(len(src_ids[i]), len(tgt_ids[i])) <= n]
        if not keep:
            raise ValueError(f"every training pair is longer than max_len={n} tokens; raise "
                             "max_len (--max-len)")  # fmt: skip
        if len(keep) < len(pairs):
            kept = set(keep)
            first = next(p for i, p in enumerate(pairs) if i not in kept)
            warnings.warn(f"{len(pairs) - len(keep)} training pair(s) longer than max_len={n} "
                          f"tokens left out, the first {first!r:.80}; raise max_len (--max-len) "
                          "to keep them", stacklevel=3)  # fmt: skip
        return keep

    def _build_tokenizers(self, pairs: list[Pair]) -> None:
        o = self.options
        srcs, tgts = [s for s, _ in pairs], [t for _, t in pairs]
        if o["joint_vocab"]:
            self.src_tok = self.tgt_tok = build_sentence_tokenizer(
                o["tokenizer"], srcs + tgts, o["vocab_size"], o["min_freq"])  # fmt: skip
        else:
            self.src_tok = build_sentence_tokenizer(o["tokenizer"], srcs, o["vocab_size"],
                                                    o["min_freq"])  # fmt: skip
            self.tgt_tok = build_sentence_tokenizer(o["tokenizer"], tgts, o["vocab_size"],
                                                    o["min_freq"])  # fmt: skip

    def _encode_pairs(self, pairs: list[Pair]) -> tuple[list[list[int]], list[list[int]]]:
        return (self.src_tok.encode_batch([s for s, _ in pairs]),
                self.tgt_tok.encode_batch([t for _, t in pairs]))  # fmt: skip

    # ------------------------------------------------------------------ translation
    @torch.no_grad()
    def translate(self, sentences: list[str] | str, beam_size: int = 5, alpha: float = 0.6,
                  n_best: int = 1, max_len_ratio: float = 2.0, no_repeat_ngram: int = 0,
                  batch_size: int = 64) -> list[str] | list[list[str]]:  # fmt: skip
        """Translations of ``sentences`` (``n_best > 1``: a best-first list per sentence).

        ``beam_size=1`` is greedy decoding; ``alpha`` is GNMT's length-penalty exponent;
        a translation has at most ``max_len_ratio`` times the source's tokens (``</s>``
        included); ``no_repeat_ngram=k`` forbids repeating any k-gram (0: off). An empty
        sentence translates to ``""``. A search that finishes fewer than ``n_best``
        hypotheses (a tight length limit) fills its list with ``""``, with a warning.
        """
        hyps = self._search(sentences, beam_size, alpha, n_best, max_len_ratio,
                            no_repeat_ngram, batch_size)  # fmt: skip
        texts = [[self.tgt_tok.decode(h.tokens) for h in hs] for hs in hyps]
        short = sum(len(t) < n_best for t in texts)
        if short:
            warnings.warn(f"{short} sentence(s) got fewer than n_best={n_best} hypotheses (the "
                          "search finished fewer: raise max_len_ratio or lower n_best); their "
                          "lists are filled with empty strings", stacklevel=2)  # fmt: skip
        texts = [t + [""] * (n_best - len(t)) for t in texts]
        return [t[0] for t in texts] if n_best == 1 else texts

    def _search(self, sentences, beam_size, alpha, n_best, max_len_ratio, no_repeat_ngram,
                batch_size):  # fmt: skip
        model = self._ready()
        sentences = _check_sentences(sentences)
        check_options(beam_size, alpha, n_best, max_len_ratio, no_repeat_ngram)
        if batch_size < 1:
            raise ValueError(f"expected batch_size >= 1, got {batch_size}")
        ids = self.src_tok.encode_batch(sentences) if sentences else []
        # an empty sentence has nothing to translate (a model would make something up)
        results: list[Any] = [None if s else [Hypothesis([], 0.0, 0.0)] * n_best
                              for s in sentences]  # fmt: skip
        order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(ids[i]))
        for i in range(0, len(order), batch_size):
            chunk = order[i : i + batch_size]
            (src, lengths), _ = make_batch([ids[j] for j in chunk])
            if beam_size == 1 and n_best == 1:
                found = [[h] for h in greedy(model, src, lengths, max_len_ratio, no_repeat_ngram)]
            else:
                found = beam_search(model, src, lengths, beam_size, alpha, n_best,
                                    max_len_ratio, no_repeat_ngram)  # fmt: skip
            for j, hs in zip(chunk, found, strict=True):
                results[j] = hs
        return results

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def perplexity(self, pairs: list[Pair], batch_size: int = 64) -> dict[str, float]:
        """Token-level cross-entropy (nats per target token, ``</s>`` included) and
        perplexity of the references under the model (teacher forcing)."""
        model = self._ready()
        pairs = _check_pairs(pairs, "evaluation")
        src, tgt = self._encode_pairs(pairs)
        loss_fn = make_loss(model, 0.0)
        total, count = 0.0, 0
        for x, y in _sorted_batches(src, tgt, batch_size):
            logits, _ = model(x)
            loss, n = loss_fn(logits, y)
            total, count = total + float(loss) * n, count + n
        loss = total / count
        return {"loss": loss, "perplexity": math.exp(min(loss, 700)), "tokens": count}

    def evaluate(self, pairs: list[Pair], beam_size: int = 5, alpha: float = 0.6,
                 max_len_ratio: float = 2.0, no_repeat_ngram: int = 0,
                 batch_size: int = 64) -> dict[str, Any]:  # fmt: skip
        """sacreBLEU (cased, detokenized) with signature, chrF, lower-cased tokenized BLEU,
        and perplexity of ``pairs``; ``"translations"`` holds the outputs."""
        from ..metrics import corpus_scores

        pairs = _check_pairs(pairs, "evaluation")
        hyps = self.translate([s for s, _ in pairs], beam_size, alpha, 1, max_len_ratio,
                              no_repeat_ngram, batch_size)  # fmt: skip
        scores = corpus_scores(hyps, [t for _, t in pairs])
        scores.update(self.perplexity(pairs, batch_size))
        scores.update({"beam_size": beam_size, "alpha": alpha, "translations": hyps})
        return scores

    # ------------------------------------------------------------------ attention
    @torch.no_grad()
    def attention(self, sentence: str, translation: str | None = None, beam_size: int = 5,
                  alpha: float = 0.6, max_len_ratio: float = 2.0,
                  no_repeat_ngram: int = 0) -> AttentionMap:  # fmt: skip
        """The alignment matrix of ``sentence`` and its translation (by default the model's
        own, found with the search options given, as the tokens the search chose), read
        off the decoder run on that translation."""
        model = self._ready()
        sentence = _check_sentences([sentence])[0]
        if translation is None:
            hyp = self._search([sentence], beam_size, alpha, 1, max_len_ratio, no_repeat_ngram,
                               1)[0][0]  # fmt: skip
            tgt_ids, translation = hyp.tokens, self.tgt_tok.decode(hyp.tokens)
        else:
            tgt_ids = self.tgt_tok.encode(_check_sentences([translation], "translation")[0])
        src_ids = self.src_tok.encode(sentence)
        (src, lengths, tgt_in), _ = make_batch([src_ids], [tgt_ids])
        _, weights = model.teacher_force(src, lengths, tgt_in)
        pieces = [self.src_tok.id_to_piece(i) for i in src_ids] + ["</s>"]
        out = [self.tgt_tok.id_to_piece(i) for i in tgt_ids] + ["</s>"]
        return AttentionMap(pieces, out, weights[0].tolist(), translation)

    def plot_attention(self, sentence: str, path: str | Path, translation: str | None = None,
                       beam_size: int = 5, **search: Any) -> Path:  # fmt: skip
        """Save the attention heat map of ``sentence``'s translation as a PNG at ``path``
        (``search``: :meth:`attention`'s ``alpha``, ``max_len_ratio``, ``no_repeat_ngram``)."""
        from ..viz import plot_attention

        a = self.attention(sentence, translation, beam_size, **search)
        return plot_attention(a.weights, a.source_tokens, a.target_tokens, path,
                              title=a.translation[:80])  # fmt: skip

    def _ready(self) -> Seq2Seq:
        if self.model is None:
            raise ValueError("this Translator is not trained yet: call fit() or load()")
        self.model.eval()
        return self.model

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model directory (config.json, model.safetensors, metrics.json)."""
        model = self._ready()
        joint = self.src_tok is self.tgt_tok
        config = {
            "options": self.options, "model": model.config.to_dict(),
            "src_tokenizer": self.src_tok.to_dict(),
            "tgt_tokenizer": None if joint else self.tgt_tok.to_dict(),
            "train": self.train_config.to_dict() if self.train_config else None,
        }  # fmt: skip
        metrics = {k: v for k, v in self.metrics.items() if k != "history"}
        return io.save_model_dir(path, task=TASK, config=config, model=model, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path) -> Translator:
        """Load a model directory written by :meth:`save` (no pickle is ever read)."""
        config = io.read_config(path, task=TASK)
        with io.damaged_config(path):
            self = cls._from_config(config)
        io.load_weights(path, self.model)
        self.model.eval()
        self.metrics = io.read_metrics(path)
        return self

    @classmethod
    def _from_config(cls, config: dict) -> Translator:
        """The translator ``config`` describes, weights not read yet."""
        model_cfg = Seq2SeqConfig(**config["model"])
        self = cls.__new__(cls)
        self.options = dict(config["options"])
        if set(self.options) != OPTIONS:
            raise ValueError(f"options {sorted(self.options)}, expected {sorted(OPTIONS)}")
        skip = ("src_vocab_size", "tgt_vocab_size")
        self.model_options = {k: v for k, v in dataclasses.asdict(model_cfg).items()
                              if k not in skip}  # fmt: skip
        self.src_tok = sentence_tokenizer_from_dict(config["src_tokenizer"])
        tgt = config.get("tgt_tokenizer")
        self.tgt_tok = self.src_tok if tgt is None else sentence_tokenizer_from_dict(tgt)
        self.model = Seq2Seq(model_cfg)
        self.train_config = TrainConfig.from_dict(config.get("train"))
        return self


def _check_sentences(sentences: Any, what: str = "sentence") -> list[str]:
    """``sentences`` stripped, each checked to be a string (``str()`` of anything else would
    be translated as if it were text)."""
    if isinstance(sentences, str):
        raise ValueError("expected a list of sentences, got one string; wrap it: [sentence]")
    _check_list(sentences, "sentences as a list of strings")
    out = []
    for i, s in enumerate(sentences):
        if not isinstance(s, str):
            raise ValueError(f"expected {what} {i} to be a string, got {s!r:.80}")
        out.append(s.strip())
    return out


def _check_list(items: Any, what: str) -> None:
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise ValueError(f"expected the {what}, got {type(items).__name__}")


def _check_pairs(pairs: Any, what: str) -> list[Pair]:
    _check_list(pairs, f"{what} data as a list of (source, target) pairs")
    out = []
    for i, p in enumerate(pairs):
        ok = isinstance(p, (tuple, list)) and len(p) == 2
        if not (ok and all(isinstance(s, str) for s in p)):
            raise ValueError(f"expected {what} pair {i} to be (source, target) strings, "
                             f"got {p!r:.80}")  # fmt: skip
        out.append((p[0].strip(), p[1].strip()))
    if not out:
        raise ValueError(f"expected some {what} sentence pairs, got none")
    return out


def _sorted_batches(src: list[list[int]], tgt: list[list[int]], batch_size: int) -> list:
    order = sorted(range(len(src)), key=lambda i: (len(tgt[i]), len(src[i])))
    chunks = [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    return [make_batch([src[i] for i in c], [tgt[i] for i in c]) for c in chunks]


def _pair_batches(src: list[list[int]], tgt: list[list[int]], batch_size: int, seed: int
                  ) -> Batches:  # fmt: skip
    """Per epoch: shuffle, sort pools of ``POOL`` batches by length, cut, shuffle batch order;
    rank ``r`` of ``w`` takes every ``w``-th batch."""
    n = len(src)
    n_batches = math.ceil(n / batch_size)

    def make_epoch(epoch: int, rank: int, world: int):
        rng = random.Random(seed * 1000003 + epoch)
        order = list(range(n))
        rng.shuffle(order)
        pool = POOL * batch_size
        chunks = []
        for p in range(0, n, pool):
            # by target length first: the step-by-step decoder is most of the cost
            part = sorted(order[p : p + pool], key=lambda i: (len(tgt[i]), len(src[i])))
            chunks += [part[k : k + batch_size] for k in range(0, len(part), batch_size)]
        rng.shuffle(chunks)
        for chunk in chunks[rank::world]:
            yield make_batch([src[i] for i in chunk], [tgt[i] for i in chunk])

    def length(rank: int, world: int) -> int:
        return len(range(rank, n_batches, world))

    return Batches(make_epoch, length)


__all__ = ["AttentionMap", "Translator"]
