"""Two playgrounds for a trained model, each one line in a notebook:

    sampling_playground(model, tokenizer)          # prompt, temperature, top-k, top-p, length, seed
    attention_explorer(model, tokenizer, "ROMEO:")  # attention weights of a prompt as a heat map

Each returns an object that displays itself, and whose widgets (`.temperature`, `.generate_button`, ...)
and state (`.sample`, `.chart`, `.weights`, `.error`) tests can drive and read without a screen.
Figures are rendered to PNG into an `ipywidgets.Image`, so they work with ipywidgets 7.7 (Colab) and 8,
without ipympl. A `WorkshopError` (e.g. a character the model never saw) shows as a message in the widget.
"""

from __future__ import annotations

import html

import torch

from .errors import WorkshopError, require
from .plotting import figure_png, new_figure
from .sampling import generate, next_token_probs


def char_label(token: str) -> str:
    """A token's text (one character, or several for BPE) as a readable tick label: newlines and spaces
    made visible, other control characters (BPE's byte tokens) written as escapes."""
    visible = {"\n": "⏎", " ": "␣", "\t": "⇥"}
    return "".join(visible.get(ch, ch if ch.isprintable() else ascii(ch)[1:-1]) for ch in token)


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def _encode_prompt(model, tokenizer, prompt: str) -> torch.Tensor:
    """The prompt as a (1, T) tensor on the model's device, cropped to the model's context."""
    require(len(prompt) > 0, "The prompt is empty. Fix: type at least one character, e.g. 'ROMEO:'.")
    ids = tokenizer.encode(prompt)[-model.config.block_size :]
    return torch.tensor([ids], dtype=torch.long, device=_device_of(model))


def _widgets():
    import ipywidgets

    return ipywidgets


def _wide(widget):
    """One description width for every control, so the sliders line up (ipywidgets 7.7 and 8 alike)."""
    widget.style = {"description_width": "110px"}
    return widget


class _Panel:
    """Shared parts: a root widget that displays itself, an error line, an image for figures."""

    root = None

    def _ipython_display_(self):
        from IPython.display import display

        display(self.root)

    @staticmethod
    def _show_figure(image, fig, dpi: int = 80) -> None:
        """Render `fig` into the Image widget at its own size (a flex box would otherwise stretch it)."""
        image.value = figure_png(fig, dpi=dpi)
        image.layout.width = f"{round(fig.get_figwidth() * dpi)}px"
        image.layout.max_width = "100%"

    def _show_error(self, err: Exception | None) -> None:
        self.error = str(err) if err is not None else ""
        self.error_box.value = (
            f"<div style='color:#b00020'>⚠️ {html.escape(self.error)}</div>" if err is not None else ""
        )


