"""The padding and packing demonstrations: pad counts, and the arithmetic of the counting RNN."""

import torch
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.demos import DEMO_TEXTS, expected_finals, packing_demo, padding_demo


def test_padding_demo_pads_each_text_to_the_longest(small_tsv):
    d = padding_demo(small_tsv)
    assert d.tokens[2] == ["i", "really", "really", "loved", "it"]   # lower-cased by the tokenizer
    assert d.padded.shape == (3, 5)
    assert d.lengths.tolist() == [3, 4, 5]
    assert d.pad_counts == [2, 1, 0]
    assert (d.padded == d.pad_index).sum() == 3
    assert d.padded[0, 3:].tolist() == [d.pad_index] * 2
    assert d.ids[0] == d.vocab.lookup_indices(["i", "hated", "it"])
    assert d.vocab.unk_index not in d.ids[0]                           # the sample data knows these words


def test_packing_final_values_differ_by_the_padding_steps(small_tsv):
    d = padding_demo(small_tsv)
    p = packing_demo(d.padded, d.lengths, d.pad_index)
    packed, unpacked = expected_finals(p)
    assert p.packed_final.tolist() == packed
    assert p.unpacked_final.tolist() == unpacked
    diff = (p.unpacked_final - p.packed_final).tolist()
    assert diff == [k * (d.pad_index + 1) for k in d.pad_counts] == [4.0, 2.0, 0.0]
    # every step: h_t = t + sum of the first t inputs
    steps = torch.arange(1, d.padded.shape[1] + 1, dtype=torch.float32)
    assert torch.equal(p.unpacked_outputs, steps + d.padded.float().cumsum(1))
    for i, n in enumerate(d.lengths.tolist()):
        assert torch.equal(p.packed_outputs[i, :n], p.unpacked_outputs[i, :n])
        assert p.packed_outputs[i, n:].abs().sum() == 0


def test_demo_commands_print_the_explanation(small_tsv):
    r = CliRunner().invoke(app, ["demo", "padding", "--data", str(small_tsv)])
    assert r.exit_code == 0, r.output
    assert "row 0: 3 tokens + 2 x <pad> (1) at positions 3..4" in r.output
    assert "3 in all" in r.output
    r = CliRunner().invoke(app, ["demo", "packing", "--data", str(small_tsv)])
    assert r.exit_code == 0, r.output
    assert "difference 4 = 2 padding steps x (1 + 1)" in r.output
    assert len(DEMO_TEXTS) == 3
