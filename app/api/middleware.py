"""ASGI middleware: the request's id, metrics and access line; its body read under guard.

RequestBodyGuard reads the body before any route sees it.

Every route reads its whole body anyway (no streaming endpoints), so reading it here first
costs nothing more and lets one place refuse: a body over the cap (413), a body that stops
arriving before its Content-Length is reached (408), and JSON nested deeper than any of our
shapes (400; Python's parser would otherwise raise RecursionError, a 500).
"""

from __future__ import annotations

import logging
import re
import time

import anyio
import numpy as np
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import error_response
from app.logs import REQUEST_ID, request_id_from
from app.matching.change_signal import READ_ONLY_REQUEST_BEGAN
from app.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

# A JSON string: its brackets are text, not nesting.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NESTING_STEP = np.zeros(256, dtype=np.int8)
_NESTING_STEP[[ord("["), ord("{")]] = 1
_NESTING_STEP[[ord("]"), ord("}")]] = -1


def json_nesting_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (0 for a scalar)."""
    steps = _NESTING_STEP[np.frombuffer(_JSON_STRING.sub(b"", body), dtype=np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def _exceeds_depth(body: bytes, max_depth: int) -> bool:
    # Most bodies open fewer brackets than the limit: no need to look closer.
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    return json_nesting_depth(body) > max_depth


# Methods whose requests write nothing: their session never takes the write lock, and one
# answer of the change signal serves the whole request.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _Refused(Exception):
    def __init__(self, status_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message


class RequestBodyGuard:
    """Read the body within `read_timeout` seconds and `max_bytes`; refuse deep JSON."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, read_timeout: float, max_json_depth: int
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        try:
            self._check_declared_length(headers.get(b"content-length", b""))
            body, disconnected = await self._read_body(receive)
            if disconnected:
                return  # the client went away: nobody to answer
            content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if content_type.endswith(b"json") and _exceeds_depth(body, self.max_json_depth):
                raise _Refused(
                    400,
                    "invalid_json",
                    f"JSON nested deeper than {self.max_json_depth} levels",
                )
        except _Refused as refused:
            response = error_response(refused.status_code, refused.code, refused.message)
            if refused.status_code == 408:
                # The rest of the body may still come: this connection cannot be reused.
                response.headers["connection"] = "close"
            await response(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _check_declared_length(self, declared: bytes) -> None:
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise _Refused(413, "payload_too_large", self._too_large())

    def _too_large(self) -> str:
        return f"request body exceeds the limit of {self.max_bytes} bytes"

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        """The whole body, and whether the client went away before sending it."""
        chunks: list[bytes] = []
        received = 0
        # One deadline for the whole body, so a trickle of bytes cannot hold a worker.
        with anyio.move_on_after(self.read_timeout) as deadline:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return b"".join(chunks), True
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_bytes:
                    raise _Refused(413, "payload_too_large", self._too_large())
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks), False
        assert deadline.cancel_called
        raise _Refused(
            408,
            "request_timeout",
            f"the request body did not arrive within {self.read_timeout:g} s "
            "(is Content-Length larger than the body?)",
        )


access_logger = logging.getLogger("app.access")


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/jobs/{job_id}`), never the raw path."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else "<unmatched>"


class RequestObserver:
    """Give each request an id (echoed as X-Request-ID), count and time it per route, and log
    one access line: method, route template, status, duration. No query string, no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("x-request-id")
        request_id = request_id_from(header)
        token = REQUEST_ID.set(request_id)
        # A request that writes nothing needs the change signal's answer once (see there).
        read_only = scope["method"] in READ_ONLY_METHODS
        began = READ_ONLY_REQUEST_BEGAN.set(time.monotonic() if read_only else None)
        status = 500  # what the client gets if the app raises before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"]
            route = route_template(scope)
            HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
            HTTP_REQUEST_SECONDS.labels(method=method, route=route).observe(elapsed)
            access_logger.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            READ_ONLY_REQUEST_BEGAN.reset(began)
            REQUEST_ID.reset(token)
