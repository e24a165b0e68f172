"""Speech recognition: recurrent acoustic models trained with CTC, from audio to text.

``SpeechRecognizer`` trains on labelled recordings (a manifest CSV ``path,text``, a folder of
audio files with a transcript file, the registered ``fsdd`` dataset, or a list of
``(path or waveform, text)`` pairs), evaluates WER and CER, transcribes files or arrays, and,
for a streaming model, transcribes live audio chunk by chunk through :meth:`stream`.

Pipeline: waveform (resampled to the model's rate) -> log-mel filterbanks (``torch.stft``,
Slaney mel scale) -> per-utterance normalisation (offline) or the training set's global
statistics (streaming) -> SpecAugment at train time -> :class:`~._acoustic.AcousticModel`
-> CTC; decoding greedy or by prefix beam search with an optional word list and word LM.
"""

from __future__ import annotations

import os
import random
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .. import io
from ..data.audio import (
    Utterance,
    check_audio,
    normalize_text,
    read_audio,
    read_speech_data,
    read_text,
    resample,
)
from ..data.audio import fsdd_split as _fsdd_split
from ..data.connected import ConnectedSpeech
from ..data.features import (
    FeatureConfig,
    LogMel,
    band_statistics,
    normalize_utterance,
    spec_augment,
)
from ._acoustic import AcousticConfig, AcousticModel, ctc_loss
from ._ctc import CTCDecoder, TextGeneratorLM, error_rates
from ._speech_checks import (
    _check_known_chars,
    _check_normalize,
    _check_spec_augment,
    _check_speeds,
    _common_rate,
    _load_lm,
    _save_lm,
    _warn_unknown_chars,
)
from ._speech_stream import SpeechStream

TASK = "speech"
# The divergence guard's validation check rolls back when the validation loss stays this
# fraction above its best for two validations (the engine's default is 0.1). Validation CTC
# loss per label on a few hundred short clips, near 0.05-0.15 late in training, moves by
# 15-70% between healthy validations: at 0.1 the check rolled a 600 s FSDD run back four
# times and stopped it after 232 s. A run that diverges goes back above 1.
CLIMB_TOLERANCE = 0.5
AudioInput = str | os.PathLike | np.ndarray | Tensor
_CONFIG_KEYS = frozenset({
    "features", "model", "vocab", "stats", "spec_augment", "speed_perturb", "decoding", "train",
    "split", "enrolled", "task", "format_version", "rnnkit_version",
})  # fmt: skip


