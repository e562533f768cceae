"""``torchtext.data``: only ``utils.get_tokenizer`` is provided."""

from rnnlab.compat.torchtext.data import utils
from rnnlab.compat.torchtext.data.utils import get_tokenizer

__all__ = ["get_tokenizer", "utils"]
