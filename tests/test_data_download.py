"""`tune data download` end to end against a local HTTP server that the test runs on 127.0.0.1."""

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from data_pipeline import DataError, get_split, load_split
from data_pipeline.download import download, extract_verified, fetch
from data_pipeline.synthetic import write_split
from tests.conftest import assert_one_line_error, run_tune


class ReleaseServer:
    """Serves one archive with HTTP Range support; can cut the first transfer short."""

    def __init__(self, payload: bytes, cut_first_after: int | None = None):
        self.payload, self.cut_after, self.ranges = payload, cut_first_after, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                header = self.headers.get("Range")
                server.ranges.append(header)
                start = int(header.split("=")[1].split("-")[0]) if header else 0
                body = server.payload[start:]
                self.send_response(206 if header else 200)
                self.send_header("Content-Length", str(len(body)))
                if header:
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                self.end_headers()
                if server.cut_after is not None:
                    body, server.cut_after = body[: server.cut_after], None
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/gzip.zip"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def release_zip(tmp_path, splits=("mnist",)):
    """A zip laid out like NIST's gzip.zip, holding synthetic files, and their sha256/size table."""
    source = tmp_path / "source"
    buffer, table = io.BytesIO(), {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in splits:
            for file_name in write_split(source, name).files:
                data = (source / file_name).read_bytes()
                archive.writestr(f"gzip/{file_name}", data)
                table[file_name] = (hashlib.sha256(data).hexdigest(), len(data))
    return buffer.getvalue(), table


def test_interrupted_download_resumes_with_range_and_verifies(tmp_path):
    payload, table = release_zip(tmp_path)
    server = ReleaseServer(payload, cut_first_after=len(payload) // 3)
    target = tmp_path / "data" / ".download" / "gzip.zip"
    try:
        with pytest.raises(DataError, match="run the same command again to resume"):
            fetch(server.url, target, progress=False)
        assert not target.exists() and target.with_name("gzip.zip.part").exists()
        fetch(server.url, target, progress=False)
    finally:
        server.close()
    assert server.ranges == [None, f"bytes={len(payload) // 3}-"]
    assert target.read_bytes() == payload
    extract_verified(target, get_split("mnist").files, tmp_path / "data", official=table)
    assert len(load_split("mnist", tmp_path / "data").train_labels) == 200


def test_file_that_is_not_official_is_never_moved_in(tmp_path):
    payload, table = release_zip(tmp_path)
    server = ReleaseServer(payload)
    data = tmp_path / "data"
    try:
        with pytest.raises(DataError, match="is not the official"):
            download([get_split("mnist")], data, url=server.url, progress=False)  # the real NIST hashes
    finally:
        server.close()
    assert sorted(p.name for p in data.iterdir() if not p.name.startswith(".")) == []
    assert not list(data.glob(".*.download"))


@pytest.mark.slow
def test_cli_download_failure_is_one_line_and_leaves_no_file(tmp_path):
    payload, _ = release_zip(tmp_path)
    server = ReleaseServer(payload)
    try:
        result = run_tune("data", "download", "--splits", "mnist", "--data-dir", str(tmp_path / "d"), "--url", server.url, "--quiet")
    finally:
        server.close()
    assert_one_line_error(result, "emnist-mnist-train-images-idx3-ubyte.gz", "not the official")
    assert not list((tmp_path / "d").glob("emnist-*"))


@pytest.mark.slow
def test_cli_download_unreachable_server_says_what_to_do(tmp_path):
    result = run_tune("data", "download", "--splits", "mnist", "--data-dir", str(tmp_path), "--url", "http://127.0.0.1:9/gzip.zip", "--quiet")
    assert_one_line_error(result, "cannot connect", "copy the EMNIST")


@pytest.mark.slow
@pytest.mark.parametrize("url", ["not a url", "file:///etc/passwd", "ftp://127.0.0.1/gzip.zip", "http:///gzip.zip",
                                 "http://127.0.0.1:9/gzip.zip"])
def test_a_download_that_cannot_start_leaves_no_folder_behind(tmp_path, url):
    result = run_tune("data", "download", "--splits", "mnist", "--data-dir", str(tmp_path / "new" / "emnist"),
                      "--url", url, "--quiet")
    assert_one_line_error(result, url if "127.0.0.1:9" in url else "is not an http(s) address")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_verify_of_a_folder_without_emnist_files_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    assert_one_line_error(run_tune("data", "verify", "--data-dir", str(tmp_path)), "holds no EMNIST file")
