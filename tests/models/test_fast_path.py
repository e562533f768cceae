"""The CPU padded path gives the packed reference's outputs and gradients (within 1e-5) for every cell."""

from __future__ import annotations

import pytest
import torch

from rnnlab.config import ModelConfig
from rnnlab.models import build_model


@pytest.mark.parametrize("cell,act", [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")])
@pytest.mark.parametrize("bi", [False, True])
@pytest.mark.parametrize("layers,pooling", [(1, "final+max+mean"), (1, "final"), (2, "final"), (2, "final+max+mean")])
def test_padded_path_matches_packed(cell, act, bi, layers, pooling):
    torch.manual_seed(0)
    cfg = ModelConfig(model=cell, activation=act, vocab_size=30, embedding_dim=6, recurrent_dim=5, hidden_dim=4,
                      layers=layers, bidirectional=bi, freeze_embeddings=False, pooling=pooling)
    model = build_model(cfg, None, torch.randn(30, 6)).eval()
    lengths = torch.tensor([7, 1, 4, 7, 2])
    text = torch.randint(2, 30, (5, 7))
    text[torch.arange(7)[None, :] >= lengths[:, None]] = 1  # <pad>
    results = []
    for padded in (False, True):
        model.cpu_padded = padded
        model.zero_grad()
        logits = model.forward_logits(text, lengths)
        logits.sum().backward()
        results.append((logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (ref, ref_g), (fast, fast_g) = results
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-5)
    for name in ref_g:
        torch.testing.assert_close(fast_g[name], ref_g[name], rtol=0, atol=1e-5, msg=name)
