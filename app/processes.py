"""Child processes that die with their parent (Linux PR_SET_PDEATHSIG), never orphans."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def die_with_parent(
    death_signal: signal.Signals = signal.SIGTERM, *, parent_pid: int | None = None
) -> bool:
    """Ask the kernel to send `death_signal` to this process when its parent dies.

    Without it a worker whose parent is killed with SIGKILL (no handler runs) is adopted by
    init and keeps running. `parent_pid`, when known, catches a parent that died before this
    call (the process was already adopted). Returns False where prctl is not available.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0) != 0:
        logger.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os.kill(os.getpid(), death_signal)  # orphaned already: the signal would never come
    return True
