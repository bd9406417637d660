"""Logging: JSON lines in production, readable lines in development, a request id on every line.

Standard-library loggers (uvicorn, alembic, sqlalchemy) go through the same structlog formatter,
so one request's lines share one format and one `request_id`. Tracebacks are logged without
local variables: locals of an authentication handler hold passwords and personal data.
"""

from __future__ import annotations

import logging
import logging.config
import re
import secrets
import sys
from contextvars import ContextVar
from typing import Any, Literal, TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.types import EventDict, Processor

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# A request id we accept from a proxy: short and plain, so it cannot smuggle log injection.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(incoming: str | None) -> tuple[str, Any]:
    """The caller's request id if well-formed, else a new one; returns (id, reset token)."""
    request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else new_request_id()
    return request_id, _request_id.set(request_id)


def reset_request_id(token: Any) -> None:
    _request_id.reset(token)


def new_request_id() -> str:
    return secrets.token_hex(12)


def _add_request_id(_logger: Any, _method: str, event: EventDict) -> EventDict:
    request_id = _request_id.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        _add_request_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(log_format: Literal["json", "console"]) -> list[Processor]:
    if log_format == "json":
        transformer = ExceptionDictTransformer(show_locals=False)
        return [
            structlog.processors.ExceptionRenderer(transformer),
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    ]


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is when a line is logged, not when logging was set up."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str, log_format: Literal["json", "console"]) -> None:
    """Route structlog and the standard library through one formatter on stderr."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(log_format),
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    _quiet_noisy_loggers()
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _quiet_noisy_loggers() -> None:
    # uvicorn's access log prints query strings, which carry codes and tokens;
    # the request middleware logs each request without them.
    logging.getLogger("uvicorn.access").disabled = True
    # HTTP client libraries log full URLs, query strings included, at INFO.
    for name in ("alembic", "httpx", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "alembic"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
