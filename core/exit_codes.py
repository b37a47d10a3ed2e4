"""What the exit status of a ``regimeshift`` command means, and which failures count as which.

- 0: done.
- 2: bad input: a file, folder, config value, strategy or command-line argument is wrong (fix the input).
- 3: environment: the machine refused (disk full, quota, read-only file system, permission denied, out of
  memory or processes); the same command may succeed elsewhere or later. ``signal --fail-stale`` also exits 3
  (an input has stopped updating: something outside the run needs attention).
- 1: an internal error (a bug): one ``error:`` line too; ``REGIMESHIFT_DEBUG=1`` shows the traceback.
"""
from __future__ import annotations

import errno

OK = 0
INTERNAL = 1
BAD_INPUT = 2
ENVIRONMENT = 3

# errno values that say the machine refused, not that the path or input given was wrong
_ENVIRONMENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EIO", "EMFILE", "ENFILE", "ENOMEM", "EAGAIN",
                 "EBUSY", "ETXTBSY", "EFBIG")
    if hasattr(errno, name)
)

# a plain-words reason after the OS's own text, for the errors a user meets most
_HINTS = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.ELOOP: "a symlink loop",
}
if hasattr(errno, "EDQUOT"):
    _HINTS[errno.EDQUOT] = "the disk quota is exceeded"


def os_error_code(err: OSError) -> int:
    """ENVIRONMENT for a refusal by the machine, else BAD_INPUT (a path that is not what it must be)."""
    return ENVIRONMENT if err.errno in _ENVIRONMENT_ERRNOS else BAD_INPUT


def describe_os_error(err: OSError) -> str:
    """One line naming the path(s) and the reason, e.g. ``runs/x: No space left on device (the disk is full)``."""
    where = " -> ".join(str(p) for p in (err.filename, err.filename2) if p is not None)
    text = err.strerror or str(err)
    hint = _HINTS.get(err.errno or -1)
    if hint and hint.lower() not in text.lower():
        text = f"{text} ({hint})"
    line = f"{where}: {text}" if where else text
    return " ".join(line.split())
