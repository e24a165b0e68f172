"""The dataset registry: entries, RNNKIT_DATA_DIR resolution, and download into the cache
(offline: file:// URLs and a monkeypatched entry)."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path

import pytest

from rnnkit.data import registry
from rnnkit.data.registry import Dataset, RemoteFile, dataset_path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """No mirror, an empty cache: dataset_path must download."""
    monkeypatch.delenv("RNNKIT_DATA_DIR", raising=False)
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def register(monkeypatch, *files: RemoteFile, name: str = "toy") -> None:
    monkeypatch.setitem(registry._DATASETS, name, Dataset(name, tuple(files)))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith("."))


def test_names_and_unknown_name():
    assert registry.is_registered("tinyshakespeare") and registry.is_registered("ptb")
    assert not registry.is_registered("nope") and not registry.is_registered(None)
    with pytest.raises(ValueError, match=r"ptb, .*tinyshakespeare.*'nope'"):
        dataset_path("nope")


def test_urls_are_pinned_to_a_commit():
    for name in registry.dataset_names():
        for f in registry.get_dataset(name).files:
            assert re.search(r"/[0-9a-f]{40}/", f.url), f.url
            assert re.fullmatch(r"[0-9a-f]{64}", f.sha256), f.path


def test_hashes_match_shared_sha256sums(real_file):
    sums = {}
    for line in real_file("SHA256SUMS").read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        sums[path] = digest
    files = [f for n in registry.dataset_names() for f in registry.get_dataset(n).files]
    assert len(files) >= 4 + 3000  # tinyshakespeare, ptb, fsdd, and the rest
    assert len({f.path for f in files}) == len(files)
    for f in files:
        assert sums[f.path] == f.sha256, f.path


def test_file_selection():
    ptb = registry.get_dataset("ptb")
    assert ptb.file("train") is ptb.file("ptb.train.txt") is ptb.file("ptb/ptb.train.txt")
    assert ptb.file("test").member == "ptb.test.txt"
    with pytest.raises(ValueError, match=r"has 3 files; pass one of train, valid, test"):
        ptb.file()
    with pytest.raises(ValueError, match=r"no file 'dev'"):
        ptb.file("dev")


def test_mirror_resolution_and_verify(real_file, monkeypatch):
    expected = real_file("tinyshakespeare/input.txt")
    monkeypatch.setenv("RNNKIT_CACHE_DIR", "/nonexistent/never/used")
    monkeypatch.setattr(registry, "_VERIFIED", set())
    calls = []
    real_sha = registry.sha256_of
    monkeypatch.setattr(registry, "sha256_of", lambda p: calls.append(p) or real_sha(p))
    assert dataset_path("tinyshakespeare") == expected
    assert calls == []  # hashing only on demand
    assert dataset_path("tinyshakespeare", verify=True) == expected
    assert dataset_path("tinyshakespeare", verify=True) == expected
    assert len(calls) == 1  # cached per process
    assert dataset_path("ptb", "valid") == real_file("ptb/ptb.valid.txt")


def test_mirror_missing_file_and_wrong_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"tinyshakespeare/input.txt.*RNNKIT_DATA_DIR"):
        dataset_path("tinyshakespeare")
    fake = tmp_path / "tinyshakespeare" / "input.txt"
    fake.parent.mkdir()
    fake.write_text("not shakespeare")
    assert dataset_path("tinyshakespeare") == fake  # not hashed unless asked
    expected = registry.get_dataset("tinyshakespeare").file().sha256
    with pytest.raises(ValueError, match=rf"expected {expected}, got {sha(b'not shakespeare')}"):
        dataset_path("tinyshakespeare", verify=True)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("RNNKIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert registry.cache_dir() == tmp_path / ".cache" / "rnnkit"


def test_download_plain_file(cache, tmp_path, monkeypatch):
    src = tmp_path / "remote.txt"
    src.write_bytes(b"hello\nworld\n")
    register(monkeypatch, RemoteFile("toy/a.txt", sha(src.read_bytes()), src.as_uri()))
    path = dataset_path("toy")
    assert path == cache / "toy" / "a.txt"
    assert path.read_bytes() == b"hello\nworld\n"
    assert leftovers(cache) == []
    src.unlink()  # a second call uses the cache, no download
    assert dataset_path("toy", verify=True) == path


def test_download_wrong_hash_deletes_and_names_both(cache, tmp_path, monkeypatch):
    src = tmp_path / "remote.txt"
    src.write_bytes(b"tampered")
    register(monkeypatch, RemoteFile("toy/a.txt", "0" * 64, src.as_uri()))
    with pytest.raises(ValueError, match=rf"expected {'0' * 64}, got {sha(b'tampered')}"):
        dataset_path("toy")
    assert not (cache / "toy" / "a.txt").exists()
    assert leftovers(cache) == []


def test_download_failure_is_one_clear_error(cache, tmp_path, monkeypatch):
    url = (tmp_path / "missing.txt").as_uri()
    register(monkeypatch, RemoteFile("toy/a.txt", "0" * 64, url))
    with pytest.raises(registry.DownloadError, match=rf"could not download {re.escape(url)}"):
        dataset_path("toy")


def make_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def make_tgz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("suffix, make", [(".zip", make_zip), (".tar.gz", make_tgz)])
def test_download_archive_members(cache, tmp_path, monkeypatch, suffix, make):
    a, b = b"first member\n", b"second member\n"
    archive = tmp_path / f"bundle{suffix}"
    make(
        archive,
        {
            "__MACOSX/data/._a.txt": b"\x00\x05resource fork",
            "data/a.txt": a,
            "data/b.txt": b,
        },
    )
    url = archive.as_uri()
    register(
        monkeypatch,
        RemoteFile("toy/a.txt", sha(a), url, member="a.txt"),
        RemoteFile("toy/b.txt", sha(b), url, member="b.txt"),
    )
    assert dataset_path("toy", "a.txt").read_bytes() == a
    assert (cache / "toy" / "b.txt").read_bytes() == b  # same archive: extracted together
    archive.unlink()
    assert dataset_path("toy", "toy/b.txt").read_bytes() == b
    assert leftovers(cache) == []


def test_archive_member_missing_or_wrong(cache, tmp_path, monkeypatch):
    archive = tmp_path / "bundle.zip"
    make_zip(archive, {"__MACOSX/x/c.txt": b"junk", "x/a.txt": b"a"})
    register(monkeypatch, RemoteFile("toy/c.txt", sha(b"junk"), archive.as_uri(), member="c.txt"))
    with pytest.raises(registry.DownloadError, match=r"exactly one member named 'c.txt'"):
        dataset_path("toy")
    register(monkeypatch, RemoteFile("toy/a.txt", "f" * 64, archive.as_uri(), member="a.txt"))
    with pytest.raises(ValueError, match=rf"expected {'f' * 64}, got {sha(b'a')}"):
        dataset_path("toy")
    assert not (cache / "toy" / "a.txt").exists()
    assert leftovers(cache) == []
