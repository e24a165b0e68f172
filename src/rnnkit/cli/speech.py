"""``rnnkit speech train | eval | predict | enroll | stream``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from . import _common as C

app = typer.Typer(help="Speech recognition: recurrent acoustic models with CTC.",
                  no_args_is_help=True)  # fmt: skip

DATA = typer.Argument(
    ..., help="A manifest CSV (path,text), a folder with transcripts.tsv, or fsdd."
)
SPLIT = typer.Option(None, "--split", help="fsdd: official (default) or speaker:NAME.")
BEAM = typer.Option(1, "--beam", help="1: greedy; more: CTC prefix beam search width.")
LEXICON = typer.Option(None, "--lexicon", help="A file of allowed words (beam search).")
LM = typer.Option(None, "--lm", help="A text file (bigram LM) or a word-level textgen model.")
LM_WEIGHT = typer.Option(0.5, "--lm-weight", help="Weight of the language model.")
WORD_BONUS = typer.Option(0.0, "--word-bonus", help="Score added per decoded word.")


def _decoding(beam: int, lexicon: Path | None, lm: Path | None, lm_weight: float,
              word_bonus: float) -> dict:  # fmt: skip
    out: dict = {"beam": beam, "lm_weight": lm_weight, "word_bonus": word_bonus}
    if lexicon is not None:
        out["lexicon"] = lexicon
    if lm is not None:
        out["lm"] = lm
    return out


def _check_split(data: str, split: str | None) -> None:
    """A wrong ``--split`` for fsdd is an error before its files are read or downloaded."""
    if data == "fsdd" and split is not None:
        from ..data.audio import check_fsdd_split

        check_fsdd_split(split)


def _needs_speaker_model(rec: Any, option: str) -> None:
    """``option`` (``--same-speaker``, ``--speaker``, ``enroll``) works with a model trained
    with ``--normalize speaker`` only: say so in the command line's words."""
    if rec.normalization != "speaker":
        raise ValueError(
            f"{option} needs a model trained with --normalize speaker; this one normalises "
            f"each recording by {rec.normalization} statistics: leave {option} out"
        )


@app.command()
@C.train_options(lr=3e-3, lr_help="Peak learning rate.")
def train(
    data: str = DATA,
    out: Path = C.OUT,
    split: str = SPLIT,
    streaming: bool = typer.Option(False, help="Unidirectional model for live transcription."),
    cell: str = typer.Option("gru", help="gru or lstm."),
    hidden_size: int = typer.Option(192, help="Hidden units per direction and layer."),
    num_layers: int = typer.Option(2, help="Stacked recurrent layers."),
    conv_channels: int = typer.Option(128, help="Channels of the conv1d front end."),
    subsample: int = typer.Option(2, help="Time stride of the front end (1 or 2)."),
    frontend: str = typer.Option(
        "conv2d", help="conv2d (over time and frequency, DeepSpeech 2) or conv1d (over time)."
    ),
    conv2d_channels: int = typer.Option(32, help="Maps of the conv2d front end."),
    dropout: float = typer.Option(0.1, help="Dropout."),
    n_mels: int = typer.Option(40, help="Mel bands."),
    sample_rate: int = typer.Option(None, help="Model rate in Hz (default: the data's)."),
    spec_augment: bool = typer.Option(True, help="SpecAugment masking while training."),
    speed_perturb: str = typer.Option(
        None, help="Speed factors to train at, e.g. 0.9,1.0,1.1 (one drawn per recording/epoch)."
    ),
    dynamic_range_db: float = typer.Option(
        None, help="Floor log-mel features this many dB under each utterance's peak (offline)."
    ),
    cepstral_smoothing: int = typer.Option(
        None, help="Keep this many cepstral coefficients of the log-mel (13: MFCC-like envelope)."
    ),
    normalize: str = typer.Option(
        None,
        help="Offline models: utterance (default) or speaker (per-speaker band statistics; "
        "needs a speaker column, or fsdd).",
    ),
    connected: int = typer.Option(0, help="Add this many multi-word strings joined from the data."),
    run: C.Run = None,
) -> None:
    """Train a recogniser on DATA (its training part for fsdd) and write it to --out."""
    _check_split(data, split)  # wrong options fail before fsdd is fetched
    from ..tasks.speech import SpeechRecognizer

    if run.continues(out):
        rec = SpeechRecognizer.load(out)
    else:
        rec = SpeechRecognizer(streaming=streaming, cell=cell, hidden_size=hidden_size,
                               num_layers=num_layers, conv_channels=conv_channels,
                               subsample=subsample, frontend=frontend,
                               conv2d_channels=conv2d_channels, dropout=dropout, n_mels=n_mels,
                               sample_rate=sample_rate, spec_augment=spec_augment,
                               speed_perturb=C.number_list(speed_perturb, "--speed-perturb", float,
                                                           "0.9,1.0,1.1"),
                               dynamic_range_db=dynamic_range_db,
                               cepstral_smoothing=cepstral_smoothing,
                               normalize=normalize)  # fmt: skip
    rec.fit(
        data,
        split=split,
        out=out,
        resume=run.resume,
        connected=connected,
        callbacks=run.callbacks,
        **run.options,
    )
    if not run.main:
        return
    best = rec.metrics.get("best_val_loss")
    if best is not None:
        typer.echo(f"best validation CTC loss {best:.4f} per label")
    typer.echo(f"model written to {out}; transcribe with: rnnkit speech predict {out} FILE...")


