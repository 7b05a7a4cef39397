"""`python -m www.client`: every command against the real server, through main() with its
output captured, and as real processes for the exit statuses (0 done, 1 the API refused,
2 a usage mistake) and the WWW_API_URL / WWW_API_TOKEN variables."""

import asyncio
import io
import json
import subprocess
import sys

import pytest
from aiohttp import web

from tests.serving import ROOT, clean_env
from www.client import Client
from www.client.cli import main
from www.client.output import ProgressBar
from www.client.postfile import PostFileError, parse_post

POST_FILE = """# A post from a file
Summary: Written in an editor.
Tags: Editor, cli

Some *Markdown*,

    and code.
"""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def cli(*args: str, url: str, token: str | None = None, err=None, stdin=None):
    """(exit status, stdout, stderr) of main(args), run in a thread (it runs its own loop)."""
    out, err = io.StringIO(), err or io.StringIO()
    argv = ["--url", url, *(["--token", token] if token else []), *args]
    status = await asyncio.to_thread(main, argv, out, err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def as_alice(server, alice):
    async def run(*args, **kwargs):
        return await cli(*args, url=server.url, token=alice[1], **kwargs)

    return run


async def test_posts_commands(as_alice, tmp_path):
    source = tmp_path / "post.md"
    source.write_text(POST_FILE, encoding="utf-8")
    status, out, err = await as_alice("--json", "posts", "create", "--file", str(source))
    assert status == 0, err
    post = json.loads(out)
    assert (post["title"], post["summary"]) == ("A post from a file", "Written in an editor.")
    assert post["content"] == "Some *Markdown*,\n\n    and code."
    assert post["tags"] == ["cli", "editor"]  # stored lower-case, in order

    status, out, _ = await as_alice("posts", "list", "--per-page", "100")
    assert status == 0 and f"#{post['id']}" in out and "A post from a file" in out
    status, out, _ = await as_alice("--json", "posts", "list", "--page", "1")
    assert post["id"] in [item["id"] for item in json.loads(out)["items"]]
    status, out, _ = await as_alice("posts", "show", str(post["id"]))
    assert status == 0 and out.startswith("A post from a file\n") and "and code." in out

    status, out, _ = await as_alice("posts", "edit", str(post["id"]), "--title", "Renamed")
    assert (status, out.strip()) == (0, f"Updated post #{post['id']}: Renamed")
    source.write_text("# From the file again\n\nNew content.\n", encoding="utf-8")
    status, out, _ = await as_alice(
        "--json", "posts", "edit", str(post["id"]), "--file", str(source)
    )
    edited = json.loads(out)
    assert (edited["title"], edited["content"], edited["summary"]) == (
        "From the file again",
        "New content.",
        "Written in an editor.",  # not in the file: kept
    )
    status, _, err = await as_alice("posts", "edit", str(post["id"]))
    assert status == 2 and "nothing to change" in err

    status, out, _ = await as_alice("posts", "delete", str(post["id"]))
    assert (status, out.strip()) == (0, f"Deleted post #{post['id']}.")
    status, out, err = await as_alice("posts", "show", str(post["id"]))
    assert (status, out) == (1, "") and "error: There is no such post." in err


async def test_comments_commands(as_alice, server, alice):
    async with Client(server.url, token=alice[1]) as api:
        post = await api.posts.create(title="Commented")
    status, out, _ = await as_alice("comments", "add", str(post.id), "First!")
    assert status == 0 and out.startswith("Added comment #")
    status, out, _ = await as_alice("--json", "comments", "add", str(post.id), "Second")
    second = json.loads(out)
    status, out, _ = await as_alice("comments", "list", str(post.id))
    assert status == 0 and "First!" in out.splitlines()[0] and "Second" in out.splitlines()[1]
    status, out, _ = await as_alice("--json", "comments", "list", str(post.id))
    assert [c["content"] for c in json.loads(out)] == ["First!", "Second"]

    # Resuming from the start: both, as JSON lines, then it stops at --count.
    status, out, err = await as_alice(
        "--json", "comments", "follow", str(post.id), "--after", "0", "--count", "2"
    )
    assert status == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()][-1] == second["id"]
    status, _, err = await as_alice("comments", "follow", str(post.id), "--count", "0")
    assert status == 2 and "--count" in err


