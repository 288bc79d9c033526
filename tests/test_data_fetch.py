"""course.data.fetching: cache folder, mirrors, md5 verification, atomic caching, progress display. No network."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tqdm import tqdm

from course.data import fetching
from course.data.fetching import ChecksumError, DownloadError, progress_bar


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def offline(monkeypatch):
    """Only file:// URLs may be opened (no network in tests); returns the list of opened URLs."""
    opened = []

    def guarded(request, timeout=None):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        assert url.startswith("file://"), f"test tried to open a network URL: {url}"
        opened.append(url)
        return urllib.request.urlopen(request, timeout=timeout)

    monkeypatch.setattr(fetching, "urlopen", guarded)
    return opened


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    assert fetching.cache_dir() == tmp_path / "home" / ".cache" / "nn-from-scratch"
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "env"))
    assert fetching.cache_dir(sub="mnist") == tmp_path / "env" / "mnist"
    assert (tmp_path / "env" / "mnist").is_dir()
    assert fetching.cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_fetch_verifies_and_moves_into_place(tmp_path, offline):
    payload = b"hello data" * 1000
    src = tmp_path / "mirror" / "file.bin"
    src.parent.mkdir()
    src.write_bytes(payload)
    dest = tmp_path / "cache" / "file.bin"
    out = fetching.fetch("file.bin", [src.as_uri()], dest, md5=md5(payload), progress=False)
    assert out == dest and dest.read_bytes() == payload
    assert leftovers(dest.parent) == ["file.bin"]  # no temporary .part file left


def test_fetch_tries_mirrors_in_order(tmp_path, offline):
    payload = b"abc" * 100
    (tmp_path / "m2").mkdir()
    (tmp_path / "m2" / "f").write_bytes(payload)
    urls = [(tmp_path / "m1" / "f").as_uri(), (tmp_path / "m2" / "f").as_uri(), (tmp_path / "m3" / "f").as_uri()]
    fetching.fetch("f", urls, tmp_path / "cache" / "f", md5=md5(payload), progress=False)
    assert offline == urls[:2]  # first failed, second worked, third never tried


def test_fetch_checksum_mismatch_is_not_cached(tmp_path, offline):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "f").write_bytes(b"corrupted")
    dest = tmp_path / "cache" / "f"
    expected = "0" * 32
    with pytest.raises(ChecksumError) as info:
        fetching.fetch("f", [(tmp_path / "m" / "f").as_uri()], dest, md5=expected, progress=False)
    message = str(info.value)
    assert expected in message and md5(b"corrupted") in message and "not" in message and "cached" in message
    assert leftovers(dest.parent) == []


def test_fetch_gunzip_md5_checks_unzipped_content(tmp_path, offline):
    raw = bytes(range(256)) * 10
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "a.gz").write_bytes(gzip.compress(raw, mtime=123))
    (tmp_path / "m" / "b.gz").write_bytes(b"not gzip at all")
    dest = tmp_path / "cache" / "a.gz"
    fetching.fetch("a.gz", [(tmp_path / "m" / "a.gz").as_uri()], dest, md5=md5(raw), gunzip_md5=True, progress=False)
    assert gzip.decompress(dest.read_bytes()) == raw
    with pytest.raises(ChecksumError, match="cannot be unzipped"):
        fetching.fetch("b.gz", [(tmp_path / "m" / "b.gz").as_uri()], tmp_path / "cache" / "b.gz", md5=md5(raw),
                     gunzip_md5=True, progress=False)
    assert leftovers(tmp_path / "cache") == ["a.gz"]


def test_fetch_offline_error_lists_urls_and_hint(tmp_path, monkeypatch):
    def no_network(request, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fetching, "urlopen", no_network)
    urls = ["https://a.example/f.gz", "https://b.example/f.gz"]
    with pytest.raises(DownloadError) as info:
        fetching.fetch("f.gz", urls, tmp_path / "cache" / "f.gz", md5="0" * 32, hint="PUT IT IN /some/folder")
    message = str(info.value)
    assert all(url in message for url in urls) and "PUT IT IN /some/folder" in message
    assert leftovers(tmp_path / "cache") == []


