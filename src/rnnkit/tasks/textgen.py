"""Text generation: character-, word- or BPE-level recurrent language models.

``TextGenerator`` trains on a text (a path, a folder of ``.txt`` files, a registered
dataset name, or a string you pass in Python), evaluates cross-entropy, perplexity and
bits per character, and generates text one token at a time through the layers' streaming
``step()``, so the prompt is read once and never re-run.

Training is stateful truncated BPTT (Zaremba et al. 2014): the text is cut into
``batch_size`` contiguous streams walked ``bptt`` tokens at a time, with the hidden state
carried (detached) from one window to the next. ``stateful=False`` instead starts every
window from zero at a random offset per epoch.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import math
import numbers
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from .. import io
from ..data import (
    StreamWindows,
    batchify,
    chunk_windows,
    make_tokenizer,
    shard_stream,
    tokenizer_from_dict,
)
from ..data.tokenize import list_chars
from ..sampling import check_options, sample_next
from ..train import Batches, FixedBatches, RecurrentTask, TrainConfig, finish, fit, run_folder
from ._lm import LanguageModel, LMConfig, lm_loss

TASK = "textgen"
LEVELS = ("char", "word", "bpe")


class _LMTask(RecurrentTask):
    """Training through :meth:`LanguageModel.training_loss` (the adaptive softmax's own
    loss); validation scores the model's log-probabilities with :func:`lm_loss`."""

    def training_loss(self, x: Any, y: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return self.model.training_loss(x, y, self.carry if self.stateful else None)


class TextGenerator:
    """A recurrent language model that learns a text and writes more of it.

    Args:
        level: ``"char"``, ``"word"`` (Penn Treebank convention: ``<eos>`` per line,
            ``<unk>`` for rare words) or ``"bpe"`` (the ``tokenizers`` library).
        cell, hidden_size, num_layers, embedding_size, dropout, input_dropout,
        recurrent_dropout, weight_drop, zoneout, layer_norm: the rnnkit layer's options.
        embedding_dropout: drop whole words from the embedding (AWD-LSTM).
        output_dropout: locked dropout on the last layer's output.
        tie_weights: share the embedding with the output layer.
        residual: pre-norm residual layers: each adds ``rnn(LayerNorm(x))`` to its input,
            with a LayerNorm before the output layer (``dropout`` then drops each layer's
            contribution). On Tiny Shakespeare it learned faster than a plain stack in a
            71 s budget and ended level with it after 10 minutes (``benchmarks/RESULTS.md``).
            Needs ``embedding_size == hidden_size``.
        adaptive_softmax: word level only: cutoffs such as ``(2000, 6000)`` make the output
            layer an adaptive softmax (Grave et al. 2017) with the most frequent 2,000 words
            in its head and two clusters of rarer ones, which cuts the cost of a training
            step on a large vocabulary; evaluation still scores the full distribution.
        embedding_init_std: the embedding's initial N(0, std) spread. Default: 1.0 (torch's)
            for an untied character model, whose 65-odd input rows must drive the first
            layer from the start (on Tiny Shakespeare 0.1 trained 0.2 nats worse in 71 s);
            0.1 for other untied models and 0.05 for tied ones (the rows are output weights).
        bptt: tokens per training window.
        stateful: carry the hidden state across windows (truncated BPTT).
        min_freq, max_vocab: word-level vocabulary limits; bpe_vocab_size for BPE.
        reverse: a *backward* model: it reads the token stream from its end and predicts
            each previous token (ULMFiT's backward LM). Its use is transfer:
            ``TextClassifier(pretrained=...)`` puts it into a bidirectional classifier's
            backward direction. ``generate`` writes the text that comes before the prompt;
            ``evaluate`` scores the text read backwards.

    Example::

        gen = rnnkit.TextGenerator(level="char", hidden_size=256)
        gen.fit(text, max_time="2m")
        print(gen.generate("ROMEO:", max_new_tokens=200, temperature=0.8, seed=0))
    """

    def __init__(self, level: str = "char", cell: str = "lstm", hidden_size: int = 256,
                 num_layers: int = 2, embedding_size: int | None = None, dropout: float = 0.0,
                 input_dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 weight_drop: float = 0.0, zoneout: float = 0.0, layer_norm: bool = False,
                 embedding_dropout: float = 0.0, output_dropout: float = 0.0,
                 tie_weights: bool = False, bptt: int = 64, stateful: bool = True,
                 min_freq: int = 1, max_vocab: int | None = None, bpe_vocab_size: int = 1024,
                 impl: str = "auto", adaptive_softmax: Sequence[int] | None = None,
                 embedding_init_std: float | None = None,
                 residual: bool = False, reverse: bool = False) -> None:  # fmt: skip
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        if bptt < 1:
            raise ValueError(f"bptt must be positive, got {bptt}")
        if adaptive_softmax is not None and level != "word":
            raise ValueError(
                "adaptive_softmax needs level='word' (its clusters follow the word "
                f"vocabulary's frequency order), got level={level!r}"
            )
        if level != "word" and (min_freq != 1 or max_vocab is not None):
            raise ValueError(f"min_freq and max_vocab limit a word vocabulary, got "
                             f"level={level!r}; drop them or use level='word'")  # fmt: skip
        if level != "bpe" and bpe_vocab_size != 1024:
            raise ValueError(f"bpe_vocab_size sizes a BPE vocabulary, got level={level!r}; "
                             "drop it or use level='bpe'")  # fmt: skip
        self.level, self.bptt, self.stateful, self.reverse = level, bptt, stateful, reverse
        self.tokenizer_options = {"char": {}, "word": {"min_freq": min_freq, "max_size": max_vocab},
                                  "bpe": {"vocab_size": bpe_vocab_size}}[level]  # fmt: skip
        self.model_options = {
            "cell": cell, "hidden_size": hidden_size, "num_layers": num_layers,
            "embedding_size": embedding_size, "dropout": dropout,
            "input_dropout": input_dropout, "recurrent_dropout": recurrent_dropout,
            "weight_drop": weight_drop, "zoneout": zoneout, "layer_norm": layer_norm,
            "embedding_dropout": embedding_dropout, "output_dropout": output_dropout,
            "tie_weights": tie_weights, "impl": impl,
            "adaptive_cutoffs": None if adaptive_softmax is None else tuple(adaptive_softmax),
            "embedding_init_std": embedding_init_std, "residual": residual,
        }  # fmt: skip
        if embedding_init_std is None and level == "char" and not tie_weights:
            self.model_options["embedding_init_std"] = 1.0
        LMConfig(vocab_size=2, **self.model_options)  # validate the options now
        self.tokenizer: Any = None
        self.model: LanguageModel | None = None
        self.metrics: dict[str, Any] = {}
        self.train_config: TrainConfig | None = None

    # ------------------------------------------------------------------ training
    def fit(
        self,
        train_text: str,
        val_text: str | None = None,
        out: str | Path | None = None,
        resume: bool = False,
        callbacks: list | None = None,
        **train_options: Any,
    ) -> TextGenerator:
        """Train on ``train_text`` (validated on ``val_text``, or its last 10%).

        ``out`` is the model directory (logs, checkpoints, and the model at the end);
        ``train_options`` are :class:`rnnkit.train.TrainConfig` fields (``max_time="5m"``,
        ``max_epochs``, ``max_steps``, ``batch_size``, ``lr``, ``seed``, ``devices``, ...);
        ``callbacks``: extra Lightning callbacks, e.g. :class:`rnnkit.diagnostics.GradientMonitor`.
        """
        io.check_resumable(self, out, resume)
        if not {"max_epochs", "max_steps", "max_time"} & set(train_options):
            train_options = {**train_options, "max_epochs": 1}
        cfg = TrainConfig.from_options(**train_options)
        if resume:
            self._check_resume(cfg)
        if val_text is None:
            cut = int(len(train_text) * 0.9)
            train_text, val_text = train_text[:cut], train_text[cut:]
        if not train_text.strip():
            what = f": it has only whitespace ({len(train_text)} characters)" if train_text else ""
            raise ValueError(f"the training text is empty{what}; expected text to learn from")
        if self.tokenizer is None or not resume:
            self.tokenizer = make_tokenizer(self.level, train_text, **self.tokenizer_options)
        train_ids = self._encode(train_text, "training text")
        val_ids = self._encode(val_text, "validation text", drop_unknown=True) if val_text else None
        if self.model is None or not resume:
            torch.manual_seed(cfg.seed)  # the initial weights follow the seed too
            self.model = LanguageModel(LMConfig(self.tokenizer.vocab_size, **self.model_options))
        self.train_config = cfg
        task = _LMTask(self.model, lm_loss, cfg, stateful=self.stateful)
        train = _stream_batches(train_ids, cfg.batch_size, self.bptt, self.stateful, cfg.seed)
        val = None
        if val_ids is not None and val_ids.numel() > 2:
            val_bs = max(1, min(cfg.batch_size, (val_ids.numel() - 1) // (2 * self.bptt)))
            val = FixedBatches(StreamWindows(batchify(val_ids, val_bs), self.bptt))
        with run_folder(out, "textgen", resume) as out_dir:
            trainer = fit(task, train, val, out_dir, resume=resume, callbacks=callbacks)
            self.metrics = finish(task, trainer, out_dir, restore_best=val is not None)
        if out is not None and trainer.global_rank == 0:
            self.save(out)
        return self

    def _check_resume(self, cfg: TrainConfig) -> None:
        """A stateful run carries one state per stream of the batch from window to window, so
        it continues only with the batch size it was saved with (a new estimator cannot
        resume a saved model: ``io.check_resumable`` says to load it)."""
        saved = self.train_config
        if self.stateful and saved is not None and saved.batch_size != cfg.batch_size:
            raise ValueError(
                f"--resume needs the saved run's --batch-size {saved.batch_size} (the carried "
                f"state has that batch), got {cfg.batch_size}"
            )

    def _known(self, text: str, what: str, drop: bool = False) -> str:
        """``text`` checked against a character model's vocabulary: a character outside it is
        an error that names it, or with ``drop`` left out, with one warning that counts them.
        (A word model reads an unknown word as ``<unk>``; byte-level BPE knows every text.)"""
        if self.level != "char" or not (unknown := self.tokenizer.unknown_chars(text)):
            return text
        if not drop:
            raise ValueError(
                f"the {what} has {len(unknown)} unknown character(s), not in this model's "
                f"training text: {list_chars(unknown)}; leave them out, or train a model on "
                f"text that has them"
            )
        kept = "".join(ch for ch in text if ch in self.tokenizer.stoi)
        warnings.warn(
            f"the {what} has {len(text) - len(kept)} unknown character(s), not in the "
            f"training text ({list_chars(unknown)}); they are left out",
            stacklevel=4,  # the caller of fit()
        )
        return kept

    def _encode(self, text: str, what: str, drop_unknown: bool = False) -> torch.Tensor:
        text = self._known(text, what, drop=drop_unknown)
        ids = torch.tensor(self.tokenizer.encode(text), dtype=torch.long)
        if self.reverse:
            ids = ids.flip(0)  # a backward model reads the token stream from its end
        if ids.numel() < 2:
            raise ValueError(f"the {what} is too short: {ids.numel()} tokens")
        return ids

    # ------------------------------------------------------------------ evaluation
    @torch.no_grad()
    def evaluate(
        self, text: str, mode: str = "stream", window: int = 64, batch_size: int = 64
    ) -> dict[str, float]:
        """Cross-entropy (nats/token), perplexity and bits per character on ``text``.

        ``mode="stream"``: one pass through the whole text with the state carried (the
        RNN's natural measure). ``mode="windows"``: non-overlapping ``window``-token
        pieces, each from a zero state (what a fixed-context model sees).
        """
        if mode not in ("stream", "windows"):
            raise ValueError(f"mode must be 'stream' or 'windows', got {mode!r}")
        for name, value in (("window", window), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        model = self._ready()
        ids = self._encode(text, "evaluation text")
        total, count = 0.0, 0
        if mode == "stream":
            state = None
            for x, y in StreamWindows(ids.view(1, -1), 256):
                logits, state = model(x, state)
                loss, n = lm_loss(logits, y)
                total, count = total + float(loss) * n, count + n
        else:
            xs, ys = chunk_windows(ids, window)
            for i in range(0, xs.shape[0], batch_size):
                logits, _ = model(xs[i : i + batch_size])
                loss, n = lm_loss(logits, ys[i : i + batch_size])
                total, count = total + float(loss) * n, count + n
        loss = total / count
        chars = len(text) * count / ids.numel()  # characters whose tokens were predicted
        return {"loss": loss, "perplexity": math.exp(min(loss, 700)), "tokens": count,
                "bits_per_char": total / math.log(2) / chars}  # fmt: skip

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        prompt: str = "",
        max_new_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> str:
        """The prompt followed by ``max_new_tokens`` sampled tokens (reproducible with
        ``seed``); for a ``reverse`` model, the sampled tokens followed by the prompt."""
        if self.reverse:
            produced = list(self._sample(prompt, max_new_tokens, temperature, top_k, top_p, seed))
            text = self._decode(produced[::-1])
            joined = self.level != "word" or not text or not prompt or text.endswith("\n")
            return text + ("" if joined else " ") + prompt
        pieces = self.stream(prompt, max_new_tokens, temperature, top_k, top_p, seed)
        return prompt + "".join(pieces)

    def stream(
        self,
        prompt: str = "",
        max_new_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> Iterator[str]:
        """Yield generated text piece by piece. The prompt is read once; each new token is
        one ``step()`` of the network with the carried state.

        The options and the prompt are checked on the call, before any piece is made. The
        pieces joined are the text of all the sampled tokens (a BPE token that ends inside a
        character waits for the rest of its bytes), after a space where a word-level prompt
        ends in a word: ``prompt + "".join(pieces)`` is what :meth:`generate` returns."""
        if self.reverse:
            raise ValueError(
                "this is a reverse (backward) language model: it writes the text before the "
                "prompt, which cannot be streamed left to right; call generate()"
            )
        tokens = self._sample(prompt, max_new_tokens, temperature, top_k, top_p, seed)
        space = self.level == "word" and prompt != "" and not prompt[-1].isspace()
        return self._pieces(tokens, " " if space else "")

    def _pieces(self, tokens: Iterator[int], separator: str) -> Iterator[str]:
        """The text of ``tokens`` as it comes, ``separator`` before the first piece unless it
        starts a new line."""
        for piece in self._decoded(tokens):
            yield piece if not separator or piece.startswith("\n") else separator + piece
            separator = ""

    def _decoded(self, tokens: Iterator[int]) -> Iterator[str]:
        if self.level == "bpe":  # bytes, decoded incrementally: a split character waits
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            for token in tokens:
                if piece := decoder.decode(self.tokenizer.token_bytes(token)):
                    yield piece
            if rest := decoder.decode(b"", final=True):  # a character never completed
                yield rest
            return
        produced: list[int] = []
        emitted = ""
        for token in tokens:  # a char or word text only ever grows at its end
            produced.append(token)
            text = self._decode(produced)
            if len(text) > len(emitted):
                yield text[len(emitted) :]
                emitted = text

    def _sample(self, prompt: str, max_new_tokens: int, temperature: float, top_k: int | None,
                top_p: float | None, seed: int | None) -> Iterator[int]:  # fmt: skip
        """Token ids sampled one ``step()`` at a time after reading the prompt once (a
        reverse model reads the prompt backwards and samples the tokens before it). The
        options, the model and the prompt are checked now, before the first token."""
        if (isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral)
                or max_new_tokens < 0):  # fmt: skip
            raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
        check_options(temperature=temperature, top_k=top_k, top_p=top_p)
        model = self._ready()
        ids = self.tokenizer.encode(self._known(prompt, "prompt")) if prompt else []
        if self.level == "word" and ids and prompt and not prompt.endswith("\n"):
            ids = ids[:-1]  # the word tokenizer ends every line with <eos>: not yet
        if self.reverse:
            ids = ids[::-1]
        if not ids:
            ids = [self._start_id()]
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        options = {"temperature": temperature, "top_k": top_k, "top_p": top_p, "generator": gen}
        return self._draw(model, ids, max_new_tokens, options)

    @torch.no_grad()
    def _draw(self, model: LanguageModel, ids: list[int], max_new_tokens: int,
              options: dict[str, Any]) -> Iterator[int]:  # fmt: skip
        logits, state = model(torch.tensor([ids]))
        logits = logits[:, -1]
        for _ in range(max_new_tokens):
            token = sample_next(logits, **options)
            yield int(token)
            logits, state = model.step(token, state)

    def _decode(self, ids: list[int]) -> str:
        text = self.tokenizer.decode(ids)
        return text.replace(" \n", "\n") if self.level == "word" else text

    def _start_id(self) -> int:
        """What an empty prompt starts from: a line's end, after which a text's lines begin
        (``<eos>`` for words; ``"\\n"`` for characters when the text had one, and for BPE,
        whose byte alphabet always has it)."""
        if self.level == "word":
            return self.tokenizer.eos_id
        if self.level == "char" and "\n" not in self.tokenizer.stoi:
            return 0
        return self.tokenizer.encode("\n")[-1]

    def _ready(self) -> LanguageModel:
        if self.model is None:
            raise ValueError("this TextGenerator is not trained yet: call fit() or load()")
        self.model.eval()
        return self.model

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model directory (config.json, model.safetensors, metrics.json)."""
        model = self._ready()
        config = {
            "level": self.level, "bptt": self.bptt, "stateful": self.stateful,
            "reverse": self.reverse, "tokenizer_options": self.tokenizer_options,
            "model": model.config.to_dict(), "tokenizer": self.tokenizer.to_dict(),
            "train": self.train_config.to_dict() if self.train_config else None,
        }  # fmt: skip
        metrics = {k: v for k, v in self.metrics.items() if k != "history"}
        return io.save_model_dir(path, task=TASK, config=config, model=model, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path) -> TextGenerator:
        """Load a model directory written by :meth:`save` (no pickle is ever read). Its
        ``config.json`` is checked first: a missing or mistyped field, or a tokenizer that does
        not fit the model, is a ``ValueError`` that names it."""
        config = io.read_config(path, task=TASK)
        try:
            model_cfg, tokenizer, train_config = _read_config(config)
        except ValueError as e:
            raise ValueError(f"{Path(path) / io.CONFIG_FILE}: {e}; restore the file or "
                             "train the model again") from None  # fmt: skip
        options = {k: v for k, v in dataclasses.asdict(model_cfg).items() if k != "vocab_size"}
        self = cls.__new__(cls)
        self.level, self.bptt, self.stateful = config["level"], config["bptt"], config["stateful"]
        self.reverse = config.get("reverse", False)
        self.tokenizer_options = config.get("tokenizer_options", {})
        self.model_options = options
        self.tokenizer = tokenizer
        self.model = LanguageModel(model_cfg)
        io.load_weights(path, self.model)
        self.model.eval()
        self.metrics = io.read_metrics(path)
        self.train_config = train_config
        return self


# The fields of a textgen config.json (besides io's), their JSON types, and which may be absent.
_FIELDS: dict[str, tuple[type, ...]] = {
    "level": (str,), "bptt": (int,), "stateful": (bool,), "model": (dict,),
    "tokenizer": (dict,), "reverse": (bool,), "tokenizer_options": (dict,),
    "train": (dict, type(None)),
}  # fmt: skip
_OPTIONAL = {"reverse", "tokenizer_options", "train"}  # absent from older model directories


def _read_config(config: dict[str, Any]) -> tuple[LMConfig, Any, TrainConfig | None]:
    """The model options, tokenizer and training options of a textgen ``config.json``,
    checked before anything is built from them."""
    for key, kinds in _FIELDS.items():
        if key not in config:
            if key in _OPTIONAL:
                continue
            raise ValueError(f"it has no {key!r} field")
        value = config[key]
        if not isinstance(value, kinds) or (kinds == (int,) and isinstance(value, bool)):
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise ValueError(f"its {key!r} must be {names}, got {json.dumps(value)[:40]}")
    if config["level"] not in LEVELS:
        raise ValueError(f"its 'level' must be one of {LEVELS}, got {config['level']!r}")
    if config["bptt"] < 1:
        raise ValueError(f"its 'bptt' must be a positive integer, got {config['bptt']}")
    try:
        model_cfg = LMConfig.from_dict(config["model"])
    except ValueError as e:
        raise ValueError(f"its 'model': {e}") from None
    try:
        tokenizer = tokenizer_from_dict(config["tokenizer"])
    except ValueError as e:
        raise ValueError(f"its 'tokenizer': {e}") from None
    if config["tokenizer"]["type"] != config["level"]:
        raise ValueError(f"its 'tokenizer' is of type {config['tokenizer']['type']!r} but its "
                         f"'level' is {config['level']!r}")  # fmt: skip
    if tokenizer.vocab_size != model_cfg.vocab_size:
        raise ValueError(f"its 'tokenizer' has {tokenizer.vocab_size} tokens but its 'model' "
                         f"a vocab_size of {model_cfg.vocab_size}")  # fmt: skip
    try:
        train_config = TrainConfig.from_dict(config.get("train"))
    except KeyError as e:
        raise ValueError(f"its 'train' has no {e} field") from None
    except (ValueError, TypeError) as e:  # TypeError: an unknown key
        raise ValueError(f"its 'train': {e}") from None
    return model_cfg, tokenizer, train_config


def _stream_batches(ids: torch.Tensor, batch_size: int, bptt: int, stateful: bool,
                    seed: int) -> Batches:  # fmt: skip
    """Per rank: a contiguous shard, cut into ``batch_size`` streams, walked ``bptt`` at a time."""

    def streams(rank: int, world: int) -> torch.Tensor:
        shard = shard_stream(ids, rank, world) if world > 1 else ids
        if shard.numel() < 2 * batch_size + 1:
            raise ValueError(
                f"the training text has {shard.numel()} tokens per device, too few for "
                f"batch_size {batch_size}; use a smaller --batch-size or more text"
            )
        return batchify(shard, batch_size)

    def make_epoch(epoch: int, rank: int, world: int):
        windows = StreamWindows(streams(rank, world), bptt, random_offset=not stateful,
                                seed=seed)  # fmt: skip
        windows.set_epoch(epoch)
        return windows

    def length(rank: int, world: int) -> int:
        return len(StreamWindows(streams(rank, world), bptt))

    return Batches(make_epoch, length)


__all__ = ["TextGenerator"]
