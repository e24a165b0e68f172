"""Downloading registered files: fetch with urllib, pick archive members, and keep a file
only once its sha256 matches (temp file, then an atomic rename)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from .registry import RemoteFile

_CHUNK = 1 << 20
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


class DownloadError(ConnectionError):
    """A registered file could not be fetched (network, HTTP error, or a missing member)."""


def download(files: list[RemoteFile], root: Path) -> None:
    """Fetch ``files`` (all from one URL: a plain file, or members of one archive) into
    ``root / file.path``, each checked against its sha256 before it is kept."""
    url = files[0].url
    assert all(f.url == url for f in files)
    if files[0].member is None:
        with _fetch(url) as response:
            _store(response, root / files[0].path, files[0])
        return
    folder = (root / files[0].path).parent
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        archive = Path(tmp) / Path(url.split("?")[0]).name
        with _fetch(url) as response, open(archive, "wb") as out:
            shutil.copyfileobj(response, out, _CHUNK)
        for f in files:
            with _open_member(archive, f, url) as member:
                _store(member, root / f.path, f)


@contextmanager
def _fetch(url: str) -> Iterator[IO[bytes]]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            yield response
    except (urllib.error.URLError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(
            f"could not download {url} ({reason}); check the network, or set RNNKIT_DATA_DIR "
            f"to a local copy of the data"
        ) from e


@contextmanager
def _open_member(archive: Path, remote: RemoteFile, url: str) -> Iterator[IO[bytes]]:
    """Open the member of ``archive`` whose basename is ``remote.member``."""

    def pick(names: list[str]) -> str:
        hits = [
            n
            for n in names
            if not n.startswith("__MACOSX/") and "/__MACOSX/" not in n and not n.endswith("/")
            if n.rsplit("/", 1)[-1] == remote.member
        ]
        if len(hits) != 1:
            raise DownloadError(
                f"{url}: expected exactly one member named {remote.member!r}, found "
                f"{len(hits)} ({hits[:5]}); the registry entry for {remote.path} is wrong"
            )
        return hits[0]

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf, zf.open(pick(zf.namelist())) as member:
            yield member
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            files = [m.name for m in tf.getmembers() if m.isfile()]
            member = tf.extractfile(pick(files))
            assert member is not None
            with member:
                yield member
    else:
        raise DownloadError(
            f"{url}: expected an archive ({', '.join(_ARCHIVE_SUFFIXES)}) holding "
            f"{remote.member!r}, got something else"
        )


def _store(source: IO[bytes], path: Path, remote: RemoteFile) -> None:
    """Copy ``source`` to ``path`` through a temp file, hashing on the way; keep it only if
    the hash matches (atomic rename), else delete it and raise ``ValueError``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
        actual = h.hexdigest()
        if actual != remote.sha256:
            raise ValueError(
                f"{remote.url}: sha256 mismatch for {remote.path}, expected {remote.sha256}, "
                f"got {actual}; the download was deleted (the source changed or the "
                f"transfer was corrupted)"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
