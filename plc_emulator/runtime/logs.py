"""structlog configuration, done once at the edge (``plc-emulator run``); modules only get loggers.

On a TTY: coloured ``ConsoleRenderer``. Otherwise (Docker, CI, pipes): one JSON object per line
with ``dict_tracebacks``. Level from ``LOG_LEVEL`` (debug, info, warning, error; default info).
Logs go to stderr; stdout carries only the ``ready ...`` and ``digest: ...`` lines.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

__all__ = ["LEVELS", "configure_logging", "parse_level"]

_HANDLER_NAME = "plc_emulator"
_CHATTY = ("asyncua", "pymodbus", "aiohttp.access")  # their INFO is per request/session: WARNING and up

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}


def parse_level(text: str) -> int:
    try:
        return LEVELS[text.strip().lower()]
    except KeyError:
        names = "debug, info, warning, error, critical"
        raise ValueError(f"log level must be one of {names} (got {text!r})") from None


def configure_logging(level: str | int = "info", *, json: bool | None = None,
                      stream: TextIO | None = None) -> None:
    """Configure structlog for the process. ``json=None`` picks JSON unless ``stream`` is a TTY."""
    out = stream if stream is not None else sys.stderr
    lvl = parse_level(level) if isinstance(level, str) else int(level)
    if json is None:
        json = not (hasattr(out, "isatty") and out.isatty())
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[structlog.typing.Processor]
    if json:
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False))  # no locals in logs
        renderer = [tracebacks, structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer()]
    structlog.configure(
        processors=[*shared, *renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Libraries that log through the standard library (asyncua, pymodbus, aiohttp, the OPC UA
    # adapter) come out in the same format on the same stream.
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, structlog.stdlib.add_log_level,
                           structlog.processors.TimeStamper(fmt="iso", utc=True)],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(lvl)
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(max(lvl, logging.WARNING))
