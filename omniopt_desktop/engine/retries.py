"""Retrying transient storage errors ("database is locked", a dropped connection) with
jittered exponential back-off, for single calls and for every method of a storage.

A retried write that had in fact succeeded shows up as
:class:`optuna.exceptions.UpdateFinishedTrialError`, which callers treat as "already done".

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib.
"""

from __future__ import annotations

import errno
import functools
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from .storage import StorageSpec

T = TypeVar("T")
_log = logging.getLogger("omniopt.storage")

_TRANSIENT_TEXT = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "could not connect",
    "connection refused",
    "server closed the connection",
    "connection reset",
    "connection timed out",
    "terminating connection",
    "could not serialize",
    "deadlock detected",
    "ssl syscall error",
    "too many clients",
    "remaining connection slots",
    "the database system is",  # starting up, shutting down, not yet accepting connections...
    "connection failed",
    "the connection is closed",
    "the connection is lost",
    "consuming input failed",
    "server conn crashed",  # PgBouncer
    "no more connections allowed",  # PgBouncer
)


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: lock contention and dropped connections, never logic errors.
    Optuna wraps a failed commit in ``StorageInternalError``: its cause is looked at too."""
    seen = 0
    while exc is not None and seen < 5:
        if _is_transient_one(exc):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1  # type: ignore[assignment]
    return False


def _is_transient_one(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.EAGAIN, errno.ESTALE, errno.EBUSY):
        return True
    try:
        from sqlalchemy import exc as sa_exc
    except ImportError:  # pragma: no cover - optuna depends on SQLAlchemy
        return False
    if isinstance(exc, sa_exc.DBAPIError) and getattr(exc, "connection_invalidated", False):
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        text = str(exc).lower()
        return any(t in text for t in _TRANSIENT_TEXT)
    return isinstance(exc, (sa_exc.TimeoutError, sa_exc.InvalidatePoolError))


def with_retries(
    fn: Callable[..., T],
    *args: Any,
    attempts: int = 12,
    base: float = 0.05,
    cap: float = 5.0,
    **kwargs: Any,
) -> T:
    """Call ``fn``; retry transient errors with full-jitter exponential back-off (about 30 s in
    all at most: a PostgreSQL restart or a full server rides through). Each retry is logged
    as a "transient storage error" warning."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if attempt == attempts - 1 or not is_transient(e):
                raise
            delay = random.uniform(0, min(cap, base * (2**attempt)))
            text = str(e).strip().splitlines()
            _log.warning(
                "transient storage error (attempt %d of %d, retry in %.2f s): %s",
                attempt + 1,
                attempts,
                delay,
                text[0][:200] if text else type(e).__name__,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class RetryingStorage:
    """Wraps an Optuna storage: every method call retries transient errors (see module doc).
    Parameters set inside :func:`.param_batch.batched_params` are written together."""

    def __init__(self, inner: Any, spec: StorageSpec) -> None:
        self._inner = inner
        self.spec = spec
        self.param_batch = threading.local()

    def set_trial_param(self, trial_id: int, name: str, value: float, distribution: Any) -> None:
        held = getattr(self.param_batch, "items", None)
        if held is not None:
            held.append((trial_id, name, value, distribution))
            return
        with_retries(self._inner.set_trial_param, trial_id, name, value, distribution)

    @property
    def inner(self) -> Any:
        return self._inner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return with_retries(attr, *args, **kwargs)

        return call
