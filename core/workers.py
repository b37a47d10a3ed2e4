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
