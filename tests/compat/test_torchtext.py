"""rnnlab.compat.torchtext: each documented behaviour of the torchtext stand-in."""

import gzip
from collections import OrderedDict

import pytest
import torch

from rnnlab.compat import torchtext
from rnnlab.compat.torchtext.data.utils import get_tokenizer
from rnnlab.compat.torchtext.vocab import GloVe, Vectors, Vocab, build_vocab_from_iterator, vocab


# -- get_tokenizer ----------------------------------------------------------------------------
def test_none_splits_on_whitespace():
    assert get_tokenizer(None)("A  b\tc\nD") == ["A", "b", "c", "D"]


def test_callable_is_returned_unchanged():
    f = lambda s: list(s)  # noqa: E731
    assert get_tokenizer(f) is f


def test_basic_english_lowercases_and_splits_punctuation():
    tok = get_tokenizer("basic_english")
    assert tok('It was "GREAT", (really)!<br />Yes?') == ["it", "was", "great", ",", "(", "really", ")", "!",
                                                          "yes", "?"]
    assert tok("don't") == ["don", "'", "t"]
    with pytest.raises(ValueError, match="only available for English"):
        get_tokenizer("basic_english", language="de")


@pytest.mark.parametrize("language", ["en_core_web_sm", "en"])
def test_spacy_tokens_keep_their_case(language):
    tok = get_tokenizer("spacy", language=language)
    assert tok("I didn't LOVE it.") == ["I", "did", "n't", "LOVE", "it", "."]


def test_unknown_tokenizer_name_is_one_clear_error():
    with pytest.raises(ValueError, match="Requested tokenizer moses"):
        get_tokenizer("moses")


def test_module_paths_mirror_torchtext():
    assert torchtext.data.utils.get_tokenizer is get_tokenizer
    assert torchtext.vocab.build_vocab_from_iterator is build_vocab_from_iterator


# -- vocabularies -------------------------------------------------------------------------------
TEXTS = [["b", "a", "c", "a"], ["c", "d", "a"], ["b", "e"]]  # a:3, b:2, c:2, d:1, e:1


def test_build_vocab_orders_by_frequency_then_lexicographically_with_specials_first():
    v = build_vocab_from_iterator(iter(TEXTS), specials=["<pad>", "<unk>"])
    assert v.get_itos() == ["<pad>", "<unk>", "a", "b", "c", "d", "e"]
    assert v["<pad>"] == 0 and v["<unk>"] == 1 and len(v) == 7


def test_build_vocab_min_freq_special_last_and_max_tokens():
    assert build_vocab_from_iterator(TEXTS, min_freq=2).get_itos() == ["a", "b", "c"]
    assert build_vocab_from_iterator(TEXTS, specials=["<unk>"], special_first=False).get_itos()[-1] == "<unk>"
    assert build_vocab_from_iterator(TEXTS, specials=["<unk>"], max_tokens=3).get_itos() == ["<unk>", "a", "b"]


def test_specials_are_not_counted_twice():
    v = build_vocab_from_iterator([["<unk>", "x", "<unk>"]], specials=["<unk>"])
    assert v.get_itos() == ["<unk>", "x"]


def test_vocab_keeps_the_ordered_dict_order():
    od = OrderedDict([("z", 1), ("y", 5), ("x", 2)])
    assert vocab(od).get_itos() == ["z", "y", "x"]
    assert vocab(od, min_freq=2, specials=["<unk>"]).get_itos() == ["<unk>", "y", "x"]
    assert vocab(od, specials=["<unk>"], special_first=False).get_itos() == ["z", "y", "x", "<unk>"]


def test_unknown_token_raises_until_a_default_index_is_set():
    v = build_vocab_from_iterator(TEXTS, specials=["<unk>"])
    assert v.get_default_index() is None
    with pytest.raises(RuntimeError, match="Token zzz not found and default index is not set"):
        v["zzz"]
    with pytest.raises(RuntimeError, match="not found"):
        v(["a", "zzz"])
    v.set_default_index(v["<unk>"])
    assert v.get_default_index() == 0
    assert v["zzz"] == 0 and v(["a", "zzz"]) == [1, 0] and v.lookup_indices(["zzz"]) == [0]
    v.set_default_index(None)
    with pytest.raises(RuntimeError):
        v["zzz"]


