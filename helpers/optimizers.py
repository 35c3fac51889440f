"""Optimizers: AdamW for everything (GPT-2's way), or Muon for the blocks' weight matrices and AdamW for the rest.

What it knows: which parameters go where (`split_parameters`), PyTorch's own `torch.optim.Muon` (in every
torch this project supports, >= 2.11), and how to step, save and load the two as one optimizer, so the
trainer, the grad scaler and checkpoints see a single object with the usual `param_groups` and
`state_dict()`. Muon is set to "match_rms_adamw" (Moonshot's scaling): its updates are as large as
AdamW's, so both take the same learning rate schedule.
What it does not: the schedule (trainer.lr_at sets each group's lr), the training loop.
"""

from __future__ import annotations

import torch

OPTIMIZERS = ("adamw", "muon")


def split_parameters(model: torch.nn.Module) -> tuple[list, list, list]:
    """(block matrices, other matrices, vectors): Muon takes the first; the embeddings, the head and every
    bias and norm weight stay with AdamW (the Muon authors' advice: it is for hidden-layer matrices)."""
    matrices, other_matrices, vectors = [], [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.dim() < 2:
            vectors.append(p)
        elif ".h." in f".{name}":  # transformer.h.<layer>.…: a block's weight matrix
            matrices.append(p)
        else:
            other_matrices.append(p)
    return matrices, other_matrices, vectors


class MuonWithAdamW:
    """Muon and AdamW stepped together, seen from outside as one optimizer (param_groups, state_dict, step)."""

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.Optimizer):
        self.optimizers = (muon, adamw)

    @property
    def param_groups(self) -> list[dict]:
        return [group for opt in self.optimizers for group in opt.param_groups]  # the groups themselves

    def step(self, closure=None):
        if closure is not None:
            raise TypeError("MuonWithAdamW.step takes no closure")
        for opt in self.optimizers:
            opt.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        """One state dict in PyTorch's layout: Muon's parameters numbered first, then AdamW's after them."""
        muon, adamw = (opt.state_dict() for opt in self.optimizers)
        offset = sum(len(g["params"]) for g in muon["param_groups"])
        state = {**muon["state"], **{i + offset: s for i, s in adamw["state"].items()}}
        groups = muon["param_groups"] + [
            {**g, "params": [i + offset for i in g["params"]]} for g in adamw["param_groups"]
        ]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        n_muon = len(self.optimizers[0].param_groups)
        muon_groups, adamw_groups = state_dict["param_groups"][:n_muon], state_dict["param_groups"][n_muon:]
        offset = sum(len(g["params"]) for g in muon_groups)
        state = {int(i): s for i, s in state_dict["state"].items()}
        self.optimizers[0].load_state_dict(
            {"state": {i: s for i, s in state.items() if i < offset}, "param_groups": muon_groups}
        )
        self.optimizers[1].load_state_dict(
            {
                "state": {i - offset: s for i, s in state.items() if i >= offset},
                "param_groups": [{**g, "params": [i - offset for i in g["params"]]} for g in adamw_groups],
            }
        )


def make_optimizer(
    model: torch.nn.Module,
    kind: str,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float],
    fused: bool = False,
):
    """AdamW with weight decay on the matrices only (GPT-2's recipe), or Muon for the blocks' matrices."""
    extra = {"fused": True} if fused else {}
    if kind == "adamw":
        params = [p for p in model.parameters() if p.requires_grad]  # in the model's order, as checkpoints hold it
        groups = [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=lr, betas=betas, **extra)
    matrices, other_matrices, vectors = split_parameters(model)
    muon = torch.optim.Muon(matrices, lr=lr, weight_decay=weight_decay, adjust_lr_fn="match_rms_adamw")
    groups = [
        {"params": other_matrices, "weight_decay": weight_decay},
        {"params": vectors, "weight_decay": 0.0},
    ]
    return MuonWithAdamW(muon, torch.optim.AdamW(groups, lr=lr, betas=betas, **extra))
