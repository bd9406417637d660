"""Hosted pages for citizens: server-rendered, German first, usable without JavaScript."""
