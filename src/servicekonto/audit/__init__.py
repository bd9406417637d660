"""Append-only audit events: who decided what, when, about whom — never personal data itself."""
