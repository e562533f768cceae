"""IMDB import and download, against archives the tests build and a server on 127.0.0.1."""

import functools
import hashlib
import http.server
import io
import tarfile
import threading

import pytest

from rnnlab.data.imdb import download, import_imdb
from rnnlab.data.tsv import read_tsv
from rnnlab.errors import InputError, RnnlabError


@pytest.fixture(autouse=True)
def _no_archive_from_the_environment(monkeypatch):
    """`make test` exports RNNLAB_IMDB_ARCHIVE (the shared copy); these tests choose their own source."""
    monkeypatch.delenv("RNNLAB_IMDB_ARCHIVE", raising=False)


def build_archive(path, extra=True):
    """A small archive with the official layout, plus the parts an importer must skip."""
    files = {
        "aclImdb/README": "readme",
        "aclImdb/imdb.vocab": "the\nmovie\n",
        "aclImdb/train/pos/0_9.txt": "Great<br /><br />film\twith a tab.",
        "aclImdb/train/pos/1_8.txt": "Loved it.",
        "aclImdb/train/neg/0_1.txt": "Awful.",
        "aclImdb/test/pos/0_10.txt": "Superb.",
        "aclImdb/test/neg/0_2.txt": "Boring.",
        "aclImdb/test/neg/3_3.txt": "Dull.",
    }
    if extra:
        files.update({"aclImdb/train/unsup/0_0.txt": "unlabelled", "aclImdb/train/labeledBow.feat": "1 0:1",
                      "aclImdb/train/urls_pos.txt": "http://example"})
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_import_skips_unsup_feat_and_urls_and_reports_counts(tmp_path):
    archive = build_archive(tmp_path / "a.tar.gz")
    splits = import_imdb(archive, cache_root=tmp_path / "cache", progress=False)
    assert splits.counts == {"train": {"neg": 1, "pos": 2}, "test": {"neg": 2, "pos": 1}}
    train = read_tsv(splits.train)
    assert [e.label for e in train] == [0, 1, 1]
    assert train[1].text == "Great  film\twith a tab."
    assert read_tsv(splits.train, clean=False)[1].text == "Great<br /><br />film\twith a tab."
    again = import_imdb(archive, cache_root=tmp_path / "cache", progress=False)
    assert again.reused and again.root == splits.root


def test_interrupted_import_leaves_no_complete_entry(tmp_path, monkeypatch):
    import rnnlab.data.imdb as imdb

    archive = build_archive(tmp_path / "a.tar.gz")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(imdb, "_extract", boom)
    with pytest.raises(KeyboardInterrupt):
        import_imdb(archive, cache_root=tmp_path / "cache", progress=False)
    assert not any((tmp_path / "cache" / "imdb").iterdir())
    monkeypatch.undo()
    assert not import_imdb(archive, cache_root=tmp_path / "cache", progress=False).reused


def test_truncated_and_wrong_archives_are_clear_errors(tmp_path):
    archive = build_archive(tmp_path / "a.tar.gz")
    data = archive.read_bytes()
    (tmp_path / "t.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="t.tar.gz: not a readable aclImdb"):
        import_imdb(tmp_path / "t.tar.gz", cache_root=tmp_path / "c", progress=False)
    with pytest.raises(InputError, match="no such archive"):
        import_imdb(tmp_path / "missing.tar.gz", cache_root=tmp_path / "c", progress=False)
    with tarfile.open(tmp_path / "empty.tar.gz", "w:gz"):
        pass
    with pytest.raises(InputError, match="no train reviews found"):
        import_imdb(tmp_path / "empty.tar.gz", cache_root=tmp_path / "c", progress=False)


def test_archive_from_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_IMDB_ARCHIVE", str(build_archive(tmp_path / "a.tar.gz")))
    assert import_imdb(cache_root=tmp_path / "c", progress=False).total("train") == 3


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with Range support; ``cut`` bytes make the first response stop early."""

    cut: dict = {}
    requests: list = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        path = self.translate_path(self.path)
        data = open(path, "rb").read()
        rng = self.headers.get("Range")
        RangeHandler.requests.append(rng)
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        body = data[start:]
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(body)))
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        limit = RangeHandler.cut.pop(self.path, None)
        self.wfile.write(body[:limit] if limit else body)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(RangeHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.requests = []
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_from_local_server_verifies_and_imports(server, tmp_path):
    root, base = server
    archive = build_archive(root / "aclImdb_v1.tar.gz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    splits = import_imdb(cache_root=tmp_path / "cache", url=f"{base}/aclImdb_v1.tar.gz", sha256=digest,
                         progress=False)
    assert splits.total("train") == 3 and splits.total("test") == 3
    assert (tmp_path / "cache" / "downloads" / "aclImdb_v1.tar.gz").exists()


def test_broken_download_resumes_and_never_looks_complete(server, tmp_path):
    root, base = server
    archive = build_archive(root / "aclImdb_v1.tar.gz")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    dest = tmp_path / "dl" / "aclImdb_v1.tar.gz"
    RangeHandler.cut["/aclImdb_v1.tar.gz"] = 100  # the connection ends after 100 bytes
    with pytest.raises(RnnlabError, match="incomplete|broke off"):
        download(f"{base}/aclImdb_v1.tar.gz", dest, sha256=digest, progress=False)
    assert not dest.exists() and dest.with_name(dest.name + ".part").stat().st_size == 100
    download(f"{base}/aclImdb_v1.tar.gz", dest, sha256=digest, progress=False)
    assert RangeHandler.requests[-1] == "bytes=100-"
    assert dest.read_bytes() == archive.read_bytes()


def test_checksum_mismatch_removes_the_partial_file(server, tmp_path):
    root, base = server
    build_archive(root / "aclImdb_v1.tar.gz")
    dest = tmp_path / "dl" / "aclImdb_v1.tar.gz"
    with pytest.raises(RnnlabError, match="integrity check"):
        download(f"{base}/aclImdb_v1.tar.gz", dest, sha256="0" * 64, progress=False)
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def test_unreachable_server_says_how_to_use_a_local_copy(tmp_path):
    with pytest.raises(RnnlabError, match="--archive"):
        download("http://127.0.0.1:9/none.tar.gz", tmp_path / "x.tar.gz", progress=False, timeout=5)
