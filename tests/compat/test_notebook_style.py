"""The notebook-style script runs on a slice of the sample data and computes what the course asks."""

import importlib.util
import math
from pathlib import Path

import torch

from rnnlab.compat.torchtext.data.utils import get_tokenizer

_spec = importlib.util.spec_from_file_location("notebook_style", Path(__file__).with_name("notebook_style.py"))
notebook_style = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(notebook_style)


def _slice(src, dst, n):
    lines = src.read_text(encoding="utf-8").splitlines()
    pos = [l for l in lines if l.startswith("pos\t")][: n // 2]
    neg = [l for l in lines if l.startswith("neg\t")][: n // 2]
    dst.write_text("\n".join(l for pair in zip(pos, neg) for l in pair) + "\n", encoding="utf-8")
    return dst


def test_notebook_style_script(sample_train, sample_test, tmp_path):
    train = _slice(sample_train, tmp_path / "train.tsv", 48)
    held = _slice(sample_test, tmp_path / "test.tsv", 24)
    # a small vectors file in GloVe text format, as the course ships one, for the slice's words
    from rnnlab.compat.torchtext.vocab import GloVe

    glove = GloVe(name="6B", dim=50)
    tok = get_tokenizer("spacy", language="en_core_web_sm")
    words = sorted({w.lower() for f in (train, held) for line in f.read_text().splitlines()
                    for w in tok(line.split("\t", 1)[1])} & set(glove.stoi))
    vec_file = tmp_path / "vectors.txt"
    vec_file.write_text("".join(w + " " + " ".join(f"{x:.5f}" for x in glove[w].tolist()) + "\n" for w in words),
                        encoding="utf-8")

    out = notebook_style.run(str(train), str(held), str(vec_file), epochs=2)

    # 1.1.1: the pad index is 0 here (specials=["<pad>", "<unk>"]), and padding fills the short rows' ends
    assert out["pad_index"] == 0
    padded = out["padded"]
    assert padded.shape == (3, 5) and padded[0, 2:].tolist() == [0, 0, 0] and padded[1, 4] == 0
    assert (padded[2] != 0).all()
    # 1.1.2: with packing the final step is each text's own last one; without, the padded end
    assert out["final_with_packing"] == [4.0, 8.0, 10.0]
    assert out["final_without_packing"] == [10.0, 10.0, 10.0]
    assert out["packed_steps"][0].tolist() == [2.0, 4.0, -1.0, -1.0, -1.0]
    for name in ("rnn", "boe", "lstm"):
        lines = out["logs"][name]
        assert [l.split("|")[1].split()[1] for l in lines[:3]] == ["0", "1", "2"]
        assert "valid acc" in lines[0] and lines[-1].startswith("\nOverall training time:")
        assert 0 <= out[f"{name}_test"]["acc"] <= 1
        # one test batch: the hand-written loop's loss is test()'s loss
        assert math.isclose(out[f"{name}_manual_loss"], out[f"{name}_test"]["loss"], rel_tol=1e-5)
    assert out["rnn_model"].embedding.padding_idx == 0
    assert list(out["predictions"].columns) == ["Input text", "Classifier probability", "Output label"]
    assert out["weights_lines"][0].startswith("EMBEDDING.WEIGHT")
    # zero vectors (new words, not in the vectors file) give 0, not NaN; after fine-tuning they move apart
    assert out["similarities_before"][("<newneg>", "<newpos>")] == 0.0
    assert not math.isnan(out["similarities_after"][("<newneg>", "<newpos>")])
    assert out["similarities_after"][("<newneg>", "<newpos>")] < 0
    grads = out["gradients"]
    assert all(g.shape == (2, 50) for g in grads.values())
    end = grads["end"].double()
    assert float(end.norm(dim=1).min()) > 0
    # at the end the two tokens are pushed in opposite directions (one signals neg, the other pos)
    assert float(torch.nn.functional.cosine_similarity(end[0], end[1], dim=0)) < 0
    # at the start of a whole review the untrained RNN's gradient has all but vanished
    assert float(grads["start"].double().norm()) < 1e-3 * float(end.norm())
    assert out["part2"]["p"].shape == (1,) and out["part2"]["grad"].shape == (1, 3)
    assert out["part2"]["back"].shape == (2,)
