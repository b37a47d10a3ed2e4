"""How many processes a stage may use: one policy for the regime fits and the report."""
from __future__ import annotations

import logging
import multiprocessing
import os

log = logging.getLogger(__name__)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def worker_count(requested: int | None, env_var: str, default_cap: int) -> int:
    """``requested``, else ``$env_var``, else the usable cores up to ``default_cap``.

    1 when ``fork`` is unavailable (spawned workers would re-import everything: slower than one core) or inside
    a daemon process (which cannot have children).
    """
    workers = requested
    if workers is None:
        env = os.environ.get(env_var, "").strip()
        if env:
            try:
                workers = int(env)
            except ValueError:
                log.warning("ignoring %s=%r (not an integer)", env_var, env)
        if workers is None:
            workers = min(usable_cores(), default_cap)
    if workers > 1 and ("fork" not in multiprocessing.get_all_start_methods() or multiprocessing.current_process().daemon):
        return 1
    return max(1, int(workers))


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int, poll_seconds: float = 1.0) -> None:
    """Worker initializer: end this worker when ``parent_pid`` dies, even by kill -9.

    On Linux the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon
    thread also checks ``os.getppid()`` every ``poll_seconds`` and exits when the worker has been re-parented.
    Without this, a pool worker of a killed run lives on until it notices its broken pipe (tens of seconds,
    hundreds of MB).
    """
    import signal  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import threading  # noqa: PLC0415

    if sys.platform.startswith("linux"):
        try:
            import ctypes  # noqa: PLC0415

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no libc prctl: the watchdog below still works
            pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        import time  # noqa: PLC0415

        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="regimeshift-parent-watchdog", daemon=True).start()
