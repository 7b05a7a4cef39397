"""The in-memory counters of the rate limits (when redis.url is empty): bounded, O(log n).

Why not the `limits` library's own async MemoryStorage: every hit schedules a task that
walks every key it holds (and, for moving windows, hands each key's list to a thread),
so with 100,000 client addresses each request costs O(keys) of event-loop work, and
nothing bounds how many keys it keeps: a flood from many addresses grows it without end.

Here each counter expires at a fixed time (limits sets it when the counter is made), kept
in a heap beside the counters: every call drops at most a few expired ones from the top
(amortised O(log n): each counter is pushed once and popped once), and past `max_keys`
the counters nearest to expiring are dropped first, so memory stays bounded whatever the
traffic. The clock is injectable (tests drive a fake one; no sleeping).

Only what the sliding window counter strategy needs is implemented (www/limiter.py).
"""

import heapq
import time
from collections.abc import Callable

from limits.aio.storage.base import SlidingWindowCounterSupport, Storage
from limits.storage.base import TimestampedSlidingWindow

EXPIRED_PER_CALL = 8  # expired counters dropped, at most, by each call


class BoundedMemoryStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """Counters in one process's memory, at most `max_keys` of them."""

    STORAGE_SCHEME = None  # made directly, never from a URI

    def __init__(self, max_keys: int, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.max_keys, self.clock = max_keys, clock
        self.counts: dict[str, int] = {}
        self.expires: dict[str, float] = {}  # key -> when its counter goes
        self._heap: list[tuple[float, str]] = []  # (expires, key); stale ones skipped

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError  # nothing here fails on I/O

    def __len__(self) -> int:
        return len(self.counts)

    def _drop_expired(self, now: float, most: int = EXPIRED_PER_CALL) -> None:
        heap = self._heap
        while heap and most > 0 and heap[0][0] <= now:
            expires, key = heapq.heappop(heap)
            if self.expires.get(key) == expires:  # else cleared, or made again since
                del self.counts[key], self.expires[key]
            most -= 1

    def _make_room(self) -> None:
        """At `max_keys`: drop the counter nearest to expiring (the least to lose)."""
        heap = self._heap
        while len(self.counts) >= self.max_keys and heap:
            expires, key = heapq.heappop(heap)
            if self.expires.get(key) == expires:
                del self.counts[key], self.expires[key]
        if len(heap) > 2 * len(self.counts) + 1024:  # many stale entries: rebuild
            self._heap = [(expires, key) for key, expires in self.expires.items()]
            heapq.heapify(self._heap)

    def _live(self, key: str, now: float) -> int:
        if self.expires.get(key, now) <= now:  # expired but not yet dropped
            self.counts.pop(key, None)
            self.expires.pop(key, None)
        return self.counts.get(key, 0)

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        return self._incr(key, expiry, amount, self.clock())

    def _incr(self, key: str, expiry: float, amount: int, now: float) -> int:
        self._drop_expired(now)
        count = self._live(key, now)
        if not count and key not in self.counts:
            self._make_room()
            self.expires[key] = expires = now + expiry
            heapq.heappush(self._heap, (expires, key))
        self.counts[key] = count + amount
        return count + amount

    async def decr(self, key: str, amount: int = 1) -> int:
        count = max(self._live(key, self.clock()) - amount, 0)
        if key in self.counts:
            self.counts[key] = count
        return count

    async def get(self, key: str) -> int:
        now = self.clock()
        self._drop_expired(now)
        return self._live(key, now)

    async def get_expiry(self, key: str) -> float:
        return self.expires.get(key, self.clock())

    async def clear(self, key: str) -> None:
        self.counts.pop(key, None)
        self.expires.pop(key, None)  # its heap entry is skipped when it comes up

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self.counts)
        self.counts.clear()
        self.expires.clear()
        self._heap.clear()
        return count

    # The sliding window counter, as limits' MemoryStorage computes it, on our clock.

    async def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        previous, previous_ttl, current, _ = self._window(key, expiry, now)
        if int(previous * previous_ttl / expiry + current) + amount > limit:
            return False
        # No await between reading and counting: no other request can slip in between.
        self._incr(self.sliding_window_keys(key, expiry, now)[1], 2 * expiry, amount, now)
        return True

    async def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        return self._window(key, expiry, self.clock())

    async def clear_sliding_window(self, key: str, expiry: int) -> None:
        for window_key in self.sliding_window_keys(key, expiry, self.clock()):
            await self.clear(window_key)

    def _window(self, key: str, expiry: int, now: float) -> tuple[int, float, int, float]:
        """(previous count, how long it still weighs, current count, current TTL)."""
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        self._drop_expired(now)
        previous, current = self._live(previous_key, now), self._live(current_key, now)
        previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous, previous_ttl, current, current_ttl
