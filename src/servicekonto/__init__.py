"""servicekonto: federated identity provider for German public administration."""

from servicekonto.metadata import __version__

__all__ = ["__version__"]
