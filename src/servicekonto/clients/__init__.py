"""Relying parties (specialist procedures) and their registration with the provider."""
