"""SQLite's writer: one thread that owns the write connection and runs jobs in order.

SQLite has one writer at a time, and tasks sharing a connection would interleave their
transactions. With aiosqlite that exclusion was an asyncio.Lock held from BEGIN to COMMIT,
and between two statements the transaction waited for the event loop to resume it: under
load, ~8 ms a statement, so writes topped out near 100 a second. Here the exclusion lives
on the thread itself:

- a job with no owner (one statement in autocommit) runs when no transaction is open;
- a job that *begins* for an owner (a transaction) makes the thread run that owner's jobs
  only, until the owner's job that *ends* it (COMMIT or ROLLBACK): ownership ends on the
  thread, at COMMIT, whatever the event loop is doing; other jobs wait, first come first
  served;
- a job may begin and end at once: a whole short transaction run on the thread
  (``SQLiteDatabase.write``), which never waits for the loop at all.

Results go back to each caller's loop with ``call_soon_threadsafe``. ``WriterStats``
keeps how long transactions waited for the writer (their lock wait) and held it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .base import DatabaseError
from .sqlite_thread import ConnectionThread, hand_over

log = logging.getLogger(__name__)
QUEUED, RUNNING, CANCELLED = "queued", "running", "cancelled"


class Job:
    """A call to make on the writer's thread with its connection, and where its result goes."""

    __slots__ = ("begins", "call", "cancel_requested", "cleanup", "ends", "future", "label")
    __slots__ += ("loop", "orphaned", "owner", "state", "submitted")

    def __init__(
        self,
        call: Callable[[sqlite3.Connection], Any],
        label: str,
        owner: Any,
        begins: bool,
        ends: bool,
        cleanup: Callable[[sqlite3.Connection], None] | None,
    ):
        self.call, self.label, self.owner = call, label, owner
        self.begins, self.ends, self.cleanup = begins, ends, cleanup
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future = self.loop.create_future()
        self.submitted = time.perf_counter()
        self.state = QUEUED
        self.cancel_requested = False  # read by a call that checks (a write() body)
        # Given the result of a job that succeeded after its caller stopped waiting.
        self.orphaned: Callable[[Any], None] | None = None

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        """Hand the outcome to the caller's loop (from any thread); dropped if it is gone."""

        def settle() -> None:
            if self.future.done():  # the caller stopped waiting (cancelled)
                if error is None and self.orphaned is not None:
                    self.orphaned(result)
                return
            if isinstance(error, asyncio.CancelledError):
                self.future.cancel()
            elif error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.loop.call_soon_threadsafe(settle)


class WriterStats:
    """Per transaction (or job on its own): the wait from submission to its start on the
    thread, and how long it held the writer. A fixed-size uniform sample of each
    (reservoir sampling) keeps the memory bounded however long the server runs."""

    SAMPLE = 10_000

    def __init__(self) -> None:
        self.count = 0
        self.waits: list[float] = []
        self.holds: list[float] = []
        self._random = random.Random(17)

    def record(self, wait: float, hold: float) -> None:
        self.count += 1
        if len(self.waits) < self.SAMPLE:
            self.waits.append(wait)
            self.holds.append(hold)
        else:
            slot = self._random.randrange(self.count)
            if slot < self.SAMPLE:
                self.waits[slot], self.holds[slot] = wait, hold

    def summary(self) -> str:
        """One line: "Writer: 1,234 transactions, lock wait p50 0.4 ms, p99 3.1 ms, ..."."""
        if not self.count:
            return "Writer: 0 transactions"

        def ms(sample: list[float], share: float) -> str:
            ordered = sorted(sample)
            return f"{ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000:.1f}"

        waits, holds = list(self.waits), list(self.holds)
        return (
            f"Writer: {self.count:,} transactions, lock wait p50 {ms(waits, 0.5)} ms, "
            f"p99 {ms(waits, 0.99)} ms; held p50 {ms(holds, 0.5)} ms, p99 {ms(holds, 0.99)} ms"
        )


