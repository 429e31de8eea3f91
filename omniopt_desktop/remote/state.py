"""The connection state of a session as an explicit machine with listeners (no Qt).

DISCONNECTED → CONNECTING → CONNECTED → LOST (server dead or frozen) | CLOSED (by us)
CONNECTING → FAILED (auth, host key, network); LOST/FAILED/CLOSED → CONNECTING (explicit
reconnect only). Listeners are called ``listener(old, new, reason)`` on the thread that made
the change; they must not block and their exceptions are logged, never raised into the session.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class ConnectionState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    FAILED = "failed"
    CLOSED = "closed"

    @property
    def is_usable(self) -> bool:
        return self is ConnectionState.CONNECTED


_S = ConnectionState
ALLOWED: dict[ConnectionState, frozenset[ConnectionState]] = {
    _S.DISCONNECTED: frozenset({_S.CONNECTING, _S.CLOSED}),
    _S.CONNECTING: frozenset({_S.CONNECTED, _S.FAILED, _S.CLOSED}),
    _S.CONNECTED: frozenset({_S.LOST, _S.CLOSED}),
    _S.LOST: frozenset({_S.CONNECTING, _S.CLOSED}),
    _S.FAILED: frozenset({_S.CONNECTING, _S.CLOSED}),
    _S.CLOSED: frozenset({_S.CONNECTING}),
}

Listener = Callable[[ConnectionState, ConnectionState, str], None]


class StateMachine:
    def __init__(self) -> None:
        self._state = ConnectionState.DISCONNECTED
        self._reason = ""
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def reason(self) -> str:
        return self._reason

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def move(self, new: ConnectionState, reason: str = "") -> bool:
        """Change state if allowed (a same-state move is a no-op); returns whether it changed."""
        with self._lock:
            old = self._state
            if new is old or new not in ALLOWED[old]:
                return False
            self._state, self._reason = new, reason
        for listener in list(self._listeners):
            try:
                listener(old, new, reason)
            except Exception:
                log.exception("connection-state listener failed")
        return True
