"""Child processes that die with their parent (Linux PR_SET_PDEATHSIG), never orphans."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
from typing import Any

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def die_with_parent(death_signal: signal.Signals = signal.SIGTERM) -> bool:
    """Ask the kernel to send `death_signal` to this process when its parent dies.

    Without it a worker whose parent is killed with SIGKILL (no handler runs) is adopted by
    init and keeps running. Returns False where prctl is not available (not Linux).
    """
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0) != 0:
        logger.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        return False
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), death_signal)
    return True


def dask_setup(_service: Any) -> None:
    """Dask preload hook: a LocalCluster's nannies and workers die with their parent.

    A worker holds no state of its own (chunks are stored by the parent), so SIGKILL.
    """
    die_with_parent(signal.SIGKILL)
