"""Admission control: at most N requests in the handlers at once, the rest wait their turn.

Each admitted request holds at most one pooled connection and one worker thread, and the pool
and the thread pool are sized to N (see Settings), so no admitted request ever waits for a
connection: the wait happens here, on the event loop, holding nothing. A request that waits
longer than the queue timeout is answered 503 with Retry-After instead of hanging.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.errors import unavailable_response

# Liveness and readiness must answer while the handlers are saturated.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class ConcurrencyLimit:
    """Admit `limit` HTTP requests at a time; queue the others up to `queue_timeout_s`."""

    def __init__(
        self, app: ASGIApp, *, limit: int, queue_timeout_s: float, retry_after_s: int
    ) -> None:
        self.app = app
        self.limit = limit
        self.queue_timeout_s = queue_timeout_s
        self.retry_after_s = retry_after_s
        self._slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created inside the running event loop
            self._slots = anyio.Semaphore(self.limit)
        admitted = False
        with anyio.move_on_after(self.queue_timeout_s):
            await self._slots.acquire()
            admitted = True
        if not admitted:
            response = unavailable_response(
                self.retry_after_s, "the server is at capacity; retry later"
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()