# ---- sampling playground -------------------------------------------------------------------------
class SamplingPlayground(_Panel):
    """Prompt + settings → a sample (on Generate) and the next-token distribution (live)."""

    def __init__(self, model, tokenizer, prompt: str = "ROMEO:", length: int = 200, seed: int = 1337, top_n: int = 20):
        w = _widgets()
        self.model, self.tokenizer, self.top_n = model, tokenizer, top_n
        vocab = tokenizer.vocab_size
        slider = dict(continuous_update=False)
        self.prompt = _wide(w.Text(value=prompt, description="prompt", continuous_update=False))
        self.temperature = _wide(
            w.FloatSlider(value=0.8, min=0.0, max=2.0, step=0.05, description="temperature", **slider)
        )
        self.top_k = _wide(w.IntSlider(value=0, min=0, max=vocab, description="top-k (0 = off)", **slider))
        self.top_p = _wide(
            w.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, description="top-p (1 = off)", **slider)
        )
        self.length = _wide(w.IntSlider(value=length, min=1, max=1000, description="length", **slider))
        self.seed = _wide(w.IntText(value=seed, description="seed"))
        self.generate_button = w.Button(description="Generate", button_style="primary")
        self.sample_box = w.HTML()
        self.chart_image = w.Image(format="png")
        self.error_box = w.HTML()
        for widget, name in [
            (self.prompt, "prompt"),
            (self.temperature, "temperature"),
            (self.top_k, "top-k"),
            (self.top_p, "top-p"),
            (self.length, "length"),
            (self.seed, "seed"),
            (self.generate_button, "generate"),
            (self.sample_box, "sample"),
            (self.chart_image, "next-token-chart"),
            (self.error_box, "error"),
        ]:
            widget.add_class(f"gpt-{name}")
        controls = w.VBox(
            [self.prompt, self.temperature, self.top_k, self.top_p, self.length, self.seed, self.generate_button]
        )
        self.root = w.VBox([w.HBox([controls, self.chart_image]), self.error_box, self.sample_box])
        self.root.add_class("gpt-playground")

        self.sample, self.error, self.chart = "", "", {}
        self.generations = 0
        self._logits_for: tuple[str, torch.Tensor] | None = None  # cache: the model runs once per prompt
        for widget in (self.prompt, self.temperature, self.top_k, self.top_p):
            widget.observe(lambda change: self.update_chart(), names="value")
        self.generate_button.on_click(lambda button: self.generate())
        self.update_chart()
        self.generate()

    def settings(self) -> dict:
        """The sampling settings the sliders stand for (0 top-k and 1 top-p mean 'off')."""
        return dict(
            temperature=float(self.temperature.value),
            top_k=int(self.top_k.value) or None,
            top_p=float(self.top_p.value) if self.top_p.value < 1 else None,
        )

    @torch.no_grad()
    def _last_logits(self) -> torch.Tensor:
        prompt = self.prompt.value
        if self._logits_for is None or self._logits_for[0] != prompt:
            was_training = self.model.training
            self.model.eval()
            logits, _ = self.model(_encode_prompt(self.model, self.tokenizer, prompt))
            self.model.train(was_training)
            self._logits_for = (prompt, logits[0, -1].float().cpu())
        return self._logits_for[1]

    def update_chart(self) -> None:
        """Bars: the `top_n` likeliest next characters under the current settings, plain softmax in grey."""
        try:
            logits = self._last_logits()
            probs = next_token_probs(logits, **self.settings())
        except WorkshopError as err:
            self._show_error(err)
            return
        self._show_error(None)
        plain = torch.softmax(logits, dim=-1)
        order = torch.argsort(probs + 1e-9 * plain, descending=True)[: self.top_n]  # ties (zeros): by plain prob
        chars = [self.tokenizer.decode([int(i)]) for i in order]  # a token's text (a BPE token: several chars)
        self.chart = {
            "chars": chars,
            "probs": [float(probs[i]) for i in order],
            "plain_probs": [float(plain[i]) for i in order],
            "settings": self.settings(),
        }
        self.probs = probs
        self._show_figure(self.chart_image, self._draw_chart())

    def _draw_chart(self):
        fig = new_figure(5.5, 3.2)
        ax = fig.add_subplot()
        x = range(len(self.chart["chars"]))
        ax.bar(x, self.chart["plain_probs"], color="lightgray", label="plain softmax (temperature 1)")
        ax.bar(x, self.chart["probs"], width=0.5, color="tab:blue", label="with your settings")
        ax.set_xticks(list(x))
        ax.set_xticklabels([char_label(c) for c in self.chart["chars"]])
        ax.set_ylim(0, min(1.0, 1.15 * max(max(self.chart["probs"]), max(self.chart["plain_probs"]))))
        ax.set_ylabel("probability")
        ax.set_title(f"next character after {self.prompt.value[-20:]!r}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig

    def generate(self) -> str:
        """Sample `length` characters after the prompt with the current settings and seed."""
        try:
            idx = _encode_prompt(self.model, self.tokenizer, self.prompt.value)
            out = generate(self.model, idx, int(self.length.value), seed=int(self.seed.value), **self.settings())
        except WorkshopError as err:
            self._show_error(err)
            return self.sample
        self._show_error(None)
        prompt = self.prompt.value  # the whole prompt, even when only its last block_size chars were fed
        self.sample = prompt + self.tokenizer.decode(out[0, idx.size(1) :])
        self.generations += 1
        self.sample_box.value = (
            f"<pre style='white-space:pre-wrap'><b>{html.escape(prompt)}</b>"
            f"{html.escape(self.sample[len(prompt) :])}</pre>"
        )
        return self.sample


def sampling_playground(model, tokenizer, prompt: str = "ROMEO:", **options) -> SamplingPlayground:
    """One line in a notebook: sliders for temperature, top-k, top-p, length and seed, and what they do."""
    return SamplingPlayground(model, tokenizer, prompt=prompt, **options)


# ---- attention explorer --------------------------------------------------------------------------
class AttentionExplorer(_Panel):
    """Layer and head (or all heads) → heat map of who attends to whom over the prompt's characters."""

    ALL_HEADS = -1

    def __init__(self, model, tokenizer, prompt: str = "ROMEO:"):
        w = _widgets()
        self.model, self.tokenizer = model, tokenizer
        cfg = model.config
        self.prompt = _wide(w.Text(value=prompt, description="prompt", continuous_update=False))
        self.layer = w.Dropdown(options=[(f"layer {i}", i) for i in range(cfg.n_layer)], value=0, description="layer")
        self.head = w.Dropdown(
            options=[("all heads", self.ALL_HEADS)] + [(f"head {h}", h) for h in range(cfg.n_head)],
            value=self.ALL_HEADS,
            description="head",
        )
        self.heatmap_image = w.Image(format="png")
        self.error_box = w.HTML()
        for widget, name in [
            (self.prompt, "attention-prompt"),
            (self.layer, "layer"),
            (self.head, "head"),
            (self.heatmap_image, "attention-heatmap"),
            (self.error_box, "error"),
        ]:
            widget.add_class(f"gpt-{name}")
        self.root = w.VBox([w.HBox([self.prompt, self.layer, self.head]), self.error_box, self.heatmap_image])
        self.root.add_class("gpt-attention-explorer")

        self.error, self.tokens, self.maps, self.weights = "", [], None, None
        for widget in (self.prompt, self.layer, self.head):
            widget.observe(lambda change: self.update(), names="value")
        self.update()

    def update(self) -> None:
        try:
            idx = _encode_prompt(self.model, self.tokenizer, self.prompt.value)
        except WorkshopError as err:
            self._show_error(err)
            return
        self._show_error(None)
        self.tokens = [self.tokenizer.decode([int(i)]) for i in idx[0]]
        self.maps = self.model.attention_maps(idx)[:, 0].float().cpu()  # (n_layer, n_head, T, T)
        layer = self.maps[self.layer.value]
        self.weights = layer if self.head.value == self.ALL_HEADS else layer[self.head.value]
        self._show_figure(self.heatmap_image, self._draw())

    def _draw(self):
        heads = list(range(self.weights.size(0))) if self.weights.dim() == 3 else [self.head.value]
        grids = self.weights if self.weights.dim() == 3 else self.weights[None]
        cols = len(heads) if len(heads) <= 4 else 3
        rows = (len(heads) + cols - 1) // cols
        side = 3.3 if len(heads) > 1 else 5.5  # one head gets room for its character labels
        fig = new_figure(max(side * cols, 5.5), side * rows + 0.4)
        labels = [char_label(c) for c in self.tokens]
        show_labels = len(labels) <= 40  # beyond that, the characters would overlap
        for n, (head, grid) in enumerate(zip(heads, grids)):
            ax = fig.add_subplot(rows, cols, n + 1)
            ax.imshow(grid.numpy(), cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"layer {self.layer.value}, head {head}", fontsize=9)
            if show_labels:
                ax.set_xticks(range(len(labels)))
                ax.set_xticklabels(labels, fontsize=7)
                ax.set_yticks(range(len(labels)))
                ax.set_yticklabels(labels, fontsize=7)
            ax.set_xlabel("attends to (key)", fontsize=8)
            ax.set_ylabel("query", fontsize=8)
        fig.suptitle("attention weights: each row sums to 1; above the diagonal is masked (no peeking)", fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.96))  # leave the top strip to the suptitle
        return fig


def attention_explorer(model, tokenizer, prompt: str = "ROMEO:") -> AttentionExplorer:
    """One line in a notebook: pick a layer and a head (or all) and see the prompt's attention weights."""
    return AttentionExplorer(model, tokenizer, prompt=prompt)