class SpeechRecognizer:
    """Audio in, text out: log-mel features, a conv + GRU/LSTM acoustic model, CTC.

    Args:
        streaming: a unidirectional model with causal convolutions and ``center=False``
            framing, normalised with global statistics, that :meth:`stream` can run live.
        cell, hidden_size, num_layers, dropout: the recurrent stack (rnnkit layers).
        conv_channels, conv_kernel, subsample: the convolutional front end (time stride 1 or 2).
        frontend: ``"conv2d"`` (the default: convolutions over time and frequency,
            DeepSpeech 2's variant, ``conv2d_channels`` maps, stride 2 along the mel axis, so
            a formant pattern is matched wherever a voice puts it; ``conv_channels`` is then
            unused) or ``"conv1d"`` (over time, mel bands as channels; what a saved model
            without a ``frontend`` entry has).
        n_mels: mel bands; sample_rate: the model's rate (``None``: the training data's).
        spec_augment: time and frequency masking at train time: ``True`` (2 masks of up to
            6 bands, 2 of up to 8 frames), ``False``, or a dict of
            :func:`~rnnkit.data.features.spec_augment` arguments (e.g. ``{"freq_width": 10}``).
        dynamic_range_db: floor the log-mel features this many dB under each utterance's
            peak (offline models; ``None``: no floor), so recordings with different
            background noise levels look alike.
        cepstral_smoothing: keep only the first ``K`` coefficients of the DCT of each log-mel
            frame and map them back to the mel bands (``None``: off; 13 is the usual MFCC
            count): the spectral envelope (formants) stays, the ripple of the voice's pitch
            harmonics goes, so the model has less of the training speakers' pitch to lean on.
        speed_perturb: speed factors (e.g. ``(0.9, 1.0, 1.1)``); each epoch every training
            recording is played at one of them, drawn at random (resampling: a factor 1.1
            is 10% shorter and 10% higher in pitch and formants, a cheap stand-in for other
            voices; Ko et al. 2015). Connected strings get a random factor too.
        normalize: how each log-mel band is standardised (offline models): ``"utterance"``
            (the default: by its own mean and deviation) or ``"speaker"`` (by those of all
            the speaker's recordings, Kaldi's per-speaker CMVN; training needs each
            recording's speaker, and a new voice's statistics come from its unlabelled
            recordings: :meth:`evaluate` groups by speaker, :meth:`transcribe` takes
            ``speakers=``; a recording without a speaker is its own group). Streaming
            models always use the training set's global statistics.
        beam, lexicon, lm, lm_weight, word_bonus: decoding defaults (see :meth:`set_decoder`).

    Example::

        rec = rnnkit.SpeechRecognizer()
        rec.fit("fsdd", max_time="5m")
        print(rec.transcribe(["7_jackson_0.wav"]))
    """

    def __init__(self, streaming: bool = False, cell: str = "gru", hidden_size: int = 192,
                 num_layers: int = 2, dropout: float = 0.1, conv_channels: int = 128,
                 conv_kernel: int = 5, subsample: int = 2, frontend: str = "conv2d",
                 conv2d_channels: int = 32, n_mels: int = 40,
                 sample_rate: int | None = None, spec_augment: bool | dict = True,
                 speed_perturb: Sequence[float] | None = None,
                 dynamic_range_db: float | None = None,
                 cepstral_smoothing: int | None = None, normalize: str | None = None,
                 beam: int = 1,
                 lexicon: Iterable[str] | None = None, lm: Any = None, lm_weight: float = 0.5,
                 word_bonus: float = 0.0, impl: str = "auto") -> None:  # fmt: skip
        self.streaming, self.sample_rate, self.n_mels = streaming, sample_rate, n_mels
        self.dynamic_range_db, self.cepstral_smoothing = dynamic_range_db, cepstral_smoothing
        self.normalization = _check_normalize(normalize, streaming)
        FeatureConfig(sample_rate=sample_rate or 16000, n_mels=n_mels, center=not streaming,
                      dynamic_range_db=dynamic_range_db, cepstral_smoothing=cepstral_smoothing,
                      normalize=self.normalization)  # validate now  # fmt: skip
        self.spec_augment = _check_spec_augment(spec_augment)
        self.speed_perturb = _check_speeds(speed_perturb)
        self.model_options = {
            "conv_channels": conv_channels, "conv_kernel": conv_kernel, "subsample": subsample,
            "frontend": frontend, "conv2d_channels": conv2d_channels,
            "cell": cell, "hidden_size": hidden_size, "num_layers": num_layers,
            "bidirectional": not streaming, "dropout": dropout, "impl": impl,
        }  # fmt: skip
        AcousticConfig(n_mels=n_mels, vocab_size=2, **self.model_options)  # validate now
        self.vocab: list[str] = []
        self.stats: tuple[list[float], list[float]] | None = None
        self.model: AcousticModel | None = None
        self.metrics: dict[str, Any] = {}
        self.train_config: dict[str, Any] | None = None  # TrainConfig.to_dict()
        self.split: str | None = None  # the FSDD split trained on ("fsdd" data only)
        self._features: LogMel | None = None
        self.enrolled: dict[str, tuple[Tensor, Tensor]] = {}
        self.set_decoder(beam=beam, lexicon=lexicon, lm=lm, lm_weight=lm_weight,
                         word_bonus=word_bonus)  # fmt: skip

    # ------------------------------------------------------------------ configuration
    @property
    def feature_config(self) -> FeatureConfig:
        if self.sample_rate is None:
            raise ValueError("the sample rate is not known yet: fit() or load() first")
        return FeatureConfig(sample_rate=self.sample_rate, n_mels=self.n_mels,
                             center=not self.streaming,
                             normalize=self.normalization,
                             dynamic_range_db=self.dynamic_range_db,
                             cepstral_smoothing=self.cepstral_smoothing)  # fmt: skip

    def set_decoder(
        self,
        beam: int = 1,
        lexicon: Iterable[str] | str | None = None,
        lm: Any = None,
        lm_weight: float = 0.5,
        word_bonus: float = 0.0,
    ) -> None:
        """Decoding: ``beam`` 1 is greedy, more is CTC prefix beam search; ``lexicon`` a word
        list (or a file of words); ``lm`` an :class:`~._ctc.NGramLM`, a word-level
        ``TextGenerator``, a text file to build a bigram from, or a textgen model directory;
        fused with ``lm_weight`` and ``word_bonus`` per word."""
        if isinstance(lexicon, (str, os.PathLike)):
            lexicon = read_text(lexicon).split()
        if lexicon is not None:  # words compare with transcripts, which are normalised
            lexicon = sorted({w for w in map(normalize_text, lexicon) if w})
            _warn_unknown_chars(lexicon, self.vocab, "the word list's", "can never be decoded")
        if isinstance(lm, (str, os.PathLike)):
            lm = _load_lm(Path(lm))
        elif lm is not None and hasattr(lm, "tokenizer"):
            lm = TextGeneratorLM(lm)
        self.decoding = {"beam": beam, "lexicon": lexicon, "lm": lm, "lm_weight": lm_weight,
                         "word_bonus": word_bonus}  # fmt: skip

    def decoder(self) -> CTCDecoder:
        d = self.decoding
        return CTCDecoder(self.vocab, beam=d["beam"], lexicon=d["lexicon"], lm=d["lm"],
                          lm_weight=d["lm_weight"], word_bonus=d["word_bonus"])  # fmt: skip

    # ------------------------------------------------------------------ features
    def features(self, audio: np.ndarray, stats: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """Normalised log-mel ``(T, n_mels)`` of a waveform at the model's rate (``stats``: the
        speaker's band statistics for ``normalize="speaker"``; ``None``: the utterance's)."""
        return self.normalize(self._logmel(audio), stats)

    def _logmel(self, audio: np.ndarray) -> Tensor:
        if self._features is None or self._features.config != self.feature_config:
            self._features = LogMel(self.feature_config)
        return self._features(torch.from_numpy(np.asarray(audio, dtype=np.float32)))

    def normalize(self, feats: Tensor, stats: tuple[Tensor, Tensor] | None = None) -> Tensor:
        if self.normalization == "global":
            if self.stats is None:
                raise ValueError("a streaming model needs global statistics: fit() or load() first")
            mean, std = (torch.tensor(s, dtype=feats.dtype) for s in self.stats)
            return (feats - mean) / std
        if stats is None:  # "utterance", or a recording of an unknown speaker
            return normalize_utterance(feats)
        return (feats - stats[0]) / stats[1]

    def _normalize_groups(
        self,
        raw: Sequence[Tensor],
        groups: Sequence[Any] | None,
        known: dict[Any, tuple[Tensor, Tensor]] | None = None,
    ) -> list[Tensor]:
        """``raw`` log-mels normalised; with ``normalize="speaker"``, by the statistics of all
        the recordings of the same group (``""`` or ``None``: a group of its own), or by
        ``known[group]`` where given (enrolled speakers)."""
        if self.normalization != "speaker" or groups is None:
            return [self.normalize(f) for f in raw]
        known = known or {}
        members: dict[Any, list[Tensor]] = {}
        for f, g in zip(raw, groups):
            if g not in ("", None) and g not in known:
                members.setdefault(g, []).append(f)
        stats = {**{g: band_statistics(fs) for g, fs in members.items()}, **known}
        return [self.normalize(f, stats.get(g)) for f, g in zip(raw, groups)]

    def _features_of(
        self,
        inputs: Sequence[Any],
        speakers: Sequence[Any] | None,
        known: dict[Any, tuple[Tensor, Tensor]] | None = None,
    ) -> list[Tensor]:
        """Normalised features of recordings (paths, waveforms or ``Utterance``s), grouped
        by ``speakers`` as :meth:`_normalize_groups` does."""
        return self._normalize_groups(self._logmels(inputs), speakers, known)

    def _logmels(self, inputs: Sequence[Any]) -> list[Tensor]:
        """Un-normalised log-mels of recordings (paths, waveforms or ``Utterance``s)."""
        return [self._logmel(self._load(x)) for x in inputs]

    def enroll(self, speaker: str, recordings: Sequence[AudioInput]) -> None:
        """Remember ``speaker``'s band statistics from some of their recordings (no
        transcripts needed; ``normalize="speaker"`` models). Later calls whose ``speakers=``
        name them use these instead of the statistics of the inputs themselves, so even a
        single new recording is normalised as its voice's; :meth:`save` keeps them. On
        FSDD, statistics from 10 recordings (3-5 s of audio) came within 1.5 points of
        word error of those from 450."""
        if self.normalization != "speaker":
            raise ValueError(
                "enroll() needs a model trained with SpeechRecognizer(normalize='speaker')"
            )
        if not isinstance(speaker, str) or not speaker:
            raise ValueError(f"expected a speaker name (a non-empty string), got {speaker!r}")
        if isinstance(recordings, (str, os.PathLike, np.ndarray)):
            recordings = [recordings]
        if not recordings:
            raise ValueError(f"expected some recordings of {speaker!r} to enroll, got none")
        self.enrolled[speaker] = band_statistics(self._logmels(recordings))

    def _load(self, item: Any, cache: dict | None = None) -> np.ndarray:
        if isinstance(item, Utterance):
            item = item.path
        if isinstance(item, np.ndarray | Tensor):
            return check_audio(item, "the audio array")
        key = os.fspath(item)
        if cache is not None and key in cache:
            return cache[key]
        audio, _ = read_audio(key, self.sample_rate)
        if cache is not None:
            cache[key] = audio
        return audio

    # ------------------------------------------------------------------ training
    def fit(self, data: Any, val: Any = None, out: str | Path | None = None, resume: bool = False,
            split: str | None = None, connected: int = 0, connected_snr: float | None = 30.0,
            callbacks: list | None = None, **train_options: Any) -> SpeechRecognizer:  # fmt: skip
        """Train on ``data`` (validated on ``val``, or a random 10% of ``data``).

        ``data``/``val``: a manifest CSV, a folder with transcripts, ``"fsdd"`` (its
        ``split``'s training part: ``"official"`` or ``"speaker:NAME"``), or a list of
        ``Utterance`` / ``(path or waveform, text)``. ``connected``: add that many
        multi-word strings joined from the training recordings (one speaker each, pauses,
        noise at ``connected_snr`` dB). ``train_options``: :class:`rnnkit.train.TrainConfig`
        fields (``max_time="5m"``, ``max_epochs``, ``batch_size``, ``lr``, ``seed``, ...).
        """
        io.check_resumable(self, out, resume)
        if not {"max_epochs", "max_steps", "max_time"} & set(train_options):
            train_options = {**train_options, "max_epochs": 20}
        train_options.setdefault("warmup_steps", 30)
        if isinstance(connected, bool) or not isinstance(connected, int) or connected < 0:
            raise ValueError(f"expected connected >= 0 strings per epoch, got {connected!r}")
        items = self._items(data, split, part=0)
        fsdd = self._split_of(data, split, resume)
        val_items = self._items(val, None, part=0) if val is not None else None
        if connected and not any(isinstance(u, Utterance) for u in items):
            raise ValueError(
                "connected= joins one speaker's recordings into strings, so it needs recordings "
                "whose speaker is known: give Utterance(path, text, speaker) items instead of "
                "(path, text) pairs, a manifest with a speaker column, or fsdd"
            )
        seed = int(train_options.get("seed", 0))
        if self.sample_rate is None:  # every file's, before the split: not the seed's choice
            self.sample_rate = _common_rate([*items, *(val_items or [])])
        if val_items is None:
            if len(items) < 2:
                raise ValueError(
                    f"expected at least 2 recordings (a random 10% is held out for "
                    f"validation), got {len(items)}; give more, or val= recordings"
                )
            rng = random.Random(seed)
            shuffled = items[:]
            rng.shuffle(shuffled)
            cut = max(1, len(shuffled) // 10)
            val_items, items = shuffled[:cut], shuffled[cut:]
        cache: dict[str, np.ndarray] = {}
        train_pairs = [(self._load(a, cache), t) for a, t in self._pairs(items)]
        logmel = LogMel(self.feature_config)
        strings = None
        if connected:  # fresh strings every epoch, from the training recordings only
            gen = ConnectedSpeech([u for u in items if isinstance(u, Utterance)],
                                  self.sample_rate, snr_db=connected_snr)  # fmt: skip

            def strings(epoch: int) -> list[tuple[Tensor, Tensor]]:
                triples = list(gen.generate_with_speakers(connected, seed=seed * 7919 + epoch,
                                                          cache=cache))  # fmt: skip
                speeds = random.Random(seed * 7919 + epoch).choices(self.speed_perturb or [1.0],
                                                                    k=connected)  # fmt: skip
                raw = [logmel(torch.from_numpy(self._speed(a, f))) for (a, _, _), f in
                       zip(triples, speeds)]  # fmt: skip
                # "speaker": the epoch's strings of one speaker at one speed, together
                groups = [(spk, f) for (_, _, spk), f in zip(triples, speeds)]
                feats = self._normalize_groups(raw, groups)
                return [(x, self._encode(t)) for x, (_, t, _) in zip(feats, triples)]

        # Lightning: imported lazily
        from ..train import FixedBatches, RecurrentTask, TrainConfig, finish, fit, run_folder

        cfg = TrainConfig.from_options(**train_options)
        val_pairs = self._pairs(val_items)
        if not self.vocab or not resume:
            chars = {ch for _, t in train_pairs for ch in t} | ({" "} if connected else set())
            if val is None:  # the held-out part is the same data: its letters are as good
                chars |= {ch for _, t in val_pairs for ch in t}
            self.vocab = ["", *sorted(chars)]
        elif connected and " " not in self.vocab:
            raise ValueError(
                "connected= strings have spaces between words, but this model's alphabet has "
                "no space (it was trained without connected=): resume without connected=, or "
                "train anew"
            )
        what = "resumed model's" if resume and self.model is not None else "training data's"
        _check_known_chars([t for _, t in train_pairs], self.vocab, "training", what)
        _check_known_chars([t for _, t in val_pairs], self.vocab, "validation", what)
        raw = [logmel(torch.from_numpy(a)) for a, _ in train_pairs]
        if self.streaming and (self.stats is None or not resume):
            allf = torch.cat(raw)
            self.stats = (allf.mean(0).tolist(), allf.std(0).clamp_min(1e-3).tolist())
        speakers = _speakers(items, "training" if self.normalization == "speaker" else None)
        labels = [self._encode(t) for _, t in train_pairs]
        train_set: list = list(zip(self._normalize_groups(raw, speakers), labels))
        if self.speed_perturb:  # every recording at every speed; one drawn per epoch
            # a sped-up voice is another voice: with "speaker", its own statistics at that speed
            base = [f for f, _ in train_set]
            by_speed = [
                base if s == 1.0 else self._normalize_groups(
                    [logmel(torch.from_numpy(self._speed(a, s))) for a, _ in train_pairs], speakers)
                for s in self.speed_perturb
            ]  # fmt: skip
            train_set = [[(fs[i], y) for fs in by_speed] for i, y in enumerate(labels)]
        val_feats = self._features_of(
            [a for a, _ in val_pairs],
            _speakers(val_items, "validation" if self.normalization == "speaker" else None),
        )
        val_set = [(f, self._encode(t)) for f, (_, t) in zip(val_feats, val_pairs)]
        if self.model is None or not resume:
            config = AcousticConfig(n_mels=self.n_mels, vocab_size=len(self.vocab),
                                    **self.model_options)  # fmt: skip
            torch.manual_seed(cfg.seed)  # the initial weights follow the seed too
            self.model = AcousticModel(config)
        self.train_config = cfg.to_dict()
        if fsdd is not None or not resume:
            self.split = fsdd
        task = RecurrentTask(self.model, ctc_loss, cfg)
        if task.guard is not None:
            task.guard.climb_tolerance = CLIMB_TOLERANCE
        batches = _training_batches(train_set, cfg.batch_size, cfg.seed, self.spec_augment,
                                    strings, connected)  # fmt: skip
        val_batches = FixedBatches(_collate(val_set[i : i + cfg.batch_size])
                                   for i in range(0, len(val_set), cfg.batch_size))  # fmt: skip
        with run_folder(out, "speech", resume) as out_dir:
            trainer = fit(task, batches, val_batches, out_dir, resume=resume, callbacks=callbacks)
            self.metrics = finish(task, trainer, out_dir)
        self.metrics["train_utterances"] = len(train_set)
        if out is not None and trainer.global_rank == 0:
            self.save(out)
        return self

    def _items(self, data: Any, split: str | None, part: int) -> list:
        if isinstance(data, (str, os.PathLike)):
            items = read_speech_data(data)
            if os.fspath(data) == "fsdd" or split is not None:
                items = fsdd_split(items, split or "official")[part]
            return items
        if split is not None:
            raise ValueError(
                f"split={split!r} splits the fsdd data set (or a manifest of FSDD files), not a "
                "list of recordings: pass data='fsdd', or split the list yourself (fsdd_split)"
            )
        if isinstance(data, np.ndarray | Tensor | Utterance):
            raise ValueError(
                f"expected a list of Utterance or (path or waveform, text) pairs, got one "
                f"{type(data).__name__}"
            )
        items = list(data)
        if not items:
            raise ValueError("expected some recordings, got an empty list")
        return items

    def _split_of(self, data: Any, split: str | None, resume: bool) -> str | None:
        """The FSDD split that ``fit(data, split=split)`` trains on (``None``: other data); a
        resumed run must keep the split it started with, or it trains on its test part."""
        if not isinstance(data, (str, os.PathLike)) or os.fspath(data) != "fsdd":
            return None
        name = split or "official"
        if resume and self.split not in (None, name):
            raise ValueError(
                f"this model was trained on fsdd split {self.split!r}; resuming it with "
                f"split {name!r} would train on the first split's test recordings: resume with "
                f"split={self.split!r} (--split {self.split}), or train anew"
            )
        return name

    @staticmethod
    def _pairs(items: Sequence[Any]) -> list[tuple[Any, str]]:
        out = []
        for it in items:
            if isinstance(it, Utterance):
                out.append((it, it.text))
            elif isinstance(it, (tuple, list)) and len(it) == 2:
                out.append((it[0], normalize_text(it[1])))
            else:
                raise ValueError(
                    f"expected an Utterance or a (path or waveform, text) pair, got {it!r:.80}"
                )
        return out

    def _speed(self, audio: np.ndarray, factor: float) -> np.ndarray:
        """``audio`` played ``factor`` times faster (resampled; pitch moves with it)."""
        if factor == 1.0:
            return audio
        return resample(audio, round(self.sample_rate * factor), self.sample_rate)

    def _encode(self, text: str) -> Tensor:
        index = {ch: i for i, ch in enumerate(self.vocab) if i > 0}
        return torch.tensor([index[ch] for ch in text if ch in index], dtype=torch.long)

    # ------------------------------------------------------------------ inference
    def _ready(self) -> AcousticModel:
        if self.model is None:
            raise ValueError("this SpeechRecognizer is not trained yet: call fit() or load()")
        self.model.eval()
        return self.model

    @torch.no_grad()
    def log_probs(self, inputs: Sequence[AudioInput], batch_size: int = 32,
                  speakers: Sequence[Any] | None = None) -> list[Tensor]:  # fmt: skip
        """Per-frame log-probabilities ``(T', V)`` of each input (paths or waveforms);
        ``speakers``: see :meth:`transcribe`."""
        model = self._ready()
        if speakers is not None:
            if self.normalization != "speaker":
                raise ValueError(
                    "speakers= needs a model trained with SpeechRecognizer(normalize='speaker'); "
                    f"this one normalises each recording by {self.normalization} statistics"
                )
            if len(speakers) != len(inputs):
                raise ValueError(
                    f"expected one speaker per input, got {len(speakers)} for {len(inputs)} inputs"
                )
        if self.normalization == "speaker":
            alone = len(inputs) if speakers is None else sum(1 for g in speakers if g in ("", None))
            if alone:
                warnings.warn(
                    f"{alone} of {len(inputs)} recordings have no speaker, so each is normalised "
                    "by its own statistics, which this normalize='speaker' model never saw in "
                    "training (on FSDD about 5x the error): pass speakers= or enroll() the voice "
                    "first (CLI: predict --same-speaker)",
                    stacklevel=3,
                )
        feats = self._features_of(inputs, speakers, self.enrolled)
        out: list[Tensor] = [torch.empty(0)] * len(feats)
        order = sorted(range(len(feats)), key=lambda i: feats[i].shape[0])
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            (x, lengths), _ = _collate([(feats[i], torch.empty(0, dtype=torch.long)) for i in idx])
            (lp, lens), _ = model((x, lengths))
            for j, i in enumerate(idx):
                out[i] = lp[j, : int(lens[j])]
        return out

    def transcribe(
        self,
        inputs: AudioInput | Sequence[AudioInput],
        batch_size: int = 32,
        speakers: Sequence[Any] | None = None,
        **decoding: Any,
    ) -> list[str]:
        """One transcript per input: paths (any rate; resampled) or waveforms at the model's
        rate. ``decoding`` overrides :meth:`set_decoder`'s options for this call.
        ``speakers`` (``normalize="speaker"`` models): one label per input; the inputs that
        share a label are normalised with their joint statistics (more recordings of a voice
        give steadier ones), or with an :meth:`enroll`-ed speaker's; without it each input is
        its own speaker."""
        if isinstance(inputs, (str, os.PathLike, np.ndarray, Tensor)):
            inputs = [inputs]
        decoder = self._decoder_with(decoding)
        log_probs = self.log_probs(list(inputs), batch_size, speakers)
        return [decoder.decode(lp.numpy()) for lp in log_probs]

    predict = transcribe

    def _decoder_with(self, decoding: dict) -> CTCDecoder:
        if not decoding:
            return self.decoder()
        saved = self.decoding
        try:
            self.set_decoder(**{**saved, **decoding})
            return self.decoder()
        finally:
            self.decoding = saved

    def evaluate(self, data: Any, split: str | None = None, **decoding: Any) -> dict[str, Any]:
        """WER and CER on ``data`` (for ``"fsdd"``: the test part of ``split``, by default the
        split the model was trained on; a split whose test part the model trained on is an
        error)."""
        if isinstance(data, (str, os.PathLike)) and os.fspath(data) == "fsdd":
            split = self._test_split(split)
        items = self._items(data, split, part=1)
        pairs = self._pairs(items)
        speakers = _speakers(items) if self.normalization == "speaker" else None
        refs = [t for _, t in pairs]
        _warn_unknown_chars(refs, self.vocab, "the references'", "count as errors")
        hyps = self.transcribe([a for a, _ in pairs], speakers=speakers, **decoding)
        return {**error_rates(hyps, refs), "utterances": len(refs)}

    def _test_split(self, split: str | None) -> str:
        """The FSDD split to score on: ``split``, by default the one trained on; an error when
        its test part holds recordings of the training part."""
        trained = self.split
        if split is None or trained is None or split == trained:
            return split or trained or "official"
        items = read_speech_data("fsdd")
        seen = {u.path for u in fsdd_split(items, trained)[0]}
        overlap = sum(u.path in seen for u in fsdd_split(items, split)[1])
        if overlap:
            raise ValueError(
                f"this model was trained on fsdd split {trained!r}: {overlap} recordings of the "
                f"test part of {split!r} were its training data; leave the split out (or give "
                f"--split {trained}) to score it on its own test part"
            )
        return split

    def stream(self) -> SpeechStream:
        """A live transcription session (streaming models only): ``feed(chunk)`` returns the
        partial text, ``finish()`` the final one. Chunks are mono float waveforms at the
        model's ``sample_rate``, of any size (100 ms is typical)."""
        model = self._ready()
        if not self.streaming:
            raise ValueError(
                "stream() needs a streaming model: train with SpeechRecognizer(streaming=True) "
                "(a bidirectional model must hear the whole utterance)"
            )
        return SpeechStream(self, model)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the model directory (config.json, model.safetensors, metrics.json)."""
        model = self._ready()
        d = self.decoding
        decoding = {"beam": d["beam"], "lexicon": d["lexicon"], "lm_weight": d["lm_weight"],
                    "word_bonus": d["word_bonus"]}  # fmt: skip
        if d["lm"] is not None:
            decoding["lm"] = _save_lm(d["lm"], Path(path))
        config = {
            "features": self.feature_config.to_dict(), "model": model.config.to_dict(),
            "vocab": self.vocab, "stats": list(self.stats) if self.stats else None,
            "spec_augment": self.spec_augment, "speed_perturb": self.speed_perturb,
            "decoding": decoding, "train": self.train_config, "split": self.split,
            "enrolled": {name: [m.tolist(), s.tolist()] for name, (m, s) in self.enrolled.items()},
        }  # fmt: skip
        metrics = {k: v for k, v in self.metrics.items() if k != "history"}
        return io.save_model_dir(path, task=TASK, config=config, model=model, metrics=metrics)

    @classmethod
    def load(cls, path: str | Path) -> SpeechRecognizer:
        """Load a model directory written by :meth:`save` (no pickle is ever read); a
        ``config.json`` that does not describe a model (entries missing, unknown or not
        matching each other) is a one-line ``ValueError``."""
        config = io.read_config(path, task=TASK)
        with io.damaged_config(path):
            self = cls._from_config(config, Path(path))
        io.load_weights(path, self.model)
        self.model.eval()
        self.metrics = io.read_metrics(path)
        return self

    @classmethod
    def _from_config(cls, config: dict, path: Path) -> SpeechRecognizer:
        """An estimator as the ``config`` of the model folder ``path`` describes it, weights
        not read yet."""
        for where, keys in (("", _CONFIG_KEYS), ("features", FeatureConfig),
                            ("model", AcousticConfig)):  # fmt: skip
            known = {f.name for f in fields(keys)} if where else keys
            unknown = sorted(set(config[where] if where else config) - known)
            if unknown:
                raise ValueError(f"unknown entries {unknown}" + (f" in {where!r}" if where else ""))
        mc = AcousticConfig(**config["model"])
        fc = FeatureConfig(**config["features"])
        if fc.n_mels != mc.n_mels:
            raise ValueError(f"{fc.n_mels} mel bands in 'features' but {mc.n_mels} in 'model'")
        if len(config["vocab"]) != mc.vocab_size:
            raise ValueError(
                f"{len(config['vocab'])} labels in 'vocab' but {mc.vocab_size} in 'model'"
            )
        self = cls.__new__(cls)
        self.streaming, self.sample_rate, self.n_mels = (
            not mc.bidirectional,
            fc.sample_rate,
            fc.n_mels,
        )
        self.dynamic_range_db, self.cepstral_smoothing = fc.dynamic_range_db, fc.cepstral_smoothing
        self.normalization = fc.normalize
        self.spec_augment = config.get("spec_augment", True)
        self.speed_perturb = config.get("speed_perturb")
        self.model_options = {
            k: v for k, v in mc.to_dict().items() if k not in ("n_mels", "vocab_size")
        }
        self.vocab = list(config["vocab"])
        self.stats = tuple(config["stats"]) if config.get("stats") else None
        self.model = AcousticModel(mc)
        self.metrics = {}
        self._features = None
        self.enrolled = {name: (torch.tensor(m), torch.tensor(s))
                         for name, (m, s) in config.get("enrolled", {}).items()}  # fmt: skip
        self.train_config = config.get("train")
        self.split = config.get("split")  # None: saved before it was recorded, or not fsdd
        decoding = dict(config.get("decoding", {}))
        lm = decoding.pop("lm", None)
        if lm is not None and (path / lm).exists():
            decoding["lm"] = path / lm  # a file in the folder, or a textgen model's path
        elif lm is not None:
            warnings.warn(
                f"{path}: the language model saved with it ({lm}) is missing, so it decodes "
                "without one: give it again with set_decoder(lm=...) (CLI: --lm)",
                stacklevel=3,
            )
        self.set_decoder(**decoding)
        return self


def fsdd_split(items: list, split: str = "official") -> tuple[list, list]:
    """``(train, test)`` of FSDD ``items``: ``"official"`` or ``"speaker:NAME"``."""
    return _fsdd_split(items, split)


def _collate(pairs: Sequence[tuple[Tensor, Tensor]]) -> tuple[tuple[Tensor, Tensor], Tensor]:
    """Pad features with zeros and labels with -1: ``((feats, lengths), labels)``."""
    lengths = torch.tensor([f.shape[0] for f, _ in pairs])
    feats = torch.nn.utils.rnn.pad_sequence([f for f, _ in pairs], batch_first=True)
    S = max(1, max(int(y.numel()) for _, y in pairs))
    labels = torch.full((len(pairs), S), -1, dtype=torch.long)
    for i, (_, y) in enumerate(pairs):
        labels[i, : y.numel()] = y
    return (feats, lengths), labels


def _training_batches(data: list, batch_size: int, seed: int, augment: bool | dict,
                      extra: Any = None, n_extra: int = 0) -> Any:  # fmt: skip
    """Shuffled each epoch; batches of similar lengths (sorted within pools of 50 batches);
    an item of ``data`` that is a list holds variants (speeds), one drawn per epoch;
    ``extra(epoch)`` adds ``n_extra`` fresh examples (connected strings) to each epoch."""
    from ..train import Batches

    def make_epoch(epoch: int, rank: int, world: int):
        rng = random.Random(seed * 1000 + epoch)
        examples = [rng.choice(ex) if isinstance(ex, list) else ex for ex in data]
        examples += extra(epoch) if extra is not None else []
        idx = list(range(rank, len(examples), world))
        rng.shuffle(idx)
        pool = 50 * batch_size
        batches = []
        for p in range(0, len(idx), pool):
            chunk = sorted(idx[p : p + pool], key=lambda i: examples[i][0].shape[0])
            batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        gen = torch.Generator().manual_seed(seed * 1000 + epoch)
        for b in batches:
            (x, lengths), y = _collate([examples[i] for i in b])
            if augment:
                x = spec_augment(x, lengths, gen, **(augment if isinstance(augment, dict) else {}))
            yield (x, lengths), y

    def length(rank: int, world: int) -> int:
        n = len(range(rank, len(data) + n_extra, world))
        pool = 50 * batch_size
        return sum(-(-min(pool, n - p) // batch_size) for p in range(0, n, pool))

    return Batches(make_epoch, length)


def _speakers(items: Sequence[Any], required_for: str | None = None) -> list[str] | None:
    """Each item's speaker (``""`` where unknown); ``None`` when no item names one.
    ``required_for`` (``"training"``, ``"validation"``): every item must name one, for a
    per-speaker model; the error names what for."""
    names = [it.speaker if isinstance(it, Utterance) else "" for it in items]
    if required_for is not None and not all(names):
        n = sum(1 for s in names if not s)
        raise ValueError(
            f"normalize='speaker' needs the speaker of every {required_for} recording; {n} of "
            f"{len(names)} have none (give Utterance(path, text, speaker) or a manifest with a "
            "speaker column)"
        )
    return names if any(names) else None


__all__ = ["SpeechRecognizer", "SpeechStream", "fsdd_split"]
