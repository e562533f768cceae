import pytest

from rnnlab.data.vocab import PAD, UNK, Vocab, build_vocab
from rnnlab.errors import InputError


def test_specials_first_then_by_frequency_ties_by_first_occurrence():
    v = build_vocab([["b", "a", "c"], ["a", "c", "d"], ["a"]])
    assert v.itos == [UNK, PAD, "a", "c", "b", "d"]  # a:3, c:2, b and d tie at 1: b seen first
    assert v.unk_index == 0 and v.pad_index == 1


def test_unknown_tokens_map_to_unk():
    v = build_vocab([["x", "y"]])
    assert v(["x", "zzz", "y"]) == [2, 0, 3]
    assert v["zzz"] == 0 and "zzz" not in v


def test_min_freq_and_max_size():
    v = build_vocab([["a", "a", "b", "b", "c"]], min_freq=2)
    assert v.itos == [UNK, PAD, "a", "b"]
    v = build_vocab([["a", "a", "b", "b", "c"]], max_size=3)
    assert v.itos == [UNK, PAD, "a"]
    with pytest.raises(ValueError):
        build_vocab([["a"]], min_freq=0)


def test_append_token_adds_at_the_end_once():
    v = build_vocab([["a"]])
    assert v.append_token("<newneg>") == 3
    assert v.append_token("<newpos>") == 4
    assert v.append_token("<newneg>") == 3
    assert v.lookup_tokens([3, 4]) == ["<newneg>", "<newpos>"]


def test_json_round_trip(tmp_path):
    v = build_vocab([["é", "a", "a"]])
    v.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json") == v


def test_corrupted_vocab_file_is_a_clear_error(tmp_path):
    p = tmp_path / "v.json"
    p.write_text('{"itos": ["a", "b"]')
    with pytest.raises(InputError, match="not a valid vocabulary file"):
        Vocab.load(p)
    p.write_text('{"itos": ["a", "b"]}')
    with pytest.raises(InputError, match="<unk>"):
        Vocab.load(p)
