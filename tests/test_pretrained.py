"""Starting from a published checkpoint (helpers.pretrained): downloaded once into the cache, verified
before use, never unpickled, and every bad download refused with nothing left in the cache.

Served from a local web server on 127.0.0.1 (the `local_server` fixture); nothing touches the network.
"""

from __future__ import annotations

import hashlib
import pickle
import sys

import pytest
import torch

from helpers import GPT, CharTokenizer, GPTConfig, WorkshopError, load_pretrained, save_checkpoint
from helpers.pretrained import configured_pretrained, fetch_pretrained, published_model

PORTAL = b"<!DOCTYPE html><html><body>Log in to the conference Wi-Fi</body></html>"


@pytest.fixture
def published(tmp_path):
    """A small trained-looking checkpoint as an instructor would publish it: (bytes, sha256, model)."""
    torch.manual_seed(0)
    tokenizer = CharTokenizer.from_text("To be, or not to be:\n that is the question.")
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=16))
    path = save_checkpoint(tmp_path / "published.safetensors", model, tokenizer, training={"best_val_loss": 1.5})
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest(), model


def cache_files(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_downloads_once_verifies_and_loads(local_server, published, tmp_path):
    data, sha, original = published
    url = local_server.serve("/models/gpt-from-scratch.safetensors", data)
    cache = tmp_path / "cache"
    model, tokenizer = load_pretrained(f"{url}#sha256={sha}", device="cpu", cache=cache)
    assert same_weights(model, original) and not model.training
    assert tokenizer.chars == CharTokenizer.from_text("To be, or not to be:\n that is the question.").chars
    assert cache_files(cache) == [f"{sha[:16]}-gpt-from-scratch.safetensors"]
    again, _ = load_pretrained(url, sha256=sha, device="cpu", cache=cache)  # the checksum as an argument
    assert same_weights(again, original)
    assert local_server.requests == ["/models/gpt-from-scratch.safetensors"]  # downloaded once


def test_a_damaged_cached_copy_is_downloaded_again(local_server, published, tmp_path, capsys):
    data, sha, original = published
    url = local_server.serve("/m.safetensors", data)
    path = fetch_pretrained(f"{url}#sha256={sha}", cache=tmp_path)
    path.write_bytes(data[:100])  # a disk error, or someone's edit
    assert fetch_pretrained(f"{url}#sha256={sha}", cache=tmp_path).read_bytes() == data
    assert "damaged" in capsys.readouterr().out and len(local_server.requests) == 2


def test_wrong_checksum_leaves_nothing_in_the_cache(local_server, published, tmp_path):
    data, sha, _ = published
    url = local_server.serve("/m.safetensors", data)
    with pytest.raises(WorkshopError, match=r"is not the published checkpoint: its SHA-256 is .*Nothing was saved"):
        load_pretrained(url, sha256="f" * 64, cache=tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


@pytest.mark.parametrize("how", ["truncated", "chunked-truncated"])
def test_truncated_download_leaves_nothing_in_the_cache(local_server, published, tmp_path, how):
    data, sha, _ = published
    url = local_server.serve("/m.safetensors", data, how=how)
    with pytest.raises(WorkshopError, match="stopped after .* bytes .*Nothing was saved"):
        load_pretrained(url, sha256=sha, cache=tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


def test_404_names_the_link_and_leaves_nothing(local_server, published, tmp_path):
    _, sha, _ = published
    with pytest.raises(WorkshopError, match="answered HTTP 404 Not Found; the link is wrong"):
        load_pretrained(local_server.url("/gone.safetensors"), sha256=sha, cache=tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


def test_a_login_page_is_not_kept(local_server, published, tmp_path):
    _, sha, _ = published
    url = local_server.serve("/m.safetensors", PORTAL, content_type="text/html")
    with pytest.raises(WorkshopError, match="sent a web page instead of the published checkpoint"):
        load_pretrained(url, sha256=sha, cache=tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


def test_a_pickle_is_refused_unopened_even_with_its_right_checksum(local_server, published, tmp_path, monkeypatch):
    _, _, model = published
    import io

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)  # what torch.save publishes: a zip of pickles
    for payload in (buffer.getvalue(), pickle.dumps({"weights": [1.0, 2.0]}, protocol=4)):
        url = local_server.serve("/model.pt", payload)

        def never(*args, **kwargs):
            raise AssertionError("a downloaded file was unpickled")

        monkeypatch.setattr(torch, "load", never)
        monkeypatch.setattr(pickle, "load", never)
        monkeypatch.setattr(pickle, "loads", never)
        with pytest.raises(WorkshopError) as err:
            load_pretrained(url, sha256=hashlib.sha256(payload).hexdigest(), cache=tmp_path / "cache")
        monkeypatch.undo()
        message = str(err.value)
        assert "cannot be used, so it was not kept: it is a PyTorch pickle" in message
        assert "\n" not in message
        assert cache_files(tmp_path / "cache") == []


def test_a_url_without_checksum_is_refused_before_downloading(local_server, published, tmp_path):
    data, _, _ = published
    url = local_server.serve("/m.safetensors", data)
    with pytest.raises(WorkshopError, match="No SHA-256 given .*#sha256="):
        load_pretrained(url, cache=tmp_path)
    assert local_server.requests == []


def test_two_different_checksums_are_refused(published):
    _, sha, _ = published
    with pytest.raises(WorkshopError, match="Two different checksums"):
        fetch_pretrained(f"http://127.0.0.1:9/m.safetensors#sha256={sha}", sha256="0" * 64)


def test_a_local_file_is_used_in_place_and_checked_when_a_checksum_is_given(published, tmp_path):
    data, sha, original = published
    path = tmp_path / "published.safetensors"  # written by the fixture
    assert fetch_pretrained(path) == path and fetch_pretrained(f"{path}#sha256={sha}") == path
    model, _ = load_pretrained(path, device="cpu")
    assert same_weights(model, original)
    with pytest.raises(WorkshopError, match="is not the expected checkpoint"):
        fetch_pretrained(path, sha256="0" * 64)
    with pytest.raises(WorkshopError, match="No checkpoint at"):
        fetch_pretrained(tmp_path / "missing.safetensors")


def test_the_setting_is_read_from_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\npretrained = "not this one"\n\n[tool.gpt-from-scratch]\ngithub = "a/b"\n'
        '# comment\npretrained = "https://example.org/m.safetensors#sha256=abc"  # trailing comment\n\n'
        '[tool.ruff]\npretrained = "nor this one"\n'
    )
    assert configured_pretrained(pyproject) == "https://example.org/m.safetensors#sha256=abc"
    if sys.version_info >= (3, 11):  # the regular expression reads what a TOML parser reads
        import tomllib

        assert tomllib.loads(pyproject.read_text())["tool"]["gpt-from-scratch"]["pretrained"] == (
            configured_pretrained(pyproject)
        )
    pyproject.write_text('[tool.gpt-from-scratch]\ngithub = "a/b"\npretrained = ""\n')
    assert configured_pretrained(pyproject) is None
    assert configured_pretrained(tmp_path / "missing.toml") is None


def test_the_repository_ships_without_a_published_model():
    assert configured_pretrained() is None  # an instructor sets it in their fork


def test_trained_model_uses_the_published_checkpoint(local_server, published, tmp_path, monkeypatch):
    from helpers.notebook import trained_model

    data, sha, original = published
    url = local_server.serve("/m.safetensors", data)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("helpers.pretrained.configured_pretrained", lambda: f"{url}#sha256={sha}")
    monkeypatch.setattr("helpers.pretrained.smoke_mode", lambda: False)
    model, _ = trained_model("cpu", run=tmp_path / "run")
    assert same_weights(model, original)
    assert not (tmp_path / "run").exists()  # nothing was trained
    assert cache_files(tmp_path / "cache" / "gpt-from-scratch") == [f"{sha[:16]}-m.safetensors"]


def test_smoke_mode_never_downloads(local_server, published, monkeypatch):
    data, sha, _ = published
    url = local_server.serve("/m.safetensors", data)
    monkeypatch.setattr("helpers.pretrained.configured_pretrained", lambda: f"{url}#sha256={sha}")
    monkeypatch.setenv("WORKSHOP_SMOKE", "1")
    assert published_model("cpu") is None
    assert local_server.requests == []
