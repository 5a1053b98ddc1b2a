"""Servers the tests start as subprocesses on free loopback ports: Daphne serving the
project as `make run` does (in-memory layer, SQLite in a temp dir), and Redis."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


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
            # Daphne with a sync loop still running stays alive: Python joins the
            # executor's threads at exit. That is Channels' behaviour, not a failure.
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def daphne() -> Iterator[str]:
    """Serve the project; yields its base URL. On exit, fails if a traceback was logged."""
    with tempfile.TemporaryDirectory(prefix="daphne-") as workdir:
        env = {**os.environ, "DJANGO_DB_PATH": str(Path(workdir) / "db.sqlite3")}
        env.pop("REDIS_URL", None)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        port = free_port()
        log = Path(workdir) / "daphne.log"
        argv = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        with (
            log.open("wb") as output,
            listening(
                [*argv, "dashboard_project.asgi:application"],
                port,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            ),
        ):
            yield f"http://127.0.0.1:{port}"
        # No traceback may reach the server's log, whatever the clients did.
        printed = log.read_text()
        assert "Traceback" not in printed, printed[-5000:]


@contextlib.contextmanager
def redis_server(binary: str) -> Iterator[str]:
    """A throwaway Redis that keeps nothing on disk; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="redis-test-") as workdir:
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", workdir]  # fmt: skip
        with listening(argv, port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            yield f"redis://127.0.0.1:{port}/0"
