"""Signing keys for tokens: generated, stored encrypted, rotated, published as a JWKS."""
