"""Password hashing with argon2id, off the event loop.

Hashing is deliberately slow (tens of milliseconds), so the async helpers run it on the
app's hashing pool (app[HASHING], www/executors.py), not the default one: the event loop
and file I/O keep going meanwhile, and a full queue is a 503 (ExecutorBusy), not a backlog.
"""

import functools

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from .executors import BoundedExecutor
from .settings import PasswordSettings

# A valid hash of a random password, verified against when the email is unknown, so a
# login for a missing account takes as long as one for a wrong password.
_DUMMY_PASSWORD = "not-a-real-password-but-the-same-cost"  # noqa: S105


@functools.lru_cache(maxsize=8)
def hasher(params: PasswordSettings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        type=Type.ID,
    )


@functools.lru_cache(maxsize=8)
def _dummy_hash(params: PasswordSettings) -> str:
    return hasher(params).hash(_DUMMY_PASSWORD)


def hash_password_sync(params: PasswordSettings, password: str) -> str:
    """Hash in the calling thread: for scripts such as init_db.py, never in a handler."""
    return hasher(params).hash(password)


def _verify(params: PasswordSettings, stored: str | None, password: str) -> tuple[bool, bool]:
    ph = hasher(params)
    try:
        ph.verify(stored or _dummy_hash(params), password)
    except (VerificationError, InvalidHashError):
        return False, False
    if stored is None:
        return False, False
    return True, ph.check_needs_rehash(stored)


async def hash_password(executor: BoundedExecutor, params: PasswordSettings, password: str) -> str:
    """The hash of `password`, made on `executor`; raises ExecutorBusy when it is full."""
    return await executor.run(hash_password_sync, params, password)


async def verify_password(
    executor: BoundedExecutor, params: PasswordSettings, stored: str | None, password: str
) -> tuple[bool, bool]:
    """Check `password` against the `stored` hash; returns (matches, needs_rehash).

    Pass stored=None for an unknown account: the same work is done and (False, False)
    comes back, so response times do not reveal which emails are registered. Raises
    ExecutorBusy when `executor` is full.
    """
    return await executor.run(_verify, params, stored, password)
