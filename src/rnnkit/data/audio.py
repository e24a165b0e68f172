"""Audio for speech recognition: read a file into a mono float waveform at the model's rate,
and read labelled speech data sets (a manifest CSV, a folder with a transcript file, or the
registered Free Spoken Digit Dataset).

Reading fails with one clear line naming the file: a file soundfile cannot decode (corrupt,
truncated, not audio), a WAV whose data chunk holds fewer bytes than its header declares, an
empty one (no samples), a silent one (peak below -80 dBFS once its mean is removed) and one
shorter than a 25 ms analysis window (a header with next to no data) are each a
``ValueError``. Several channels are averaged to one, with a warning that says so (and an
error when they cancel out). Integer arrays are PCM, scaled by their full-scale value.
Other sample rates are converted with ``scipy.signal.resample_poly`` (a polyphase FIR with a
Kaiser window: band-limited, no phase shift, and the duration kept to one sample).
"""

from __future__ import annotations

import csv
import io
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
    if path.is_dir():
        raise ValueError(
            f"{path}: a folder, not an audio file; give the audio files in it ({path}/*.wav), "
            "or give the folder to `rnnkit speech eval`/train with a transcripts.tsv inside"
        )
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such audio file")
    _check_wav_complete(path)
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
    if audio.shape[1] > 1 and _ac_peak(mono) < SILENCE_PEAK <= _ac_peak(audio):
        raise ValueError(
            f"{path}: its {audio.shape[1]} channels cancel out when averaged to mono (one is "
            "the other in opposite phase), though a channel holds sound; keep one channel "
            "(e.g. sox IN OUT remix 1)"
        )
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


def _check_wav_complete(path: Path) -> None:
    """``ValueError`` when a RIFF/WAVE file holds fewer data bytes than its ``data`` chunk
    declares (cut off while copying: libsndfile reads what is there without a word). Chunks
    after the data (``LIST``) and the pad byte of an odd-sized chunk are allowed; a size of 0
    or 0xFFFFFFFF (written by a recorder that could not seek back) is not checked."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            return  # not a plain WAV (FLAC, OGG, RF64, ...): soundfile judges it
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            declared = int.from_bytes(chunk[4:], "little")
            if chunk[:4] == b"data":
                present = size - pos - 8
                if declared not in (0, 0xFFFFFFFF) and present < declared:
                    raise ValueError(
                        f"{path}: the WAV file is truncated: its header declares {declared} "
                        f"bytes of audio, only {present} are there; copy or export it again"
                    )
                return
            pos += 8 + declared + (declared & 1)


def to_float_audio(audio: object, name: str = "the audio") -> np.ndarray:
    """``audio`` (an array or CPU tensor) as float32 samples in [-1, 1]: integer PCM (int16
    as ``scipy.io.wavfile.read`` returns it, int32, unsigned 8-bit) is divided by its full
    scale, floats are kept; ``ValueError`` when the samples are not finite."""
    if hasattr(audio, "detach"):  # a torch.Tensor
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio)
    if audio.dtype.kind not in "fiu":
        raise ValueError(
            f"{name}: expected audio samples (float or integer PCM), got {audio.dtype}"
        )
    if audio.dtype.kind == "u":  # unsigned PCM is centred on half its range (8-bit WAV)
        half = (int(np.iinfo(audio.dtype).max) + 1) / 2
        audio = (audio.astype(np.float64) - half) / half
    elif audio.dtype.kind == "i":
        audio = audio / (int(np.iinfo(audio.dtype).max) + 1)
    audio = np.asarray(audio, dtype=np.float32)
    if not np.isfinite(audio).all():
        raise ValueError(f"{name}: the audio holds NaN or infinite samples")
    return audio


def _ac_peak(audio: np.ndarray) -> float:
    """The peak of ``audio`` (along its first axis, per column) after removing its mean: a
    constant offset is not sound."""
    return float(np.abs(audio - audio.mean(axis=0)).max())


def check_audio(audio: np.ndarray, name: str = "the audio") -> np.ndarray:
    """``audio`` as 1-D float32 (integer PCM scaled, see :func:`to_float_audio`), or
    ``ValueError`` when it is empty, not finite or silent (a constant offset is silence)."""
    audio = to_float_audio(audio, name)
    if audio.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D mono waveform, got shape {audio.shape}")
    if audio.size == 0:
        raise ValueError(f"{name}: the audio is empty (0 samples)")
    peak = _ac_peak(audio)
    if peak < SILENCE_PEAK:
        raise ValueError(
            f"{name}: the audio is silent (peak {peak:.2g} after removing its mean, below "
            "-80 dBFS); nothing to recognise"
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
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
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


def read_text(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file (a byte-order mark, as Excel writes, is dropped); a file in
    another encoding is a ``ValueError`` naming it."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path}: not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8"
        ) from None


def read_folder(folder: str | os.PathLike) -> list[Utterance]:
    """A folder of audio files with a transcript file (``transcripts.tsv``/``.txt``): one line
    per recording, ``NAME<TAB>text`` or ``NAME text``. Audio files are searched for in the
    folder and all its sub-folders; NAME is a file's path relative to the folder
    (``ann/take1.wav``) or its bare name, each with or without the suffix. A bare name that
    fits files in several sub-folders is an error (give the path). A ``manifest.csv`` inside
    is read instead when present."""
    folder = Path(folder)
    if (folder / "manifest.csv").is_file():
        return read_manifest(folder / "manifest.csv")
    found = [folder / n for n in TRANSCRIPT_FILES if (folder / n).is_file()]
    if not found:
        raise ValueError(
            f"{folder}: no transcript file; expected one of {', '.join(TRANSCRIPT_FILES)} "
            "(lines 'NAME<TAB>text') or a manifest.csv (path,text)"
        )
    # the names a line may use -> the files they fit: paths first, then bare names
    by_path: dict[str, set[Path]] = {}
    by_name: dict[str, set[Path]] = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() in AUDIO_SUFFIXES:
            rel = p.relative_to(folder).as_posix()
            for keys, names in (
                (by_path, (rel, rel[: -len(p.suffix)])),
                (by_name, (p.name, p.stem)),
            ):
                for key in names:
                    keys.setdefault(key, set()).add(p)
    items = []
    lines = read_text(found[0]).splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, _, text = line.partition("\t") if "\t" in line else line.strip().partition(" ")
        name = name.strip().replace("\\", "/")
        files = sorted(by_path.get(name) or by_name.get(name, ()))
        if not files:
            raise ValueError(f"{found[0]}:{i}: no audio file named {name!r} in {folder}")
        if len(files) > 1:
            paths = ", ".join(f.relative_to(folder).as_posix() for f in files)
            raise ValueError(
                f"{found[0]}:{i}: {name!r} fits {len(files)} files ({paths}); write the path "
                "relative to the folder instead"
            )
        items.append(Utterance(str(files[0]), normalize_text(text)))
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
    "read_text",
    "resample",
    "to_float_audio",
]
