"""Audio for speech recognition: read a file into a mono float waveform at the model's rate,
and read labelled speech data sets (a manifest CSV, a folder with a transcript file, or the
registered Free Spoken Digit Dataset).

Reading fails with one clear line naming the file: a file soundfile cannot decode (corrupt,
truncated, not audio), an empty one (no samples), a silent one (peak below -80 dBFS) and one
shorter than a 25 ms analysis window (a header with next to no data) are each a
``ValueError``. Several channels are averaged to one, with a warning that says so.
Other sample rates are converted with ``scipy.signal.resample_poly`` (a polyphase FIR with a
Kaiser window: band-limited, no phase shift, and the duration kept to one sample).
"""

from __future__ import annotations

import csv
import math
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .registry import DataNotFoundError, data_dir, dataset_path, get_dataset

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
SILENCE_PEAK = 1e-4  # -80 dBFS: below this a recording carries no speech
MIN_SECONDS = 0.025  # one analysis window of the features (FeatureConfig.win_ms)
TRANSCRIPT_FILES = ("transcripts.tsv", "transcripts.txt", "transcript.txt", "text.tsv")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
_FSDD_NAME = re.compile(r"(\d)_([a-z]+)_(\d+)\.wav")


@dataclass(frozen=True)
class Utterance:
    """One labelled recording: where it is, what is said, and who says it (if known)."""

    path: str
    text: str
    speaker: str = ""


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """``audio`` at ``orig_rate`` Hz -> ``target_rate`` Hz (polyphase; the length becomes
    ``ceil(len * target / orig)``, so the duration is kept to within one sample)."""
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"expected positive sample rates, got {orig_rate} and {target_rate}")
    if orig_rate == target_rate:
        return audio
    from scipy.signal import resample_poly

    g = math.gcd(int(orig_rate), int(target_rate))
    up, down = int(target_rate) // g, int(orig_rate) // g
    return resample_poly(audio, up, down).astype(np.float32, copy=False)


def read_audio(path: str | os.PathLike, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """A mono float32 waveform in [-1, 1] and its rate (``sample_rate`` when given).

    WAV, FLAC and OGG (and whatever else libsndfile reads). Raises ``ValueError`` naming the
    file when it cannot be decoded, has no samples, is silent, or is shorter than one
    25 ms analysis window (a truncated file, most likely).
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such audio file")
    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError) as e:
        raise ValueError(
            f"{path}: not a readable audio file ({e}); expected WAV, FLAC or OGG — the file "
            "may be corrupt or truncated"
        ) from e
    if audio.shape[0] == 0:
        raise ValueError(f"{path}: the audio file is empty (0 samples); remove it from the data")
    if audio.shape[1] > 1:
        warnings.warn(
            f"{path}: {audio.shape[1]} channels mixed down to mono (their average)", stacklevel=2
        )
    mono = audio.mean(axis=1).astype(np.float32, copy=False)
    check_audio(mono, str(path))
    if mono.size < MIN_SECONDS * rate:
        raise ValueError(
            f"{path}: {mono.size} samples ({1000 * mono.size / rate:.1f} ms at {rate} Hz), "
            f"shorter than one {1000 * MIN_SECONDS:.0f} ms analysis window; the file may be "
            "truncated"
        )
    if sample_rate is not None and sample_rate != rate:
        mono, rate = resample(mono, rate, sample_rate), sample_rate
    return np.ascontiguousarray(mono), int(rate)


def check_audio(audio: np.ndarray, name: str = "the audio") -> np.ndarray:
    """``audio`` as 1-D float32, or ``ValueError`` when it is empty, not finite or silent."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D mono waveform, got shape {audio.shape}")
    if audio.size == 0:
        raise ValueError(f"{name}: the audio is empty (0 samples)")
    if not np.isfinite(audio).all():
        raise ValueError(f"{name}: the audio holds NaN or infinite samples")
    peak = float(np.abs(audio).max())
    if peak < SILENCE_PEAK:
        raise ValueError(
            f"{name}: the audio is silent (peak {peak:.2g}, below -80 dBFS); nothing to recognise"
        )
    return audio


def normalize_text(text: str) -> str:
    """Lower case, one space between words (transcripts compare word by word)."""
    return " ".join(str(text).lower().split())


