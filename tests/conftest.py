"""Shared fixtures. Tests never touch the network: the corpus comes from $WORKSHOP_CORPUS, data/,
or ../shared/data (the CI layout); without any of them the corpus tests are skipped with a reason."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from helpers import GPT, CharTokenizer, Corpus, GPTConfig
from helpers.data import CORPUS_ENV_VAR, CORPUS_FILENAME, default_data_dir

REPO = Path(__file__).resolve().parents[1]


def _corpus_path() -> Path | None:
    for candidate in (
        os.environ.get(CORPUS_ENV_VAR),
        default_data_dir() / CORPUS_FILENAME,
        REPO.parent / "shared" / "data" / CORPUS_FILENAME,
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    path = _corpus_path()
    if path is None:
        pytest.skip(f"no corpus: set {CORPUS_ENV_VAR} or copy tinyshakespeare.txt into data/")
    return path


@pytest.fixture(scope="session")
def corpus(corpus_path) -> Corpus:
    return Corpus.load(corpus_path)


@pytest.fixture
def tiny_config() -> GPTConfig:
    return GPTConfig(vocab_size=65, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0)


@pytest.fixture
def tiny_model(tiny_config) -> GPT:
    torch.manual_seed(0)
    return GPT(tiny_config)


@pytest.fixture
def small_tokenizer() -> CharTokenizer:
    return CharTokenizer.from_text("hello world\n")


# --------------------------------------------------------------------------------------------
# A local web server for download tests (tests never use the network: it listens on 127.0.0.1 only)


class LocalServer:
    """Serves `routes[path] = (status, headers, body, how)` from a thread; `how` is "whole", "truncated"
    (Content-Length says more than is sent) or "chunked-truncated" (the chunked stream stops mid-way)."""

    def __init__(self):
        import http.server
        import threading

        self.routes: dict[str, tuple[int, dict, bytes, str]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.requests.append(self.path)
                status, headers, body, how = server.routes.get(self.path, (404, {}, b"not found", "whole"))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if how == "chunked-truncated":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    half = body[: len(body) // 2]
                    self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")  # no closing chunk
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body if how == "whole" else body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def serve(self, path: str, body: bytes, status: int = 200, content_type="application/octet-stream", how="whole"):
        self.routes[path] = (status, {"Content-Type": content_type}, body, how)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of this checkout (code, tests, notebooks, README; no data or runs) to edit freely."""
    root = tmp_path / "gpt-from-scratch"
    root.mkdir()
    for name in ("helpers", "tools", "tests", "notebooks", "benchmarks", ".ci"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    for name in ("README.md", "pyproject.toml", "conftest.py"):
        shutil.copy(REPO / name, root / name)
    return root