class FakeResponse:
    def __init__(self, body: bytes, length: int | None = None, fail_with: BaseException | None = None):
        self.body = io.BytesIO(body)
        self.headers = {"Content-Length": str(length if length is not None else len(body))}
        self.fail_with = fail_with

    def read(self, n=-1):
        if self.fail_with is not None:
            raise self.fail_with
        return self.body.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_incomplete_download_falls_back_to_next_mirror(tmp_path, monkeypatch):
    payload = b"x" * 5000
    responses = {"https://one/f": FakeResponse(payload[:100], length=5000), "https://two/f": FakeResponse(payload)}
    monkeypatch.setattr(fetching, "urlopen", lambda request, timeout=None: responses[request.full_url])
    dest = tmp_path / "cache" / "f"
    fetching.fetch("f", list(responses), dest, md5=md5(payload), progress=False)
    assert dest.read_bytes() == payload


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    monkeypatch.setattr(fetching, "urlopen", lambda request, timeout=None: FakeResponse(b"", 10, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        fetching.fetch("f", ["https://one/f"], tmp_path / "cache" / "f", md5="0" * 32, progress=False)
    assert leftovers(tmp_path / "cache") == []


def test_progress_not_interactive_prints_one_final_line():
    stream = io.StringIO()
    with progress_bar(1000, "downloading x", stream=stream) as bar:
        for _ in range(4):
            bar.update(250)
    text = stream.getvalue()
    assert "\r" not in text and text.count("\n") == 1, text
    assert text.startswith("downloading x: 100%") and "1.00k/1.00k" in text
    assert bar.n == 1000


def test_progress_is_one_rewriting_tqdm_line_on_a_tty():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    with progress_bar(4, "decoding", unit="images", stream=stream) as bar:
        bar.update(2)
        bar.update(2)
    assert isinstance(bar, tqdm)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n") and "\r" in text and "4/4" in text.rsplit("\r", 1)[-1]


def test_progress_disabled_prints_nothing():
    stream = io.StringIO()
    with progress_bar(10, "x", stream=stream, enabled=False) as bar:
        bar.update(10)
    assert stream.getvalue() == "" and bar.n == 10


HEADLESS_CELLS = [
    """from pathlib import Path
from course.data import fetching
fetching.CHUNK = 64  # many blocks: many progress updates
src = Path("payload.bin")
src.write_bytes(bytes(range(256)) * 200)
path = fetching.fetch("payload.bin", [src.resolve().as_uri()], Path("cache/payload.bin"),
                      md5=fetching.md5_file(src))""",
    """from course.data.fetching import progress_bar
with progress_bar(3000, "decoding", unit="images") as bar:
    for _ in range(3000):
        bar.update(1)""",
]


@pytest.mark.slow
def test_headless_notebook_holds_one_progress_output_per_job(tmp_path):
    """A download (800 blocks) and a decoding loop (3000 updates) run in a real kernel, headless: each cell's
    saved output is one bar (tqdm's widget), not a line per update."""
    import nbformat
    from nbclient import NotebookClient

    from tests.conftest import isolated_env

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in HEADLESS_CELLS])
    env = isolated_env(tmp_path)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    assert (tmp_path / "cache" / "payload.bin").exists()
    for cell, job in zip(nb.cells, ("downloading payload.bin", "decoding")):
        outputs = cell.outputs
        assert [o.output_type for o in outputs if o.output_type == "error"] == []
        assert len(outputs) <= 1, f"{job}: {len(outputs)} outputs: {outputs}"
        text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs)
        assert len([line for line in re.split(r"[\r\n]+", text) if line.strip()]) <= 1, f"{job}: {text!r}"


def test_save_and_load_arrays(tmp_path):
    path = tmp_path / "c" / "a.npz"
    x, y = np.arange(12, dtype=np.uint8).reshape(3, 4), np.array([1, 2, 3], dtype=np.uint8)
    fetching.save_arrays(path, x=x, y=y)
    loaded = fetching.load_arrays(path, ("x", "y"))
    np.testing.assert_array_equal(loaded["x"], x)
    np.testing.assert_array_equal(loaded["y"], y)
    assert leftovers(path.parent) == ["a.npz"]
    assert fetching.load_arrays(tmp_path / "missing.npz", ("x",)) is None
    path.write_bytes(b"garbage")
    assert fetching.load_arrays(path, ("x", "y")) is None and not path.exists()
