"""The sampling playground and the attention explorer, driven from Python: set values, click,
and assert on their state and on the data behind their figures (not on pixels)."""

from __future__ import annotations

import pytest
import torch

from helpers import GPT, CharTokenizer, GPTConfig, generate, next_token_probs
from helpers.widgets import AttentionExplorer, SamplingPlayground, attention_explorer, char_label, sampling_playground

TEXT = "ROMEO:\nhello world, JULIET!\n"


@pytest.fixture
def tokenizer():
    return CharTokenizer.from_text(TEXT)


@pytest.fixture
def model(tokenizer):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=2, n_head=4, n_embd=32, dropout=0.0))


def test_playground_starts_with_a_sample_and_a_chart(model, tokenizer):
    play = sampling_playground(model, tokenizer, prompt="ROMEO:", length=30)
    assert isinstance(play, SamplingPlayground)
    assert play.sample.startswith("ROMEO:") and len(play.sample) == len("ROMEO:") + 30
    assert "ROMEO:" in play.sample_box.value
    assert bytes(play.chart_image.value).startswith(b"\x89PNG")
    assert len(play.chart["chars"]) == min(20, tokenizer.vocab_size)
    assert play.error == ""


def test_chart_is_next_token_probs_under_the_current_settings(model, tokenizer):
    play = sampling_playground(model, tokenizer, prompt="hello", length=5)
    with torch.no_grad():
        logits, _ = model(torch.tensor([tokenizer.encode("hello")]))
    expected = next_token_probs(logits[0, -1], temperature=0.8)
    chars = play.chart["chars"]
    assert play.chart["probs"] == pytest.approx([float(expected[tokenizer.stoi[c]]) for c in chars], abs=1e-6)
    assert play.chart["probs"] == sorted(play.chart["probs"], reverse=True)

    play.temperature.value = 0.0  # greedy: all mass on one character
    assert play.chart["probs"][0] == pytest.approx(1.0) and sum(play.chart["probs"][1:]) == 0
    play.temperature.value = 1.0
    play.top_k.value = 3  # only three characters keep any probability
    assert sum(p > 0 for p in play.chart["probs"]) == 3
    assert sum(play.chart["probs"]) == pytest.approx(1.0, abs=1e-5)
    assert play.chart["settings"] == {"temperature": 1.0, "top_k": 3, "top_p": None}
    play.top_k.value = 0
    play.top_p.value = 0.3
    assert play.settings()["top_p"] == pytest.approx(0.3)
    assert 0 < sum(p > 0 for p in play.chart["probs"]) < tokenizer.vocab_size


def test_generate_button_uses_length_seed_and_temperature(model, tokenizer):
    play = sampling_playground(model, tokenizer, prompt="ROMEO:", length=20, seed=1)
    first = play.sample
    play.generate_button.click()
    assert play.sample == first and play.generations == 2  # same seed, same settings: same text

    play.length.value = 40
    play.temperature.value = 0.0
    play.generate_button.click()
    greedy = generate(model, torch.tensor([tokenizer.encode("ROMEO:")]), 40, temperature=0.0)
    assert play.sample == tokenizer.decode(greedy[0])

    play.temperature.value = 1.5
    play.seed.value = 7
    play.generate_button.click()
    assert play.sample != tokenizer.decode(greedy[0]) and len(play.sample) == len("ROMEO:") + 40


def test_prompt_longer_than_the_context_is_cropped_not_an_error(model, tokenizer):
    play = sampling_playground(model, tokenizer, prompt="hello world " * 5, length=10)
    assert play.error == "" and play.sample.startswith("hello world " * 5)


def test_unknown_characters_show_the_workshop_error_in_the_widget(model, tokenizer):
    play = sampling_playground(model, tokenizer, prompt="ROMEO:", length=10)
    good_sample, good_chart = play.sample, play.chart
    play.prompt.value = "Roméo"
    assert "never seen" in play.error and "'é'" in play.error and "Fix:" in play.error
    assert "never seen" in play.error_box.value
    play.generate_button.click()
    assert play.sample == good_sample and play.chart == good_chart  # nothing silently changed
    play.prompt.value = ""
    play.generate_button.click()
    assert "prompt is empty" in play.error
    play.prompt.value = "hello"
    assert play.error == "" and play.error_box.value == ""


def test_attention_explorer_shows_the_models_attention_maps(model, tokenizer):
    explore = attention_explorer(model, tokenizer, prompt="ROMEO: hello")
    assert isinstance(explore, AttentionExplorer)
    maps = model.attention_maps(torch.tensor([tokenizer.encode("ROMEO: hello")]))[:, 0]
    assert explore.tokens == list("ROMEO: hello")
    assert explore.weights.shape == (4, 12, 12)  # all heads of layer 0
    assert torch.allclose(explore.weights, maps[0])

    explore.layer.value = 1
    explore.head.value = 2
    assert torch.allclose(explore.weights, maps[1, 2])
    assert torch.allclose(explore.weights.sum(-1), torch.ones(12))  # each row is a distribution
    assert torch.all(explore.weights.triu(1) == 0)  # causal: nobody looks ahead
    assert bytes(explore.heatmap_image.value).startswith(b"\x89PNG")

    explore.prompt.value = "ROMEO"
    assert explore.weights.shape == (5, 5)
    explore.prompt.value = "ROMEO€"
    assert "never seen" in explore.error and explore.weights.shape == (5, 5)


def test_char_labels_make_whitespace_visible():
    assert [char_label(c) for c in "\n a"] == ["⏎", "␣", "a"]


@pytest.mark.parametrize(
    "make, css_class",
    [(sampling_playground, "gpt-playground"), (attention_explorer, "gpt-attention-explorer")],
    ids=["playground", "explorer"],
)
def test_widgets_display_themselves(model, tokenizer, monkeypatch, make, css_class):
    """A cell ending in `sampling_playground(...)` shows the widget: IPython's formatter hands the object to
    `display`, which gets its root widget, whose view is the widget model every frontend renders."""
    from IPython.core.formatters import DisplayFormatter

    panel = make(model, tokenizer)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objects, **kwargs: shown.extend(objects))
    assert DisplayFormatter().format(panel) == ({}, {})  # it displayed itself ...
    assert shown == [panel.root]  # ... as its root widget
    data, _ = DisplayFormatter().format(panel.root)
    if not data:  # ipywidgets 7 (Colab's 7.7.1) sends the view itself: display(data, raw=True), not a repr
        sent = []
        monkeypatch.setattr("ipywidgets.widgets.widget.display", lambda data, **kwargs: sent.append(data))
        assert DisplayFormatter().format(panel.root) == ({}, {})
        (data,) = sent
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.root.model_id
    assert css_class in panel.root._dom_classes  # what the browser test finds it by
