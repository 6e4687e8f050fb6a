"""Refitting a tenant's index in the background: when it is due, and the one thread per tenant
that does it (readers never wait on it; a failure is kept for the status page)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from app.metrics import REFIT_SECONDS

logger = logging.getLogger(__name__)

# Refit on its own once this share of the documents changed since the vocabulary was fitted.
AUTO_REFIT_SHARE = 0.2
AUTO_REFIT_MIN_CHANGES = 200


def is_refit_due(*, changes_since_fit: int, documents: int) -> bool:
    """Whether enough documents changed since the fit for the vocabulary to be refitted."""
    return changes_since_fit >= max(AUTO_REFIT_MIN_CHANGES, AUTO_REFIT_SHARE * documents)


class BackgroundRefit:
    """At most one refit thread of a tenant at a time, and how the last one ended."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        # Not the index lock: readers never wait on a refit being started.
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self, refit: Callable[[str], object]) -> bool:
        """Run refit(tenant) in a new thread; False if one is already running."""
        with self._guard:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._thread = threading.Thread(
                target=self._run, args=(refit,), name=f"refit-{self.tenant}", daemon=True
            )
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until the running refit (if any) has finished."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether a refit thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self, refit: Callable[[str], object]) -> None:
        started = time.perf_counter()
        try:
            refit(self.tenant)
            self.last_error = None
            outcome = "ok"
        except Exception as exc:  # a background thread has no caller to raise to
            logger.exception("refit of tenant %s failed", self.tenant)
            self.last_error = f"{type(exc).__name__}: {exc}"
            outcome = "failed"
        REFIT_SECONDS.labels(outcome=outcome).observe(time.perf_counter() - started)
