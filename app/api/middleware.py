"""ASGI middleware that refuses request bodies over the configured cap, streamed or not."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answer 413 when Content-Length, or the bytes actually received, exceed `max_bytes`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"request body exceeds the limit of {self.max_bytes} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                body = {"error": {"code": "payload_too_large", "message": message}}
                await JSONResponse(body, status_code=413)(scope, receive, send)
                return

        received = 0

        async def limited_receive() -> Message:
            # A chunked body has no Content-Length: count as it arrives. The route's body
            # parser re-raises HTTPException, so the one error handler renders this 413.
            nonlocal received
            chunk = await receive()
            if chunk["type"] == "http.request":
                received += len(chunk.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=message)
            return chunk

        await self.app(scope, limited_receive, send)