async def test_files_commands_and_the_progress_bar(as_alice, tmp_path):
    source = tmp_path / "data.bin"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    terminal = Terminal()
    status, out, err = await as_alice("--json", "files", "upload", str(source), err=terminal)
    assert status == 0, err
    file = json.loads(out)
    assert file["size"] == 1024 * 1024 and file["name"] == "data.bin"
    assert "upload [" in err and "100%" in err  # a terminal: the bar

    status, out, err = await as_alice("files", "list")
    assert status == 0 and f"#{file['id']}" in out and "data.bin" in out
    folder = tmp_path / "down"
    folder.mkdir()
    status, out, err = await as_alice("files", "download", str(file["id"]), str(folder))
    assert (status, err) == (0, "")  # not a terminal: no bar
    assert (folder / "data.bin").read_bytes() == source.read_bytes()
    assert out.strip() == f"Saved file #{file['id']} as {folder / 'data.bin'}"
    status, out, _ = await as_alice("files", "delete", str(file["id"]))
    assert (status, out.strip()) == (0, f"Deleted file #{file['id']}.")
    status, _, err = await as_alice("files", "upload", str(tmp_path / "missing.bin"))
    assert status == 2 and "is not a file" in err


async def test_api_errors_exit_1_with_the_message(server):
    status, out, err = await cli("posts", "create", "--file", __file__, url=server.url)
    assert status == 2 and "first line of a post file" in err  # this file has no title
    status, out, err = await cli("files", "list", url=server.url, token="www_wrong")
    assert (status, out) == (1, "") and "The API token is wrong, revoked or expired." in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["posts"],
        ["posts", "fly"],
        ["posts", "show", "seven"],
        ["posts", "create"],
        ["--url", "ftp://example.com", "posts", "list"],
    ],
    ids=["nothing", "no command", "unknown command", "not an id", "no --file", "bad url"],
)
def test_usage_mistakes_exit_2(argv):
    err = io.StringIO()
    assert main(argv, io.StringIO(), err) == 2
    assert "error" in err.getvalue()


def python_m(*args: str, env: dict[str, str], stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "www.client", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_as_a_process_with_the_environment_variables(server, alice):
    env = clean_env(WWW_API_URL=server.url, WWW_API_TOKEN=alice[1])
    async with Client(server.url, token=alice[1]) as api:
        post = await api.posts.create(title="Process")
    done = await asyncio.to_thread(
        python_m, "--json", "comments", "add", str(post.id), "-", env=env, stdin="From stdin\n"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["content"] == "From stdin"
    refused = await asyncio.to_thread(python_m, "posts", "show", "999999", env=env)
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == "python -m www.client: error: There is no such post.\n"
    usage = await asyncio.to_thread(python_m, "posts", "fly", env=env)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


async def test_tags_are_sent_from_the_file_or_the_option(aiohttp_server, tmp_path):
    """The tags come with the tags-search work on the server: checked on what is sent."""
    bodies = []

    async def record(request):
        bodies.append(await request.json())
        return web.json_response({"error": {"status": 418, "message": "Recorded."}}, status=418)

    app = web.Application()
    app.router.add_post("/api/posts", record)
    url = str((await aiohttp_server(app)).make_url(""))
    source = tmp_path / "post.md"
    source.write_text("# Tagged\nTags: Python, aiohttp\n\nText", encoding="utf-8")
    assert (await cli("posts", "create", "--file", str(source), url=url))[0] == 1
    assert (await cli("posts", "create", "--file", str(source), "--tags", "a,b", url=url))[0] == 1
    assert [body["tags"] for body in bodies] == [["Python", "aiohttp"], ["a", "b"]]


def test_the_post_file_format():
    assert parse_post("\n#  Title  #\nsummary: S\nTAGS: a, b,\n\n    code\n\ntext\n") == {
        "title": "Title",
        "summary": "S",
        "tags": ["a", "b"],
        "content": "    code\n\ntext",
    }
    assert parse_post("# T\n\nSummary: in the content") == {
        "title": "T",
        "content": "Summary: in the content",
    }
    with pytest.raises(PostFileError):
        parse_post("No title line\n")
    with pytest.raises(PostFileError):
        parse_post("")


def test_the_progress_bar_draws_at_most_ten_times_a_second():
    stream = Terminal()
    bar = ProgressBar(stream, "upload")
    for done in range(0, 1001):
        bar(done, 1000)
    bar.finish()
    drawn = stream.getvalue().split("\r")[1:]
    assert 1 <= len(drawn) <= 5 and drawn[-1].startswith("upload [" + "#" * 30 + "] 100%")


def test_help_describes_the_post_file_and_exits_0():
    out = io.StringIO()
    assert main(["posts", "create", "--help"], out, io.StringIO()) == 0
    assert "# The title" in out.getvalue() and "Tags:" in out.getvalue()
