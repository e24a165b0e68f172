"""Free Spoken Digit Dataset: isolated digits (official split), leave-one-speaker-out,
connected digit strings, and streaming latency (issue 8's targets).

    RNNKIT_DATA_DIR=../shared/data python benchmarks/speech_fsdd.py --part official --budget 600
    ... --part loso --budget 120      # per held-out speaker
    ... --part stream --budget 300

WER = 1 - accuracy for isolated digits. Anchors (community reports, all speaker-dependent):
about 97% accuracy with CNNs on MFCCs, about 94% with an LSTM. Targets: official WER <= 2%;
leave-one-speaker-out WER <= 10% (average over the six speakers); connected 3-7 digit strings
from test recordings WER <= 5%; each model trained in <= 10 minutes; streaming latency per
100 ms chunk on CPU reported. Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import rnnkit
from rnnkit.data.audio import DIGIT_WORDS, FSDD_SPEAKERS, fsdd_split, fsdd_utterances
from rnnkit.data.connected import ConnectedSpeech
from rnnkit.tasks._ctc import error_rates

ANCHOR_ACC = {"CNN on MFCCs": 0.97, "LSTM": 0.94}


def log(msg: str) -> None:
    print(msg, flush=True)


def train(train_items, budget: float, args, streaming: bool = False, out: Path | None = None):
    masks = {"freq_masks": args.freq_masks, "freq_width": args.freq_width,
             "time_masks": args.time_masks, "time_width": args.time_width}  # fmt: skip
    floor = None if streaming else args.dynamic_range  # offline models only
    rec = rnnkit.SpeechRecognizer(streaming=streaming, hidden_size=args.hidden,
                                  num_layers=args.layers, conv_channels=args.channels,
                                  frontend=args.frontend, conv2d_channels=args.maps,
                                  dropout=args.dropout, speed_perturb=args.speed,
                                  n_mels=args.n_mels,
                                  cepstral_smoothing=args.ceps,
                                  normalize=None if streaming else args.normalize,
                                  spec_augment=masks, dynamic_range_db=floor)  # fmt: skip
    t = time.perf_counter()
    rec.fit(train_items, out=out, connected=args.connected, max_time=budget,
            max_epochs=args.max_epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
            progress=False, warmup_steps=50)  # fmt: skip
    return rec, time.perf_counter() - t


def connected_test(rec, test_items, count: int, seed: int) -> dict:
    gen = ConnectedSpeech(test_items, rec.sample_rate, min_words=3, max_words=7, snr_db=30.0)
    triples = list(gen.generate_with_speakers(count, seed=10_000 + seed))
    audio, refs = [a for a, _, _ in triples], [t for _, t, _ in triples]
    # a per-speaker model normalises each speaker's strings together
    speakers = [s for _, _, s in triples] if rec.normalization == "speaker" else None
    greedy = error_rates(rec.transcribe(audio, speakers=speakers), refs)
    lex = error_rates(rec.transcribe(audio, speakers=speakers, beam=8, lexicon=DIGIT_WORDS), refs)
    return {"greedy": greedy, "beam8_lexicon": lex, "strings": count}


def part_official(items, args) -> dict:
    train_items, test_items = fsdd_split(items, "official")
    rec, secs = train(train_items, args.budget, args, out=args.out / "official")
    res = {"train_s": round(secs, 1), "steps": rec.metrics["train_steps"],
           "guard_rollbacks": rec.metrics["guard_rollbacks"]}  # fmt: skip
    res["isolated_greedy"] = rec.evaluate(test_items)
    res["isolated_beam8_lexicon"] = rec.evaluate(test_items, beam=8, lexicon=DIGIT_WORDS)
    res["connected"] = connected_test(rec, test_items, args.connected_test, args.seed)
    return res


def part_loso(items, args) -> dict:
    res = {}
    for speaker in args.speakers:
        train_items, test_items = fsdd_split(items, f"speaker:{speaker}")
        rec, secs = train(train_items, args.budget, args, out=args.out / f"loso_{speaker}")
        m = rec.evaluate(test_items)
        lex = rec.evaluate(test_items, beam=8, lexicon=DIGIT_WORDS)
        res[speaker] = {"train_s": round(secs, 1), "steps": rec.metrics["train_steps"],
                        "wer": m["wer"], "wer_beam8_lexicon": lex["wer"],
                        "guard_rollbacks": rec.metrics["guard_rollbacks"],
                        "stopped": rec.metrics.get("stopped_reason")}  # fmt: skip
        log(f"  loso {speaker}: {json.dumps(res[speaker])}")
    runs = list(res.values())
    res["average_wer"] = statistics.mean(r["wer"] for r in runs)
    res["average_wer_beam8_lexicon"] = statistics.mean(r["wer_beam8_lexicon"] for r in runs)
    return res


def part_stream(items, args) -> dict:
    train_items, test_items = fsdd_split(items, "official")
    rec, secs = train(train_items, args.budget, args, streaming=True)
    res = {"train_s": round(secs, 1), "isolated_greedy": rec.evaluate(test_items)}
    res["connected"] = connected_test(rec, test_items, args.connected_test, args.seed)
    chunk = rec.sample_rate // 10  # 100 ms
    gen = ConnectedSpeech(test_items, rec.sample_rate, snr_db=30.0)
    pairs = list(gen.generate(40, seed=20_000))
    offline = rec.transcribe([a for a, _ in pairs])
    times, same = [], 0
    with torch.inference_mode():
        for (audio, _), off in zip(pairs, offline):
            stream = rec.stream()
            for i in range(0, audio.size, chunk):
                t = time.perf_counter()
                stream.feed(audio[i : i + chunk])
                times.append(time.perf_counter() - t)
            same += stream.finish() == off
    times_ms = np.array(times) * 1000
    res["latency_ms_per_100ms_chunk"] = {
        "mean": round(float(times_ms.mean()), 3),
        "p95": round(float(np.percentile(times_ms, 95)), 3),
        "max": round(float(times_ms.max()), 3),
        "chunks": len(times),
        "real_time_factor": round(float(times_ms.mean()) / 100, 4),
    }
    res["stream_equals_offline"] = f"{same}/{len(pairs)}"
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=["official", "loso", "stream"], default="official")
    p.add_argument("--budget", type=float, default=600.0, help="training seconds per model")
    p.add_argument("--max-epochs", type=int, default=None)
    p.add_argument("--speakers", nargs="*", default=list(FSDD_SPEAKERS))
    p.add_argument("--hidden", type=int, default=192)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--channels", type=int, default=128)
    p.add_argument(
        "--frontend",
        choices=["conv1d", "conv2d"],
        default="conv2d",
        help="rows before session 10 in RESULTS.md ran conv1d, then the only one",
    )
    p.add_argument("--maps", type=int, default=32, help="conv2d front end: feature maps")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--speed", type=float, nargs="*", help="speed perturbation, e.g. 0.9 1 1.1")
    p.add_argument("--n-mels", type=int, default=40, help="mel bands")
    p.add_argument("--ceps", type=int, help="cepstral smoothing: keep this many coefficients")
    p.add_argument(
        "--normalize",
        choices=["utterance", "speaker"],
        default="utterance",
        help="offline models: per-utterance or per-speaker band statistics",
    )
    p.add_argument("--dynamic-range", type=float, help="log-mel floor, dB under the peak")
    p.add_argument("--freq-masks", type=int, default=2, help="SpecAugment frequency masks")
    p.add_argument("--freq-width", type=int, default=6, help="... of up to this many bands")
    p.add_argument("--time-masks", type=int, default=2, help="SpecAugment time masks")
    p.add_argument("--time-width", type=int, default=8, help="... of up to this many frames")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--connected", type=int, default=1500, help="connected training strings")
    p.add_argument("--connected-test", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("/tmp/rnnkit_speech_fsdd"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    items = fsdd_utterances()
    log(f"speech_fsdd {args.part}: {vars(args)}; torch {torch.__version__}, "
        f"{args.threads} thread(s)")  # fmt: skip
    res = {"official": part_official, "loso": part_loso, "stream": part_stream}[args.part](
        items, args
    )
    log(json.dumps(res, indent=1, default=str))
    if args.part == "official":
        wer = res["isolated_greedy"]["wer"]
        for name, acc in ANCHOR_ACC.items():
            log(f"error ratio vs {name} ({1 - acc:.0%} WER): {wer / (1 - acc):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
