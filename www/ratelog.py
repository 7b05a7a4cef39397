"""Log lines for limits being reached, at most one a minute per kind.

A limit is reached when someone floods the server; one line per refused connection or
request would then flood the log as well (and the disk under it). Each kind of event is
logged at once the first time, then at most once per interval, with how many were held
back in between.
"""

import logging
import time


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval: float = 60.0) -> None:
        self.logger, self.interval = logger, interval
        self._next: dict[str, float] = {}  # kind -> when its next line may be written
        self._held: dict[str, int] = {}  # kind -> lines not written since its last one

    def log(self, level: int, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now < self._next.get(kind, 0.0):
            self._held[kind] = self._held.get(kind, 0) + 1
            return
        held = self._held.pop(kind, 0)
        if held:
            message += " (and %d more times in the last %d s)"
            args = (*args, held, self.interval)
        self._next[kind] = now + self.interval
        self.logger.log(level, message, *args)

    def warning(self, kind: str, message: str, *args: object) -> None:
        self.log(logging.WARNING, kind, message, *args)

    def info(self, kind: str, message: str, *args: object) -> None:
        self.log(logging.INFO, kind, message, *args)
