"""The thread pools of the app: one for password hashing, one for file I/O.

They are kept apart because they starve each other: argon2 hashing is slow on purpose, so
a flood of logins sharing one pool with the disk made every upload and every image wait
behind dozens of hashes. Hashing gets a pool sized from the CPU count with a bounded
queue (beyond it, ExecutorBusy: a 503 with Retry-After, never an ever-growing backlog);
file I/O gets its own pool. Both are made with the app (their threads start with the
first job), live on it (HASHING, FILE_IO in www/keys.py) and are shut down at cleanup
(executors_ctx in www/app.py).
"""

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from .ratelog import RateLimitedLog
from .settings import Settings

T = TypeVar("T")
RETRY_AFTER = 1  # seconds a client is asked to wait when the hashing queue is full


class ExecutorBusy(web.HTTPServiceUnavailable):
    """Raised when a bounded executor's queue is full: a 503 that says when to retry
    (www/middlewares.py keeps Retry-After on the error page and in the API's JSON)."""

    def __init__(self) -> None:
        super().__init__(
            headers={"Retry-After": str(RETRY_AFTER)},
            text="The server is busy. Please try again in a moment.",
        )


class BoundedExecutor:
    """A thread pool of `workers` threads that holds at most `queue` more jobs waiting.

    `run()` raises ExecutorBusy at once rather than queueing past that: the wait a client
    would get is then bounded, and so is the memory a flood of requests can pin.
    """

    def __init__(self, workers: int, queue: int, name: str, limits_log: RateLimitedLog) -> None:
        self.workers, self.queue, self.name = workers, queue, name
        self._limits_log = limits_log
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
        # A slot per running or waiting job, released by the pool's thread when it ends
        # (also when a waiting job is cancelled), so the count is exact across threads.
        self._slots = threading.BoundedSemaphore(workers + queue)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        if not self._slots.acquire(blocking=False):
            self._limits_log.warning(
                self.name,
                "The %s queue is full (%d running, %d waiting): answering 503",
                self.name,
                self.workers,
                self.queue,
            )
            raise ExecutorBusy
        try:
            future = self._pool.submit(func, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(future)

    def shutdown(self) -> None:
        """Drop the waiting jobs and wait for the running ones (call it off the loop)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def hashing_workers(configured: int) -> int:
    """`passwords.workers`, where 0 means one thread per CPU."""
    return configured or os.cpu_count() or 1


def thread_pools(
    config: Settings, limits_log: RateLimitedLog
) -> tuple[BoundedExecutor, ThreadPoolExecutor]:
    """The hashing pool (`passwords.workers`, `passwords.queue`) and the file I/O pool
    (`uploads.io_workers`). No thread starts before the first job."""
    workers = hashing_workers(config.passwords.workers)
    hashing = BoundedExecutor(workers, config.passwords.queue, "hashing", limits_log)
    file_io = ThreadPoolExecutor(config.uploads.io_workers, thread_name_prefix="file-io")
    return hashing, file_io
