"""What the OTLP senders (:mod:`~sagaway.observability.otlp_http`,
:mod:`~sagaway.observability.otlp_grpc`) share: the ``OTEL_EXPORTER_OTLP_*`` settings as
the specification and the SDK's exporters read them (each ``_TRACES_`` variable over its
general one), and the retry loop: a transient failure is retried with exponential backoff
(1, 2, 4... s, ±20% jitter, or the delay the collector asked for), at most six attempts and
never past the export timeout, as the SDK's OTLP exporters do; anything else drops the
batch, with a warning.

This file imports only the standard library and opentelemetry-api's header parser (the
exporter process imports it).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import NamedTuple

from opentelemetry.util.re import parse_env_headers

ATTEMPTS = 6
_JITTER = 0.2
_log = logging.getLogger(__name__)


def variables(name: str) -> tuple[str, str]:
    """The two variables of an OTLP setting, the one that wins first:
    ``OTEL_EXPORTER_OTLP_TRACES_<name>``, ``OTEL_EXPORTER_OTLP_<name>``."""
    return f"OTEL_EXPORTER_OTLP_TRACES_{name}", f"OTEL_EXPORTER_OTLP_{name}"


def setting(env: Mapping[str, str], name: str, default: str = "") -> str:
    """``OTEL_EXPORTER_OTLP_TRACES_<name>``, else ``OTEL_EXPORTER_OTLP_<name>`` (an empty
    value counts as unset), else ``default``; stripped."""
    traces, general = variables(name)
    return (env.get(traces) or env.get(general) or default).strip()


def headers(env: Mapping[str, str]) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP[_TRACES]_HEADERS``: ``key=value`` pairs, comma separated,
    url-decoded, keys lowercased (the SDK's parser, liberal about unencoded values)."""
    return dict(parse_env_headers(setting(env, "HEADERS"), liberal=True))


def timeout(env: Mapping[str, str]) -> float:
    """``OTEL_EXPORTER_OTLP[_TRACES]_TIMEOUT`` in seconds (as the Python SDK reads it), 10."""
    return float(setting(env, "TIMEOUT", "10"))


def compression(env: Mapping[str, str], accepted: tuple[str, ...]) -> str:
    """``OTEL_EXPORTER_OTLP[_TRACES]_COMPRESSION``, lowercased: one of ``accepted``, or ""
    for none (unset, or ``none``)."""
    given = setting(env, "COMPRESSION").lower()
    if given in ("", "none"):
        return ""
    if given not in accepted:
        raise ValueError(f"OTLP compression {given}: use {', '.join(accepted)} or none")
    return given


class Failure(NamedTuple):
    """One attempt's failure: what it was, whether it is worth another attempt, and the
    delay the collector asked for before it (None: the plain backoff)."""

    text: str
    transient: bool
    delay: float | None = None


Attempt = Callable[[float], Failure | None]  # one try, given the deadline; None: taken


def send_with_retries(endpoint: str, timeout: float, attempt: Attempt) -> bool:
    """Calls ``attempt`` until it succeeds (True), fails for good, or the attempts or the
    ``timeout`` run out (False; the batch is dropped, with a warning)."""
    deadline = time.monotonic() + timeout
    for number in range(ATTEMPTS):
        failure = attempt(deadline)
        if failure is None:
            return True
        if not failure.transient:
            _log.warning("OTLP export to %s failed: %s, spans dropped", endpoint, failure.text)
            return False
        delay = failure.delay if failure.delay is not None else backoff(number)
        if number + 1 == ATTEMPTS or time.monotonic() + delay > deadline:
            _log.warning("OTLP export to %s failed (%s), spans dropped", endpoint, failure.text)
            return False
        _log.warning("OTLP export to %s: transient error %s, retrying in %.2f s", endpoint,
                     failure.text, delay)  # fmt: skip
        time.sleep(delay)
    return False  # not reached: the last attempt returns above


def backoff(attempt: int) -> float:
    """The delay after failed attempt number ``attempt`` (0 first): 2**attempt s ±20%."""
    return float(2**attempt) * random.uniform(1 - _JITTER, 1 + _JITTER)
