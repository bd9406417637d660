"""A standalone mock of the registry gateway, for the HTTP adapter's tests and local set-ups.

Run it with `uvicorn --factory servicekonto.registry_mock.app:create_registry_mock_app_from_env`.
"""
