"""The peer people pick today instead of aiohttp: FastAPI + SQLAlchemy 2 (async) + Jinja2
under uvicorn, serving the scaffold's home page, a post page and `GET /api/posts` from the
benchmark database, on SQLite (aiosqlite) or on PostgreSQL (asyncpg).

    BENCH_DB=/path/bench.db uvicorn --app-dir benchmarks/peers fastapi_app:app --port 8003
    BENCH_DB_URL=postgresql://user:pw@127.0.0.1:5432/db BENCH_DB_SCHEMA=www_bench uvicorn ...

Written the way FastAPI's and SQLAlchemy's documentation teach it, with their defaults: one
AsyncEngine (its default pool), an AsyncSession per request through a dependency
(`SessionDep`), declarative ORM models mapped onto the benchmark database's tables,
`select()` with each row's author loaded in the same query (`joinedload`) and the posts'
tags by `selectinload`, a count for the pagination, pydantic response models for the JSON
(`response_model=PostPage`), and `Jinja2Templates.TemplateResponse` for the pages.

So that the bench can check the pages are the same, it renders the scaffold's own
templates with the scaffold's Jinja2 set-up and context (shared.py, as flask_app.py
does): the HTML is byte-for-byte the scaffold's, and the JSON equal to its /api/posts
(times in the contract's ISO 8601 form, the scaffold's `Time`).

What it does not do: no sessions, no login, no CSRF middleware, no security headers, no
rate limits; read-only, for anonymous visitors. The scaffold does all of those on every
request (for a visitor without a cookie, its session work is a dictionary lookup).
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict
from shared import (
    COMMENTS_PER_PAGE,
    ROOT,
    Page,
    detail_context,
    environment,
    last_comments,
    page_context,
)
from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
)
from sqlalchemy.types import TypeDecorator

from www.schemas import Time  # the contract's form of a time: isoformat, +00:00

DB_PATH = os.environ.get("BENCH_DB", str(ROOT / "data" / "www.db"))
DB_URL = os.environ.get("BENCH_DB_URL", "")  # postgresql://...: PostgreSQL instead
DB_SCHEMA = os.environ.get("BENCH_DB_SCHEMA", "public")  # its schema holding the tables
PER_PAGE = int(os.environ.get("BENCH_PER_PAGE", "20"))


# --- the database --------------------------------------------------------------------------


class UtcDateTime(TypeDecorator):
    """A time in UTC, as the scaffold stores it: ISO 8601 text on SQLite, timestamptz on
    PostgreSQL. SQLAlchemy's own DateTime reads neither SQLite's "+00:00" text nor returns
    the scaffold's tzinfo, hence this decorator (SQLAlchemy's documented way)."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name == "postgresql":
            return value
        return value.astimezone(UTC).isoformat()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    is_admin: Mapped[bool]


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class PostTag(Base):
    __tablename__ = "post_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"))


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str]
    summary: Mapped[str]
    content: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    author: Mapped[User] = relationship()
    tag_rows: Mapped[list[Tag]] = relationship(secondary="post_tags", order_by=Tag.name)

    @property
    def tags(self) -> list[str]:
        """The names of its tags, sorted, as the templates and the JSON show them."""
        return [tag.name for tag in self.tag_rows]


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    content: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    author: Mapped[User] = relationship()


def make_engine():
    """The engine with its default pool: asyncpg (its schema first on the search path) or
    aiosqlite on the benchmark file."""
    if DB_URL.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + DB_URL.removeprefix("postgresql://")
        settings = {"search_path": DB_SCHEMA, "timezone": "UTC"}
        return create_async_engine(url, connect_args={"server_settings": settings})
    return create_async_engine(f"sqlite+aiosqlite:///{DB_PATH}")


engine = make_engine()
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


# --- the JSON ------------------------------------------------------------------------------


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    summary: str
    content: str
    author: UserOut
    tags: list[str]
    created_at: Time
    updated_at: Time


class PostPage(BaseModel):
    items: list[PostOut]
    page: int
    per_page: int
    total: int


# --- the app -------------------------------------------------------------------------------


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
templates = Jinja2Templates(env=environment("fastapi"))


async def posts_page(session: AsyncSession, page: int, per_page: int) -> tuple[list[Post], int]:
    """A page of posts, newest first, with their authors and tags, and how many there are."""
    query = (
        select(Post)
        .options(joinedload(Post.author), selectinload(Post.tag_rows))
        .order_by(Post.created_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    posts = list((await session.scalars(query)).all())
    total = await session.scalar(select(func.count()).select_from(Post))
    return posts, total


@app.get("/", response_class=HTMLResponse)
async def index(request: Request, session: SessionDep, page: Annotated[int, Query(ge=1)] = 1):
    posts, total = await posts_page(session, page, PER_PAGE)
    if page > 1 and not posts:
        raise HTTPException(status_code=404)
    context: dict[str, Any] = page_context(request)
    context |= {"page": Page(posts, page, PER_PAGE, total), "author": None}
    return templates.TemplateResponse(request, "posts/index.html", context)


@app.get("/posts/{post_id}", response_class=HTMLResponse)
async def post_detail(request: Request, post_id: int, session: SessionDep):
    options = [joinedload(Post.author), selectinload(Post.tag_rows)]
    post = await session.get(Post, post_id, options=options)
    if post is None:
        raise HTTPException(status_code=404)
    count = select(func.count()).select_from(Comment).where(Comment.post_id == post_id)
    total = await session.scalar(count)
    _, offset = last_comments(total)
    query = (
        select(Comment)
        .options(joinedload(Comment.author))
        .where(Comment.post_id == post_id)
        .order_by(Comment.created_at, Comment.id)
        .limit(COMMENTS_PER_PAGE)
        .offset(offset)
    )
    comments = list((await session.scalars(query)).all())
    context = page_context(request) | detail_context(post, comments, total)
    return templates.TemplateResponse(request, "posts/detail.html", context)


@app.get("/api/posts", response_model=PostPage)
async def list_posts(
    session: SessionDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = PER_PAGE,
):
    posts, total = await posts_page(session, page, per_page)
    return {"items": posts, "page": page, "per_page": per_page, "total": total}
