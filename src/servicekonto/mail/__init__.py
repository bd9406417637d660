"""Outgoing mail: plain-text messages from templates, delivered as files or over SMTP."""
