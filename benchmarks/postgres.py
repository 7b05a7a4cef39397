"""PostgreSQL for the benchmark: where it comes from, the schema the bench owns, and the
scaffold and the FastAPI peer (SQLAlchemy on asyncpg) serving the same pages from it.

Where PostgreSQL comes from, in this order:

1. ``WWW_BENCH_PG_URL`` (``postgresql://user:password@host:port/dbname``), used as given.
   Its server runs wherever it runs: not pinned to a core, which the report says;
2. else, when PostgreSQL's binaries are installed (PG_BIN), a throwaway server of our own:
   ``.ci/postgres.sh start`` on a free port, under ``taskset -c 0`` so that the server and
   every backend it forks share CPU 0 with the app, as SQLite does (it runs inside the
   app's process), and wrk keeps CPU 1 to itself. ``.ci/postgres.sh stop`` stops it by
   PID and deletes its folder, also when the run fails or is interrupted;
3. else the PostgreSQL rows are skipped, and the reason is printed and reported.

The bench only ever works in schemas of its own (SCHEMA, and live_latency.py's): each is
dropped and created afresh before use and dropped after, so the tests' schemas and tables
(and anyone's ``public``) are never touched. The app reaches a schema through
``?search_path=`` in db.url (www/db/postgres.py passes it to the server); the peers set
it on their connections (BENCH_DB_SCHEMA).
"""

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from common import ROOT, SERVER_CPU, clean_env, free_port, run_bounded
from page_rows import API, Row

SCHEMA = "www_bench"
# The rows run.py adds when there is a PostgreSQL, as page_rows.py's TARGETS,
# SERVER_LABELS, RATIOS and SAME: the scaffold with its data cache (the response cache
# off: it would answer without the database) against the FastAPI peer on asyncpg.
TARGETS = (
    Row("pg-home", "scaffold-pg", "home /", "/"),
    Row("pg-post", "scaffold-pg", "post", None),
    Row("pg-api", "scaffold-pg", API, API),
    Row("pg-fastapi-home", "fastapi-pg", "home /", "/"),
    Row("pg-fastapi-post", "fastapi-pg", "post", None),
    Row("pg-fastapi-api", "fastapi-pg", API, API),
)
LABELS = {
    "scaffold-pg": "scaffold on PostgreSQL (asyncpg), data cache on, response cache off",
    "fastapi-pg": "FastAPI + SQLAlchemy 2 async + asyncpg on PostgreSQL (uvicorn)",
}
RATIOS = (
    ("PostgreSQL: home (data cache) ÷ FastAPI home", "pg-home", "pg-fastapi-home", 3.0),
    ("PostgreSQL: post (data cache) ÷ FastAPI post", "pg-post", "pg-fastapi-post", 3.0),
    (f"PostgreSQL: {API} (data cache) ÷ FastAPI {API}", "pg-api", "pg-fastapi-api", 3.0),
)
SAME = (  # the same pages as on SQLite, from the same seed
    ("pg-home", "pg-fastapi-home"),
    ("pg-post", "pg-fastapi-post"),
    ("pg-api", "pg-fastapi-api"),
    ("pg-home", "data-home"),
    ("pg-post", "data-post"),
    ("pg-api", "data-api"),
)
PG_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_SH = ROOT / ".ci" / "postgres.sh"
CONNECT_TIMEOUT = 10  # seconds: a server that does not answer is reported, not waited for


@dataclass
class Postgres:
    url: str  # the database to work in, without a search_path
    origin: str  # where the server comes from, for the report

    @property
    def location(self) -> str:
        """The URL without its password, for messages and the report."""
        parts = urlsplit(self.url)
        user, at, host = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user.partition(':')[0]}{at}{host}"))

    def app_url(self, schema: str = SCHEMA) -> str:
        """db.url for the app: this database, with `schema` first on the search path."""
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
        query.append(("search_path", schema))
        return urlunsplit(parts._replace(query=urlencode(query)))

    def run(self, *statements: str) -> list:
        """Run statements on a connection of their own; the rows of the last one."""
        import asyncpg  # the app's own driver: installed with the app

        async def go() -> list:
            conn = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT)
            try:
                await conn.execute("SET lock_timeout = '10s'")  # never hang on a lock
                rows: list = []
                for sql in statements:
                    rows = await conn.fetch(sql)
                return rows
            finally:
                await conn.close()

        return asyncio.run(go())

    def fresh_schema(self, schema: str = SCHEMA) -> None:
        self.run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"')

    def drop_schema(self, schema: str = SCHEMA) -> None:
        """Drop `schema`, as the run's last step: a failure here is printed, and does not
        hide how the run went."""
        try:
            self.run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        except Exception as exc:
            print(f"could not drop schema {schema} of {self.location}: {exc}", flush=True)

    def server_version(self) -> str:
        """The server's version, for the report; "?" when it does not say."""
        try:
            return self.run("SHOW server_version")[0][0]
        except Exception:
            return "?"

    def count_comments(self, schema: str = SCHEMA) -> int:
        return self.run(f'SELECT COUNT(*) FROM "{schema}".comments')[0][0]

    def peer_env(self, schema: str = SCHEMA) -> dict[str, str]:
        """What the peers (benchmarks/peers/) need to serve from this database."""
        return {"BENCH_DB_URL": self.url, "BENCH_DB_SCHEMA": schema}


@contextlib.contextmanager
def provide() -> Iterator[Postgres | str]:
    """A PostgreSQL to benchmark on (see the module's docstring), or why there is none,
    in one line. A throwaway server is stopped on leaving, whatever happened."""
    given = os.environ.get("WWW_BENCH_PG_URL", "")
    if given:
        if not given.startswith("postgresql://"):
            yield f"WWW_BENCH_PG_URL must be a postgresql:// URL, not {given[:40]!r}"
            return
        yield Postgres(given, "WWW_BENCH_PG_URL (not pinned to a core)")
        return
    if not (PG_BIN / "initdb").exists():
        yield f"no PostgreSQL: set WWW_BENCH_PG_URL, or install it ({PG_BIN} is missing)"
        return
    port = free_port()
    env = clean_env(PG_TEST_PORT=str(port))  # the state file and server are this port's
    print(f"starting a throwaway PostgreSQL on 127.0.0.1:{port} (CPU {SERVER_CPU})", flush=True)
    try:
        started = run_bounded(
            ["taskset", "-c", SERVER_CPU, "bash", str(POSTGRES_SH), "start"],
            180,
            cwd=ROOT,
            env=env,
            capture_output=True,
        )
        if started.returncode != 0:
            why = " ".join((started.stderr or started.stdout).split())[-300:]
            yield f"the throwaway PostgreSQL did not start: {why}"
            return
        url = started.stdout.strip().splitlines()[-1]
        yield Postgres(
            url, f"a throwaway PostgreSQL 15 (.ci/postgres.sh), pinned to CPU {SERVER_CPU}"
        )
    finally:
        stopped = run_bounded(
            ["bash", str(POSTGRES_SH), "stop"], 60, cwd=ROOT, env=env, capture_output=True
        )
        print(f"  {stopped.stderr.strip() or 'postgres.sh stop: done'}", flush=True)
