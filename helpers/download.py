"""One careful download: the corpus and published checkpoints both come through here.

What it knows: HTTP(S) over urllib (no extra dependency), how a download goes wrong on a workshop
network (no connection, a 404, a connection that drops half-way, a Wi-Fi login page answering with
200 and HTML), and how to make sure none of that is ever saved: the file is streamed to a hidden
temporary file beside the destination, checked (size against Content-Length, not a web page,
optionally its SHA-256 and a caller's own check), and only then renamed into place. Any failure
deletes the temporary file and raises one `WorkshopError` line that names the fix.

What it does not know: what the file means. The caller says what it is (`what`), what else the user
can do (`fix`), and passes a `check` for its content (the corpus refuses text that is not tiny
Shakespeare; a checkpoint refuses a pickle).
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from .errors import WorkshopError

CHUNK_BYTES = 1 << 16
DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, getattr(errno, "EDQUOT", errno.ENOSPC)}
HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<?xml")


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in chunks (a checkpoint can be hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def normalise_sha256(sha256: str | None) -> str | None:
    """A SHA-256 as 64 lowercase hex digits (None stays None), or a WorkshopError saying what is wrong."""
    if sha256 is None:
        return None
    value = str(sha256).strip().lower().removeprefix("sha256:").removeprefix("sha256=")
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise WorkshopError(
            f"{sha256!r} is not a SHA-256 checksum (64 hexadecimal digits). "
            "Fix: copy the checksum that `python -m helpers.export` printed, or `sha256sum FILE`."
        )
    return value


def looks_like_html(head: bytes) -> bool:
    """True for the start of a web page (what a captive portal or a wrong link sends instead of a file)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith(HTML_STARTS) or (start.startswith(b"<") and b"<html" in start[:1024])


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    what: str = "the file",
    fix: str = "",
    sha256: str | None = None,
    check: Callable[[Path], None] | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Download `url` to `dest` atomically: either the whole, checked file is there afterwards, or nothing.

    `what` names the file in messages ("the tiny Shakespeare corpus"); `fix` is appended to every
    message's advice after a comma ("or copy the file to data/"); `sha256`, when given, must match before the file is
    kept; `check(path)` may raise a WorkshopError to refuse the content (it sees the temporary file).
    """
    dest = Path(dest)
    sha256 = normalise_sha256(sha256)
    fix = f", {fix}" if fix else ""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        got, expected, digest = _fetch(url, tmp, what, fix, timeout, progress, dest.name)
        if expected is not None and got != expected:
            raise WorkshopError(
                f"The download of {what} from {url} stopped after {got:,} of {expected:,} bytes (the connection "
                f"dropped). Nothing was saved. Fix: run it again{fix}."
            )
        if sha256 is not None and digest != sha256:
            raise WorkshopError(
                f"The file downloaded from {url} is not {what}: its SHA-256 is {digest}, expected {sha256}. "
                f"Nothing was saved. Fix: on a network with a login page, log in (open any website in a browser) and "
                f"run it again; else check the link and the checksum{fix}."
            )
        if check is not None:
            check(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _fetch(url, tmp: Path, what: str, fix: str, timeout: float, progress: bool, label: str):
    """Stream `url` into `tmp`; returns (bytes received, Content-Length or None, SHA-256 of the bytes)."""
    digest, got = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            expected = _content_length(response)
            content_type = (response.headers.get("Content-Type") or "").lower()
            if "text/html" in content_type or "application/xhtml" in content_type:
                raise _web_page_error(url, what, fix)
            with (
                open(tmp, "wb") as f,
                tqdm(
                    total=expected,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=f"downloading {label}",
                    disable=not progress,
                ) as bar,
            ):
                while chunk := response.read(CHUNK_BYTES):
                    if got == 0 and looks_like_html(chunk):
                        raise _web_page_error(url, what, fix)
                    f.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
                f.flush()
                os.fsync(f.fileno())
    except urllib.error.HTTPError as err:  # before URLError: it is one
        advice = (
            "the link is wrong, or the file was removed or is private. Fix: check the link"
            if err.code == 404
            else "the server refused or failed. Fix: try again in a minute, check the link"
        )
        raise WorkshopError(
            f"Could not download {what}: {url} answered HTTP {err.code} {err.reason}; {advice}{fix}."
        ) from None
    except http.client.IncompleteRead as err:
        raise WorkshopError(
            f"The download of {what} from {url} stopped after {got + len(err.partial):,} bytes (the connection "
            f"dropped). Nothing was saved. Fix: run it again{fix}."
        ) from None
    except (OSError, http.client.HTTPException) as err:
        if isinstance(err, OSError) and (err.filename is not None or err.errno in DISK_ERRNOS):  # disk, not network
            raise WorkshopError(
                f"Could not save {what} to {tmp.parent} ({err.strerror}). "
                f"Fix: free some disk space or make the folder writable{fix}."
            ) from None
        reason = getattr(err, "reason", None) or err
        raise WorkshopError(
            f"Could not download {what} from {url} ({type(err).__name__}: {reason}). Fix: connect to the internet{fix}."
        ) from None
    return got, expected, digest.hexdigest()


def _content_length(response) -> int | None:
    try:
        value = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _web_page_error(url: str, what: str, fix: str) -> WorkshopError:
    return WorkshopError(
        f"{url} sent a web page instead of {what} (a Wi-Fi login page, or a link to a page rather than to the "
        f"file itself). Nothing was saved. Fix: open any website in a browser and log in to the network, or "
        f"check that the link points at the raw file; then run it again{fix}."
    )
