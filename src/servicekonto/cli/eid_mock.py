"""`servicekonto eid-mock serve`: the standalone mock eID-Server with its test cards."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from servicekonto.errors import ConfigurationError

eid_mock_cli = typer.Typer(help="The standalone mock eID-Server.", no_args_is_help=True)


@eid_mock_cli.command("serve")
def eid_mock_serve(
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Listen port.")] = 8082,
) -> None:
    """Serve the mock eID-Server with the shipped test cards (every PIN is 123456)."""
    if not 1 <= port <= 65535:
        raise ConfigurationError(f"--port must be between 1 and 65535 (it is {port})")
    uvicorn.run(
        "servicekonto.eid_mock.app:create_eid_mock_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
