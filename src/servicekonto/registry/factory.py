"""Choosing the registry adapter from the settings."""

from __future__ import annotations

import httpx

from servicekonto.config import RegistrySettings
from servicekonto.registry.http_adapter import HttpRegistry
from servicekonto.registry.mock_adapter import MockRegistry
from servicekonto.registry.port import RegistryPort
from servicekonto.store.engine import Database


def build_registry(settings: RegistrySettings, database: Database) -> RegistryPort:
    if settings.adapter == "mock":
        return MockRegistry(database)
    client = httpx.Client(base_url=settings.url, timeout=settings.timeout)
    return HttpRegistry(client, attempts=settings.attempts)
