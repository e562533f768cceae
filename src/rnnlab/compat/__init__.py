"""Stand-ins for discontinued libraries that classic course notebooks import.

``rnnlab.compat.torchtext`` mirrors the module paths of the parts of torchtext's
public API those notebooks use, so swapping ``torchtext`` for
``rnnlab.compat.torchtext`` in the import lines is the only change they need.
"""
