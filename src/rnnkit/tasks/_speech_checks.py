"""The speech task's checks and file helpers: what ``SpeechRecognizer`` accepts (options,
alphabets, sample rates) and how it keeps a decoding language model with a saved model."""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..data.audio import Utterance, normalize_text, read_audio, read_text
from ._ctc import NGramLM, TextGeneratorLM

LM_FILE = "lm.txt"  # a decoding LM's text, copied into the model folder


def _load_lm(path: Path) -> Any:
    """The LM in ``path`` (a text file: a bigram of its lines; a textgen model folder), which
    remembers its ``source`` so that :meth:`SpeechRecognizer.save` can keep it."""
    if path.is_dir():
        from .textgen import TextGenerator

        lm = TextGeneratorLM(TextGenerator.load(path))
    elif path.is_file():
        lines = read_text(path).splitlines()
        lm = NGramLM(order=2).fit(normalize_text(line) for line in lines)
    else:
        raise ValueError(f"{path}: no such language model; expected a text file or a textgen model")
    lm.source = path.resolve()
    return lm


def _save_lm(lm: Any, folder: Path) -> str | None:
    """What the saved config names ``lm`` by: a text file's copy in ``folder`` (it is rebuilt
    from it), a textgen model's absolute path; ``None``, with a warning, for an LM object that
    came from no file."""
    source = getattr(lm, "source", None)
    if source is None:
        warnings.warn(
            f"the decoder's language model ({type(lm).__name__}) is not saved with the model: "
            "only one read from a text file or a textgen model folder is; give it again with "
            "set_decoder(lm=...) after loading",
            stacklevel=3,
        )
        return None
    if source.is_dir():
        return str(source)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / LM_FILE).exists() or not (folder / LM_FILE).samefile(source):
        shutil.copyfile(source, folder / LM_FILE)
    return LM_FILE


def _common_rate(items: Sequence[Any]) -> int:
    """The model rate for training files at these rates: the highest. Resampling a file up
    loses nothing; down would drop the top band of the others, and which file came first
    must not decide (it moved with the seed). Mixed rates are warned about, once."""
    import soundfile as sf

    rates = set()
    for it in items:
        path = it.path if isinstance(it, Utterance) else it[0]
        if isinstance(path, (str, os.PathLike)):
            try:
                rates.add(int(sf.info(os.fspath(path)).samplerate))
            except (RuntimeError, sf.LibsndfileError):
                rates.add(read_audio(path)[1])  # raises the clear error that names the file
    if not rates:
        raise ValueError("cannot tell the sample rate from the data: pass sample_rate=")
    if len(rates) > 1:
        warnings.warn(
            f"the training files have different sample rates ({', '.join(map(str, sorted(rates)))}"
            f" Hz); the model uses the highest, {max(rates)} Hz, and resamples the others up: "
            "pass sample_rate= (--sample-rate) to choose another",
            stacklevel=3,
        )
    return max(rates)


def _unknown_chars(texts: Iterable[str], vocab: Sequence[str]) -> str:
    """The characters of ``texts`` that are not labels of ``vocab``, sorted and quoted."""
    missing = {ch for t in texts for ch in t} - set(vocab[1:])
    return ", ".join(repr(ch) for ch in sorted(missing))


def _check_known_chars(texts: Iterable[str], vocab: Sequence[str], what: str,
                       whose: str) -> None:  # fmt: skip
    """Training labels may use only the alphabet's characters (the others would vanish
    from them without a word)."""
    missing = _unknown_chars(texts, vocab)
    if missing:
        raise ValueError(
            f"the {what} transcripts use characters that are not in the {whose} alphabet "
            f"({missing}): remove them from the transcripts, or train a new model on data "
            "that has them"
        )


def _warn_unknown_chars(texts: Iterable[str], vocab: Sequence[str], whose: str,
                        effect: str) -> None:  # fmt: skip
    missing = _unknown_chars(texts, vocab) if vocab else ""
    if missing:
        warnings.warn(
            f"{whose} characters {missing} are not in the model's alphabet: words with them "
            f"{effect}",
            stacklevel=3,
        )


_SPEC_AUGMENT_ARGS = ("freq_masks", "freq_width", "time_masks", "time_width", "max_time_fraction")


def _check_normalize(value: str | None, streaming: bool) -> str:
    if value is None:
        return "global" if streaming else "utterance"
    if streaming and value != "global":
        raise ValueError(
            f"a streaming model normalises with the training set's global statistics, got "
            f"normalize={value!r}: leave it out (or pass 'global')"
        )
    if not streaming and value not in ("utterance", "speaker"):
        raise ValueError(f"expected normalize='utterance' or 'speaker', got {value!r}")
    return value


def _check_spec_augment(value: Any) -> bool | dict:
    if isinstance(value, bool):
        return value
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(_SPEC_AUGMENT_ARGS))
        if unknown:
            raise ValueError(
                f"unknown spec_augment settings {unknown}; "
                f"expected some of {list(_SPEC_AUGMENT_ARGS)}"
            )
        for name, v in value.items():
            fraction = name == "max_time_fraction"
            ok = (isinstance(v, (int, float)) and 0 <= v <= 1) if fraction else (
                isinstance(v, int) and not isinstance(v, bool) and v >= 0)  # fmt: skip
            if not ok:
                want = "a fraction in [0, 1]" if fraction else "a whole number >= 0"
                raise ValueError(f"spec_augment {name!r} must be {want}, got {v!r}")
        return dict(value)
    raise ValueError(f"spec_augment must be True, False or a dict of settings, got {value!r}")


def _check_speeds(speeds: Sequence[float] | None) -> list[float] | None:
    if speeds is None or len(speeds) == 0:
        return None
    out = [float(s) for s in speeds]
    if not all(0.5 <= s <= 2.0 for s in out):
        raise ValueError(f"speed_perturb factors must lie in [0.5, 2], got {out}")
    return out