# ---------------------------------------------------------------------- data sets
def read_manifest(path: str | os.PathLike) -> list[Utterance]:
    """A CSV with a header holding ``path`` and ``text`` (and optionally ``speaker``);
    relative paths are relative to the CSV's folder."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or [])
        if not {"path", "text"} <= fields:
            raise ValueError(
                f"{path}: expected a CSV header with columns path,text (optionally speaker), "
                f"got {sorted(fields)}"
            )
        rows = list(reader)
    items = []
    for i, row in enumerate(rows, start=2):
        if not row["path"] or row["text"] is None:
            raise ValueError(f"{path}:{i}: expected a path and a text, got {row}")
        audio = Path(row["path"])
        audio = audio if audio.is_absolute() else path.parent / audio
        items.append(Utterance(str(audio), normalize_text(row["text"]), row.get("speaker") or ""))
    if not items:
        raise ValueError(f"{path}: the manifest lists no recordings")
    return items


def read_folder(folder: str | os.PathLike) -> list[Utterance]:
    """A folder of audio files with a transcript file (``transcripts.tsv``/``.txt``): one line
    per recording, ``NAME<TAB>text`` or ``NAME text``, NAME being the file's name with or
    without its suffix. A ``manifest.csv`` inside is read instead when present."""
    folder = Path(folder)
    if (folder / "manifest.csv").is_file():
        return read_manifest(folder / "manifest.csv")
    found = [folder / n for n in TRANSCRIPT_FILES if (folder / n).is_file()]
    if not found:
        raise ValueError(
            f"{folder}: no transcript file; expected one of {', '.join(TRANSCRIPT_FILES)} "
            "(lines 'NAME<TAB>text') or a manifest.csv (path,text)"
        )
    audio = {p.name: p for p in sorted(folder.rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES}
    audio.update({p.stem: p for p in audio.copy().values()})
    items = []
    lines = found[0].read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, _, text = line.partition("\t") if "\t" in line else line.strip().partition(" ")
        if name.strip() not in audio:
            raise ValueError(f"{found[0]}:{i}: no audio file named {name.strip()!r} in {folder}")
        items.append(Utterance(str(audio[name.strip()]), normalize_text(text)))
    if not items:
        raise ValueError(f"{found[0]}: the transcript file is empty")
    return items


def fsdd_utterances() -> list[Utterance]:
    """All 3,000 FSDD recordings (the registered ``fsdd`` dataset), transcripts being the
    digit words; found in ``RNNKIT_DATA_DIR`` or downloaded and verified."""
    dataset = get_dataset("fsdd")
    mirror = data_dir()
    items = []
    for f in dataset.files:
        m = _FSDD_NAME.fullmatch(Path(f.path).name)
        assert m, f.path
        path = mirror / f.path if mirror is not None else None
        if path is None or not path.is_file():
            path = dataset_path("fsdd", f.path)
        items.append(Utterance(str(path), DIGIT_WORDS[int(m.group(1))], m.group(2)))
    return items


def fsdd_index(item: Utterance) -> int:
    """The recording index of an FSDD file (0-4: the official test set)."""
    m = _FSDD_NAME.fullmatch(Path(item.path).name)
    if not m:
        raise ValueError(
            f"{item.path}: not an FSDD file name ({{digit}}_{{speaker}}_{{index}}.wav)"
        )
    return int(m.group(3))


def fsdd_split(items: list[Utterance], split: str = "official") -> tuple[list, list]:
    """``(train, test)``: ``"official"`` (indices 0-4 are the test set) or ``"speaker:NAME"``
    (NAME's recordings are the test set, the other speakers' the training set)."""
    check_fsdd_split(split, {u.speaker for u in items})
    if split == "official":
        test = [u for u in items if fsdd_index(u) < 5]
        train = [u for u in items if fsdd_index(u) >= 5]
    else:
        name = split.partition(":")[2]
        test = [u for u in items if u.speaker == name]
        train = [u for u in items if u.speaker != name]
    return train, test


def check_fsdd_split(split: str, speakers: Iterable[str | None] = FSDD_SPEAKERS) -> None:
    """Raise a clear ValueError unless ``split`` is ``"official"`` or ``"speaker:NAME"`` with
    NAME one of ``speakers``; the CLI calls it before it fetches any data."""
    if split == "official":
        return
    if not split.startswith("speaker:"):
        raise ValueError(f"expected split 'official' or 'speaker:NAME', got {split!r}")
    name = split.partition(":")[2]
    if name not in set(speakers):
        known = sorted(s for s in set(speakers) if s)
        raise ValueError(
            f"expected --split speaker:NAME with NAME one of {', '.join(known)}, got {name!r}"
        )


def read_speech_data(source: str | os.PathLike) -> list[Utterance]:
    """Labelled recordings from a manifest CSV, a folder with a transcript file, or ``fsdd``."""
    path = Path(source).expanduser()
    if path.is_file():
        return read_manifest(path)
    if path.is_dir():
        return read_folder(path)
    if os.fspath(source) == "fsdd":
        return fsdd_utterances()
    raise DataNotFoundError(
        f"{source}: not found; expected a manifest CSV (path,text), a folder of audio files with "
        "a transcripts.tsv, or the dataset name fsdd"
    )


__all__ = [
    "DIGIT_WORDS",
    "FSDD_SPEAKERS",
    "Utterance",
    "check_audio",
    "check_fsdd_split",
    "fsdd_split",
    "fsdd_utterances",
    "normalize_text",
    "read_audio",
    "read_folder",
    "read_manifest",
    "read_speech_data",
    "resample",
]