class SQLiteWriter(ConnectionThread):
    """The writer's thread and its queue. ``connect`` opens the connection (on the thread).

    Jobs are submitted from the event loop; the thread takes them under ``_cond``: first
    the current owner's (``_owned``), and when no one owns the writer, the oldest of the
    others (``_waiting``). Only the thread changes ``owner``.
    """

    thread_name = "sqlite-writer"

    def __init__(self, connect: Callable[[], sqlite3.Connection], stats: WriterStats):
        self._connect, self.stats = connect, stats
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()  # jobs with no owner, and those that begin
        self._owned: deque[Job] = deque()  # the other jobs of owners
        self.owner: Any = None  # whose transaction is open on the thread
        self._cleanup: Callable[[sqlite3.Connection], None] | None = None
        self._began = 0.0
        self._wait = 0.0
        self._closing = False
        self.conn: sqlite3.Connection | None = None  # the thread's; read elsewhere by tests
        self.thread_loop: asyncio.AbstractEventLoop | None = None  # the thread's own loop
        self.current: Job | None = None  # the job running on the thread

    async def close(self) -> None:
        """Fail the jobs still queued, let the running one finish, roll back what is left
        open, close the connection and end the thread. Safe to call twice."""
        with self._cond:
            self._closing = True
            dropped = [*self._waiting, *self._owned]
            self._waiting.clear()
            self._owned.clear()
            self._cond.notify()
        for job in dropped:
            job.settle(error=DatabaseError("the database was closed before this write ran"))
        await self._join()

    def submit(
        self,
        call: Callable[[sqlite3.Connection], Any],
        label: str,
        *,
        owner: Any = None,
        begins: bool = False,
        ends: bool = False,
        cleanup: Callable[[sqlite3.Connection], None] | None = None,
    ) -> Job:
        """Queue ``call(connection)``; its outcome arrives in ``job.future``. ``label`` says
        what it does (its SQL). ``cleanup`` runs on the thread when the owner's hold ends."""
        job = Job(call, label, owner, begins, ends, cleanup)
        with self._cond:
            if self._closing:
                raise DatabaseError("the database is not open")
            (self._owned if owner is not None and not begins else self._waiting).append(job)
            self._cond.notify()
        return job

    def cancel(self, job: Job) -> bool:
        """Drop ``job`` if it has not started: True. Else ask it to stop (a write() body
        checks before each statement and before COMMIT): False, and it will settle."""
        with self._cond:
            if job.state == QUEUED:
                job.state = CANCELLED
                return True
        job.cancel_requested = True
        return False

    async def run(self, call: Callable[[sqlite3.Connection], Any], label: str, **kw: Any) -> Any:
        """Submit and wait; cancelled while still queued, the job never runs."""
        job = self.submit(call, label, **kw)
        try:
            return await job.future
        except asyncio.CancelledError:
            self.cancel(job)
            raise

    # --- on the thread ----------------------------------------------------------------

    def _main(self, ready: asyncio.Future) -> None:
        try:
            self.conn = self._connect()
            self.thread_loop = asyncio.new_event_loop()
        except BaseException as exc:
            hand_over(ready, error=exc)
            return
        hand_over(ready)
        try:
            while (job := self._next()) is not None:
                self._run(job)
            if self.owner is not None:  # closed during a transaction: it is lost
                self._release()
        finally:
            self.thread_loop.close()
            self.conn.close()

    def _next(self) -> Job | None:
        """The next job to run (None once closing with nothing left), marked running.
        A job of an owner that does not hold the writer (its transaction is over) settles
        at once: an end does nothing, anything else fails."""
        stale = []
        with self._cond:
            while True:
                job = None
                while self._owned and job is None:
                    candidate = self._owned.popleft()
                    if candidate.state == CANCELLED:
                        continue
                    if candidate.owner is self.owner:
                        job = candidate
                    else:
                        stale.append(candidate)
                while job is None and self.owner is None and self._waiting:
                    candidate = self._waiting.popleft()
                    if candidate.state != CANCELLED:
                        job = candidate
                if job is not None or self._closing:
                    break
                self._cond.wait()
            if job is not None:
                job.state = RUNNING
                if job.begins:
                    self.owner, self._cleanup = job.owner, job.cleanup
        for candidate in stale:
            error = None if candidate.ends else DatabaseError("the transaction is not active")
            candidate.settle(error=error)
        return job

    def _run(self, job: Job) -> None:
        started = time.perf_counter()
        if job.begins:
            self._began, self._wait = started, started - job.submitted
        self.current = job
        try:
            result = job.call(self.conn)
        except BaseException as exc:
            if job.begins or job.ends:  # a failed BEGIN holds nothing; an END always ends
                self._release()
            elif job.owner is None:
                self._finish_alone(started - job.submitted, started)
            job.settle(error=exc)
            return
        if job.ends:
            self._release()
        elif job.owner is None and not job.begins:
            self._finish_alone(started - job.submitted, started)
        job.settle(result)

    def _finish_alone(self, wait: float, started: float) -> None:
        """After a job with no owner: it must not leave a transaction open (raw BEGIN)."""
        if self.conn is not None and self.conn.in_transaction:
            log.warning("A statement outside any transaction left one open: rolled back")
            self._rollback()
        self.stats.record(wait, time.perf_counter() - started)

    def _release(self) -> None:
        """End the owner's hold: roll back whatever is still open (a failed COMMIT, an
        interrupted transaction), run its cleanup, and let the next job in."""
        self._rollback()
        cleanup, self._cleanup = self._cleanup, None
        try:
            if cleanup is not None:
                cleanup(self.conn)
        except Exception:
            log.exception("could not clean up after a transaction")
        self.stats.record(self._wait, time.perf_counter() - self._began)
        with self._cond:
            self.owner = None

    def _rollback(self) -> None:
        try:
            if self.conn is not None and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except Exception:
            log.exception("could not roll back an interrupted transaction")
