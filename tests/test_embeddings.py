import numpy as np
import pytest
import torch

from rnnlab.data.vocab import Vocab
from rnnlab.embeddings import embedding_matrix, load_glove, load_vectors, read_text_vectors
from rnnlab.errors import InputError


def test_glove_rows_land_at_the_right_indices_and_specials_are_zero():
    words, vectors = load_glove()
    assert vectors.shape == (400000, 50) and words[0] == "the"
    vocab = Vocab(["<unk>", "<pad>", "movie", "qqqnotaword", "the"])
    matrix, cov = embedding_matrix(vocab)
    assert matrix.shape == (5, 50) and matrix.dtype == torch.float32
    assert torch.equal(matrix[4], torch.from_numpy(vectors[0]))
    assert torch.equal(matrix[2], torch.from_numpy(vectors[words.index("movie")]))
    assert torch.count_nonzero(matrix[[0, 1, 3]]) == 0
    assert (cov.vocab_found, cov.vocab_size) == (2, 5)


def test_running_token_coverage_weights_by_count():
    vocab = Vocab(["<unk>", "<pad>", "the", "qqqnotaword"])
    _, cov = embedding_matrix(vocab, token_counts=[0, 0, 9, 1])
    assert cov.token_share == pytest.approx(0.9)
    assert "90.0% of 10 running tokens" in str(cov)


def test_glove_text_file_and_word2vec_header(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("cat 1 2 3\ndog 4 5 6\n")
    v = read_text_vectors(p)
    assert v.words == ["cat", "dog"] and v.vectors.shape == (2, 3)
    p.write_text("2 3\ncat 1 2 3\ndog 4 5 6\n")
    v = load_vectors(p)
    assert v.words == ["cat", "dog"] and np.allclose(v.vectors[1], [4, 5, 6])
    matrix, cov = embedding_matrix(Vocab(["<unk>", "<pad>", "dog"]), v)
    assert matrix[2].tolist() == [4, 5, 6] and cov.vocab_found == 1


@pytest.mark.parametrize("content, fragment, line", [
    ("cat 1 2 3\ndog 4 5\n", "row has 2 numbers, expected 3", 2),
    ("cat 1 2 x\n", "not a number", 1),
    ("", "holds no vectors", None),
    ("5 3\ncat 1 2 3\n", "declares 5 vectors", None),
])
def test_bad_vector_files_are_clear_errors(tmp_path, content, fragment, line):
    p = tmp_path / "v.txt"
    p.write_text(content)
    with pytest.raises(InputError) as err:
        read_text_vectors(p)
    assert fragment in str(err.value) and str(p) in str(err.value)
    assert err.value.line == line


def test_missing_vectors_file(tmp_path):
    with pytest.raises(InputError, match="no such vectors file"):
        load_vectors(tmp_path / "none.txt")
