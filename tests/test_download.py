"""Downloads (helpers.download, and the corpus through it): every way a download goes wrong on a workshop
network gives one clear line and leaves nothing behind, and only the expected file is ever kept.

Served from a local web server on 127.0.0.1 (the `local_server` fixture); nothing touches the network.
"""

from __future__ import annotations

import hashlib
import socket

import pytest

from helpers import WorkshopError
from helpers.data import CORPUS_SHA256, download_corpus, find_corpus
from helpers.download import download, looks_like_html, normalise_sha256

PORTAL = b"<!DOCTYPE html>\n<html><head><title>Conference Wi-Fi</title></head><body>Log in</body></html>\n"
TEXT = b"First Citizen:\nBefore we proceed any further, hear me speak.\n" * 50


def leftovers(folder):
    """Everything in the download folder: after a failure this must be empty (no .part, no half file)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_good_corpus_download_is_kept(local_server, corpus_path, tmp_path):
    url = local_server.serve("/input.txt", corpus_path.read_bytes(), content_type="text/plain; charset=utf-8")
    dest = download_corpus(tmp_path / "data" / "tinyshakespeare.txt", url=url)
    assert dest.read_bytes() == corpus_path.read_bytes()
    assert leftovers(tmp_path / "data") == ["tinyshakespeare.txt"]


def test_corpus_checksum_is_the_tiny_shakespeare_file(corpus_path):
    assert hashlib.sha256(corpus_path.read_bytes()).hexdigest() == CORPUS_SHA256


def test_find_corpus_downloads_into_data_when_missing(local_server, corpus_path, tmp_path, monkeypatch):
    monkeypatch.delenv("WORKSHOP_CORPUS", raising=False)
    monkeypatch.setattr("helpers.data.default_data_dir", lambda: tmp_path / "data")
    url = local_server.serve("/input.txt", corpus_path.read_bytes(), content_type="text/plain")
    monkeypatch.setattr("helpers.data.CORPUS_URL", url)
    assert find_corpus().read_bytes() == corpus_path.read_bytes()
    assert find_corpus() == tmp_path / "data" / "tinyshakespeare.txt"
    assert local_server.requests == ["/input.txt"]  # downloaded once, then found


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain"])
def test_wifi_login_page_is_never_saved_as_the_corpus(local_server, tmp_path, content_type):
    url = local_server.serve("/input.txt", PORTAL, content_type=content_type)  # a portal that lies about its type too
    with pytest.raises(WorkshopError) as err:
        download_corpus(tmp_path / "data" / "tinyshakespeare.txt", url=url)
    assert "sent a web page instead of the tiny Shakespeare corpus" in one_line(err)
    assert "log in to the network" in one_line(err) and "WORKSHOP_CORPUS" in one_line(err)
    assert leftovers(tmp_path / "data") == []


def test_text_that_is_not_the_corpus_is_refused(local_server, tmp_path):
    url = local_server.serve("/input.txt", b"Please accept the terms of use to continue.\n", content_type="text/plain")
    with pytest.raises(WorkshopError) as err:
        download_corpus(tmp_path / "data" / "tinyshakespeare.txt", url=url)
    assert "is not the tiny Shakespeare corpus: its SHA-256 is" in one_line(err)
    assert leftovers(tmp_path / "data") == []


def test_another_corpus_without_checksum_must_be_utf8_text(local_server, tmp_path):
    good = local_server.serve("/mine.txt", TEXT, content_type="text/plain")
    assert download_corpus(tmp_path / "mine.txt", url=good, sha256=None).read_bytes() == TEXT
    binary = local_server.serve("/zip", b"PK\x03\x04\xff\xfe\x00binary" * 10)
    with pytest.raises(WorkshopError, match="not UTF-8 text"):
        download_corpus(tmp_path / "data" / "other.txt", url=binary, sha256=None)
    assert leftovers(tmp_path / "data") == []


@pytest.mark.parametrize("how", ["truncated", "chunked-truncated"])
def test_truncated_download_is_one_line_and_leaves_no_half_file(local_server, tmp_path, how):
    url = local_server.serve("/input.txt", TEXT, content_type="text/plain", how=how)
    with pytest.raises(WorkshopError) as err:
        download(url, tmp_path / "dl" / "file.txt", what="the file")
    message = one_line(err)
    assert "stopped after" in message and "Nothing was saved" in message and "run it again" in message
    if how == "truncated":  # the size came in Content-Length: both numbers are named
        assert f"{len(TEXT) // 2:,} of {len(TEXT):,} bytes" in message
    assert leftovers(tmp_path / "dl") == []


def test_failed_download_keeps_the_file_that_was_there(local_server, tmp_path):
    dest = tmp_path / "file.txt"
    dest.write_bytes(b"the good old copy")
    url = local_server.serve("/file.txt", TEXT, how="truncated")
    with pytest.raises(WorkshopError):
        download(url, dest)
    assert dest.read_bytes() == b"the good old copy"
    assert leftovers(tmp_path) == ["file.txt"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, "answered HTTP 404 Not Found; the link is wrong"), (500, "answered HTTP 500 Internal Server Error")],
)
def test_http_errors_name_the_status_and_the_fix(local_server, tmp_path, status, expected):
    url = local_server.serve("/input.txt", b"error page", status=status, content_type="text/plain")
    with pytest.raises(WorkshopError) as err:
        download_corpus(tmp_path / "data" / "tinyshakespeare.txt", url=url)
    assert expected in one_line(err) and "Fix:" in one_line(err) and "WORKSHOP_CORPUS" in one_line(err)
    assert leftovers(tmp_path / "data") == []


def test_no_connection_names_the_fix(tmp_path):
    with socket.socket() as s:  # a port nothing listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(WorkshopError) as err:
        download_corpus(tmp_path / "data" / "tinyshakespeare.txt", url=f"http://127.0.0.1:{port}/input.txt")
    assert "Could not download the tiny Shakespeare corpus" in one_line(err)
    assert "Fix: connect to the internet, or copy the file to" in one_line(err) and "WORKSHOP_CORPUS" in one_line(err)
    assert leftovers(tmp_path / "data") == []


def test_wrong_checksum_is_refused(local_server, tmp_path):
    url = local_server.serve("/file.bin", TEXT)
    with pytest.raises(WorkshopError) as err:
        download(url, tmp_path / "dl" / "file.bin", what="the model", sha256="0" * 64)
    assert f"is not the model: its SHA-256 is {hashlib.sha256(TEXT).hexdigest()}, expected {'0' * 64}" in one_line(err)
    assert leftovers(tmp_path / "dl") == []
    good = download(url, tmp_path / "dl" / "file.bin", sha256=hashlib.sha256(TEXT).hexdigest().upper())
    assert good.read_bytes() == TEXT and leftovers(tmp_path / "dl") == ["file.bin"]


def test_a_check_that_refuses_leaves_nothing(local_server, tmp_path):
    url = local_server.serve("/file.bin", TEXT)

    def refuse(path):
        assert path.read_bytes() == TEXT  # the check sees the whole downloaded file
        raise WorkshopError("not what we wanted")

    with pytest.raises(WorkshopError, match="not what we wanted"):
        download(url, tmp_path / "dl" / "file.bin", check=refuse)
    assert leftovers(tmp_path / "dl") == []


def test_html_is_recognised_and_text_is_not():
    assert looks_like_html(b"\n  <!DOCTYPE html><html>")
    assert looks_like_html(b"<HTML><body>")
    assert looks_like_html(b'<meta charset="utf-8"><html>')
    assert not looks_like_html(b"First Citizen:\n<html> is not how a play starts")
    assert not looks_like_html(TEXT)


@pytest.mark.parametrize("bad", ["abc", "0" * 63, "g" * 64, "sha1:" + "0" * 40])
def test_malformed_checksums_are_refused(bad):
    with pytest.raises(WorkshopError, match="is not a SHA-256 checksum"):
        normalise_sha256(bad)
