"""Daphne in a subprocess on a free port, for live-server tests, browser tests and the
benchmark: the project as `make run` serves it (in-memory layer, SQLite in a temp dir)."""

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def daphne(**env_overrides: str) -> Iterator[str]:
    """Serve the project; yields its base URL. On exit, fails if a traceback was logged."""
    with tempfile.TemporaryDirectory(prefix="daphne-") as workdir:
        env = {**os.environ, "DJANGO_DB_PATH": str(Path(workdir) / "db.sqlite3")}
        env.pop("REDIS_URL", None)
        env.update(env_overrides)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        port = free_port()
        log = Path(workdir) / "daphne.log"
        with log.open("wb") as output:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "dashboard_project.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(port, 20)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # A sync loop still running keeps the process alive: Python joins the
                # executor's threads at exit. That is Channels' behaviour, not a failure.
                proc.kill()
                proc.wait(timeout=10)
            # No traceback may reach the server's log, whatever the clients did.
            printed = log.read_text()
            assert "Traceback" not in printed, printed[-5000:]
