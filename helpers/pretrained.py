"""Start from a model someone published: download it once, verify its SHA-256, load it (never unpickled).

What it knows:
- a source is a URL with its checksum (`https://…/gpt-from-scratch.safetensors#sha256=<64 hex digits>`, the
  line `python -m helpers.export` prints), or a local checkpoint file or run folder;
- downloads are cached in ~/.cache/gpt-from-scratch ($XDG_CACHE_HOME/gpt-from-scratch when set), named by
  their checksum: outside the checkout, so every clone, worktree and notebook on the machine shares one copy
  and nothing can be committed by mistake; in Colab /root/.cache lasts as long as the runtime, like /content;
- the one setting an instructor changes: `pretrained = "URL#sha256=…"` under `[tool.gpt-from-scratch]` in
  pyproject.toml. It travels with the repository, so a fresh clone in Colab has it with no step by anyone.

What it does not know: how the file is read (helpers.checkpoint: safetensors only, pickles refused) or
downloaded (helpers.download).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

from .checkpoint import load_checkpoint, load_model, resolve_checkpoint_path
from .device import pick_device
from .download import download, normalise_sha256, sha256_of
from .errors import WorkshopError, require
from .presets import smoke_mode
from .settings import project_setting

PUBLISHED_NAME = "gpt-from-scratch.safetensors"  # what python -m helpers.export writes for publishing
SETTING = "pretrained"  # the key under [tool.gpt-from-scratch] in pyproject.toml
URL_SCHEMES = ("http", "https", "file")


def cache_dir() -> Path:
    """~/.cache/gpt-from-scratch, or $XDG_CACHE_HOME/gpt-from-scratch."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "gpt-from-scratch"


def split_source(source: str | os.PathLike, sha256: str | None = None) -> tuple[str, str | None]:
    """`URL#sha256=HEX` → (URL, HEX); a checksum given both ways must agree."""
    source = str(source).strip()
    require(source != "", "The published checkpoint is an empty string. Fix: give its URL#sha256=… or a file path.")
    in_source = None
    if "#sha256=" in source:
        source, in_source = source.split("#sha256=", 1)
        in_source = normalise_sha256(in_source)
    sha256 = normalise_sha256(sha256)
    require(
        sha256 is None or in_source is None or sha256 == in_source,
        f"Two different checksums were given for {source}: {in_source} in the link and {sha256}. "
        "Fix: give one (the one printed by python -m helpers.export for this file).",
    )
    return source, sha256 or in_source


def is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in URL_SCHEMES


def cached_name(url: str, sha256: str) -> str:
    """The file name in the cache: the checksum first (a new file never hides behind an old one's name)."""
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    name = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "checkpoint.safetensors"
    return f"{sha256[:16]}-{name}"


def fetch_pretrained(
    source: str | os.PathLike, sha256: str | None = None, cache: str | os.PathLike | None = None, progress=True
) -> Path:
    """The local path of a published checkpoint, downloading it into the cache the first time.

    A URL needs its SHA-256 (in the link as `#sha256=…` or as `sha256=`): the file is checked against it
    before it is kept, and again before each use. A local path is checked when a checksum is given.
    """
    source, sha256 = split_source(source, sha256)
    if not is_url(source):
        path = resolve_checkpoint_path(source)
        if sha256 is not None:
            actual = sha256_of(path)
            require(
                actual == sha256,
                f"{path} is not the expected checkpoint: its SHA-256 is {actual}, expected {sha256}. "
                "Fix: use the file that checksum belongs to, or drop the checksum to load this file anyway.",
            )
        return path
    require(
        sha256 is not None,
        f"No SHA-256 given for {source}: a downloaded model is used only when it is verified. "
        f"Fix: append #sha256=<checksum> to the link (python -m helpers.export prints it for the file it writes).",
    )
    dest = Path(cache).expanduser() if cache is not None else cache_dir()
    dest = dest / cached_name(source, sha256)
    if dest.is_file():
        if sha256_of(dest) == sha256:
            return dest
        print(f"The cached copy {dest} is damaged (its checksum changed): downloading it again.")
        dest.unlink()
    return download(
        source,
        dest,
        what="the published checkpoint",
        fix="or ask for the file and pass its local path instead",
        sha256=sha256,
        check=lambda tmp: _check_checkpoint(tmp, source),
        progress=progress,
    )


def _check_checkpoint(path: Path, url: str) -> None:
    """Refuse what is not a whole gpt-from-scratch checkpoint (a pickle is recognised, never loaded)."""
    try:
        load_checkpoint(path)
    except WorkshopError as err:
        reason = str(err).replace(str(path), "it").split(" Fix:")[0]
        raise WorkshopError(
            f"The file at {url} cannot be used, so it was not kept: {reason} Fix: ask whoever published it for "
            f"the {PUBLISHED_NAME} that python -m helpers.export writes, and its #sha256=."
        ) from None


def load_pretrained(
    source: str | os.PathLike, sha256: str | None = None, device: str | None = None, cache=None, progress=True
):
    """`(model, tokenizer)` from a published checkpoint (URL#sha256=…, or a local file or run folder).

    The model is in eval mode on `device` (default: the best this machine has).
    """
    path = fetch_pretrained(source, sha256, cache, progress)
    return load_model(path, pick_device(device))


# --------------------------------------------------------------------------------------------
# The instructor's setting


def configured_pretrained(pyproject: str | os.PathLike | None = None) -> str | None:
    """`pretrained` under [tool.gpt-from-scratch] in the checkout's pyproject.toml, or None if unset/empty."""
    return project_setting(SETTING, pyproject) or None


def published_model(device: str | None = None):
    """`(model, tokenizer)` from the instructor's published checkpoint, or None when none is configured.

    What trained_model() asks before it trains. Smoke mode (tests, CI) never downloads: None.
    """
    source = None if smoke_mode() else configured_pretrained()
    if source is None:
        return None
    model, tokenizer = load_pretrained(source, device=device)
    print(
        f"Loaded the published model ({split_source(source)[0]}): "
        f"{model.num_params() / 1e6:.2f}M parameters on {next(model.parameters()).device}."
    )
    return model, tokenizer