def test_lookup_contains_and_copies():
    v = Vocab(["<unk>", "a", "b"])
    assert "a" in v and "q" not in v
    assert v.lookup_token(2) == "b" and v.lookup_tokens([2, 0]) == ["b", "<unk>"]
    with pytest.raises(RuntimeError, match="out of bounds"):
        v.lookup_token(3)
    stoi, itos = v.get_stoi(), v.get_itos()
    stoi["zz"] = 9
    itos.append("zz")
    assert "zz" not in v and len(v) == 3


def test_append_and_insert_token():
    v = Vocab(["a", "b"])
    v.append_token("c")
    assert v["c"] == 2
    with pytest.raises(RuntimeError, match="already exists"):
        v.append_token("a")
    v.insert_token("<pad>", 0)
    assert v.get_itos() == ["<pad>", "a", "b", "c"] and v["c"] == 3 and v.get_stoi()["a"] == 1
    v.insert_token("end", len(v))
    assert v.lookup_token(4) == "end"
    with pytest.raises(RuntimeError, match="out of bounds"):
        v.insert_token("far", 99)


# -- vectors ---------------------------------------------------------------------------------------
LINES = ["the 0.1 0.2 0.3", "cat 1 2 3", "Dog -1 0 1.5"]


def _write(path, lines, gz=False):
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("header,gz", [(False, False), (True, False), (False, True), (True, True)])
def test_vectors_read_text_files_with_or_without_header_and_gz(tmp_path, header, gz):
    name = "vecs.txt.gz" if gz else "vecs.txt"
    path = _write(tmp_path / name, (["3 3"] if header else []) + LINES, gz)
    v = Vectors(str(path))
    assert v.dim == 3 and len(v) == 3 and v.itos == ["the", "cat", "Dog"] and v.stoi["cat"] == 1
    assert v.vectors.shape == (3, 3) and v.vectors.dtype == torch.float32
    assert torch.equal(v["cat"], torch.tensor([1.0, 2.0, 3.0]))


def test_vectors_unknown_tokens_are_zeros_or_unk_init(tmp_path):
    path = _write(tmp_path / "v.txt", LINES)
    assert torch.equal(Vectors(str(path))["nope"], torch.zeros(3))
    ones = Vectors(str(path), unk_init=torch.nn.init.ones_)
    assert torch.equal(ones["nope"], torch.ones(3))


def test_get_vecs_by_tokens_stacks_and_lower_case_backup(tmp_path):
    v = Vectors(str(_write(tmp_path / "v.txt", LINES)))
    out = v.get_vecs_by_tokens(["cat", "THE", "dog"])
    assert out.shape == (3, 3) and torch.equal(out[1], torch.zeros(3)) and torch.equal(out[2], torch.zeros(3))
    backup = v.get_vecs_by_tokens(["THE", "Dog", "dog"], lower_case_backup=True)
    assert torch.equal(backup[0], v["the"]) and torch.equal(backup[1], v["Dog"]) and torch.equal(backup[2], torch.zeros(3))
    assert v.get_vecs_by_tokens("cat").shape == (3,)


def test_vectors_max_vectors_cache_dir_and_errors(tmp_path):
    _write(tmp_path / "v.txt", LINES)
    assert Vectors("v.txt", cache=str(tmp_path), max_vectors=2).itos == ["the", "cat"]
    with pytest.raises(RuntimeError, match="no vectors found"):
        Vectors("missing.txt", cache=str(tmp_path))
    bad = _write(tmp_path / "bad.txt", LINES + ["odd 1 2"])
    with pytest.raises(RuntimeError, match=r"bad.txt:4: vector for token odd has 2 dimensions"):
        Vectors(str(bad))


def test_glove_6b_50d_offline_and_other_sizes_one_line_error():
    g = GloVe(name="6B", dim=50)
    assert g.dim == 50 and len(g) == 400_000 and g.stoi["the"] == 0
    assert g["the"].shape == (50,) and torch.equal(g["qqqqzzzz-not-a-word"], torch.zeros(50))
    with pytest.raises(ValueError) as err:
        GloVe(name="840B", dim=300)
    assert "\n" not in str(err.value) and 'GloVe(name="6B", dim=50)' in str(err.value)
