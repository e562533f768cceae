"""Data: readers (TSV, aclImdb), tokenizer and its cache, vocabulary, batching."""
