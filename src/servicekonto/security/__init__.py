"""Secrets, digests and tokens: the primitives every capability builds its guarantees on."""