@app.command("eval")
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    data: str = DATA,
    split: str = SPLIT,
    beam: int = BEAM,
    lexicon: Path = LEXICON,
    lm: Path = LM,
    lm_weight: float = LM_WEIGHT,
    word_bonus: float = WORD_BONUS,
) -> None:
    """Word and character error rates of MODEL_DIR on DATA (for fsdd: the test part of the
    split the model was trained on, unless --split names another)."""
    _check_split(data, split)
    from ..tasks.speech import SpeechRecognizer

    rec = SpeechRecognizer.load(model_dir)
    m = rec.evaluate(data, split=split, **_decoding(beam, lexicon, lm, lm_weight, word_bonus))
    typer.echo(f"WER {m['wer']:.4f}  CER {m['cer']:.4f}  ({m['utterances']} utterances)")


@app.command()
def predict(
    model_dir: Path = typer.Argument(..., help="A model directory written by train."),
    files: list[Path] = typer.Argument(..., help="Audio files (WAV, FLAC, OGG; any rate)."),
    beam: int = BEAM,
    lexicon: Path = LEXICON,
    lm: Path = LM,
    lm_weight: float = LM_WEIGHT,
    word_bonus: float = WORD_BONUS,
    same_speaker: bool = typer.Option(
        False,
        "--same-speaker",
        help="A --normalize speaker model: the FILES are one voice; normalise them together.",
    ),
    speaker: str = typer.Option(
        None,
        "--speaker",
        help="A --normalize speaker model: the FILES are this voice's (enrolled statistics if "
        "`rnnkit speech enroll` saved them, else the FILES' own together).",
    ),
) -> None:
    """Transcribe FILES: one line of text per file, in order."""
    from ..tasks.speech import SpeechRecognizer

    rec = SpeechRecognizer.load(model_dir)
    option = "--speaker" if speaker else "--same-speaker" if same_speaker else None
    if option is not None:
        _needs_speaker_model(rec, option)
    name = speaker or ("speaker" if same_speaker else None)
    speakers = [name] * len(files) if name else None
    decoding = _decoding(beam, lexicon, lm, lm_weight, word_bonus)
    for text in rec.transcribe(files, speakers=speakers, **decoding):
        typer.echo(text)


@app.command()
def enroll(
    model_dir: Path = typer.Argument(..., help="A --normalize speaker model directory."),
    name: str = typer.Argument(..., help="The voice's name (for predict --speaker NAME)."),
    files: list[Path] = typer.Argument(..., help="Some recordings of that voice (no text)."),
) -> None:
    """Save a voice's feature statistics from a few unlabelled recordings into MODEL_DIR."""
    from ..tasks.speech import SpeechRecognizer

    rec = SpeechRecognizer.load(model_dir)
    _needs_speaker_model(rec, "enroll")
    rec.enroll(name, files)
    rec.save(model_dir)
    typer.echo(
        f"enrolled {name!r} from {len(files)} recordings in {model_dir}; transcribe with: "
        f"rnnkit speech predict {model_dir} FILE... --speaker {name}"
    )


@app.command()
def stream(
    model_dir: Path = typer.Argument(..., help="A streaming model directory (--streaming)."),
    file: Path = typer.Argument(..., help="An audio file, played to the model chunk by chunk."),
    chunk_ms: float = typer.Option(100.0, "--chunk-ms", help="Chunk length in milliseconds."),
) -> None:
    """Transcribe FILE as if live: print the partial text whenever it changes, then the final."""
    from ..data.audio import read_audio
    from ..tasks.speech import SpeechRecognizer

    rec = SpeechRecognizer.load(model_dir)
    if chunk_ms <= 0:
        raise ValueError(f"expected --chunk-ms > 0, got {chunk_ms}")
    session = rec.stream()
    audio, rate = read_audio(file, rec.sample_rate)
    step = max(1, round(rate * chunk_ms / 1000))
    shown = ""
    for i in range(0, audio.size, step):
        partial = session.feed(audio[i : i + step])
        if partial != shown:  # stamped at the end of the audio heard so far
            typer.echo(f"[{min(i + step, audio.size) / rate:6.2f}s] {partial}")
            shown = partial
    typer.echo(session.finish())
