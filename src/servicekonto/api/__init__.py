"""The JSON surface: health and readiness, problem+json errors, request context."""
