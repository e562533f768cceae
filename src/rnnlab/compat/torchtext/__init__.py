"""A small stand-in for torchtext's tokenizers, vocabularies and word vectors.

Same module paths as torchtext: ``rnnlab.compat.torchtext.data.utils.get_tokenizer``,
``rnnlab.compat.torchtext.vocab.build_vocab_from_iterator`` / ``vocab`` / ``Vocab`` /
``Vectors`` / ``GloVe``. Written from torchtext's documented behaviour.
"""

from rnnlab.compat.torchtext import data, vocab

__version__ = "0.0.0+rnnlab"
__all__ = ["data", "vocab"]
