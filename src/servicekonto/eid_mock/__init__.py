"""A standalone mock eID-Server with test cards and a page standing in for the eID client.

Run it with `servicekonto eid-mock serve` (port 8082), or
`uvicorn --factory servicekonto.eid_mock.app:create_eid_mock_app_from_env`.
"""
