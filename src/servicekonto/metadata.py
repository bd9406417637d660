"""What the service is called and which version runs: one place for both."""

__version__ = "0.1.0"

SERVICE_NAME = "servicekonto"
DISTRIBUTION_NAME = "servicekonto"
