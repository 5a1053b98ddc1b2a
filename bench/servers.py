"""Every server under test, started on a free loopback port as a subprocess.

A ``Setup`` names what runs (the product, the naive baseline, a server's own ceiling or the
raw server), under which server (daphne, uvicorn, or the raw server's own ``websockets``)
and on which channel layer.
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers import ROOT, free_port, listening, redis_server, redis_server_binary

# Daphne's listen backlog is 50 and uvicorn's 2048: a burst of viewers connecting at once
# overflows the first, and each dropped SYN costs a viewer a 1 s retransmit.
BACKLOG = 4096
LAYERS = {
    "memory": "InMemoryChannelLayer",
    "redis": "channels_redis RedisChannelLayer (core)",
    "pubsub": "channels_redis RedisPubSubChannelLayer",
}


@dataclass(frozen=True)
class Setup:
    app: str  # "product", "naive", "ceiling" (bench/ceiling.py) or "raw"
    # "daphne"; "uvicorn" (without permessage-deflate) or "uvicorn-deflate" (its default);
    # "granian"; "daphne-uvloop" (bench/daphne_uvloop.py);
    # for raw, "websockets", or "websockets-gc" with the product's garbage-collector tuning
    server: str
    layer: str = ""  # a LAYERS key; none for raw

    @property
    def label(self) -> str:
        return " + ".join(part for part in (self.app, self.server, self.layer) if part)

    @property
    def needs_redis(self) -> bool:
        return self.layer in {"redis", "pubsub"}


@dataclass(frozen=True)
class Served:
    url: str
    pid: int


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A throwaway Redis for the run; yields its URL."""
    with redis_server(redis_server_binary()) as url:
        yield url


def environment(setup: Setup, workdir: str, redis_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_DB_PATH": str(Path(workdir) / "db.sqlite3"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    if setup.needs_redis:
        assert redis_url is not None, f"{setup.label} needs Redis"
        env["REDIS_URL"] = redis_url
    if setup.layer == "redis":
        env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        env["BENCH_CHANNEL_LAYER"] = "redis"
    return env


def argv(setup: Setup, port: int) -> list[str]:
    app = {
        "product": "dashboard_project.asgi:application",
        "naive": "bench.naive:application",
        "ceiling": "bench.ceiling:application",
    }.get(setup.app, "")
    if setup.app == "raw":
        gc = ["--gc"] if setup.server == "websockets-gc" else []
        return [sys.executable, "-m", "bench.raw", "--port", str(port), *gc]
    if setup.server in {"daphne", "daphne-uvloop"}:
        endpoint = f"tcp:port={port}:interface=127.0.0.1:backlog={BACKLOG}"
        entry = "daphne" if setup.server == "daphne" else "bench.daphne_uvloop"
        return [sys.executable, "-m", entry, "-e", endpoint, "-v", "0", app]
    if setup.server in {"uvicorn", "uvicorn-deflate"}:
        # uvicorn compresses every message for every viewer whose browser offers
        # permessage-deflate (they all do); measured, that costs more than it saves here.
        deflate = "true" if setup.server == "uvicorn-deflate" else "false"
        return [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backlog",
            str(BACKLOG),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
            "--ws-per-message-deflate",
            deflate,
        ]
    if setup.server == "granian":
        # One worker, asyncio's event loop (uvloop where it is installed), no access log.
        return [sys.executable, "-m", "granian", "--interface", "asginl", "--host", "127.0.0.1",
                "--port", str(port), "--workers", "1", "--backlog", str(BACKLOG),
                "--loop", "auto", "--no-access-log", "--log-level", "warning", app]  # fmt: skip
    raise ValueError(f"no such server: {setup.server}")


@contextlib.contextmanager
def serving(setup: Setup, redis_url: str | None = None) -> Iterator[Served]:
    """Run ``setup`` until the block ends; its log is printed if it logged a traceback."""
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        env = environment(setup, workdir, redis_url)
        if setup.app in {"product", "naive"}:
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env=env,
                check=True,
            )
        port = free_port()
        log = Path(workdir) / "server.log"
        with (
            log.open("wb") as output,
            listening(
                argv(setup, port), port, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
            ) as proc,
        ):
            yield Served(f"http://127.0.0.1:{port}", proc.pid)
        printed = log.read_text(errors="replace")
        if "Traceback" in printed:
            first = printed[printed.index("Traceback") :][:3000]
            count = printed.count("Traceback")
            print(f"\n{setup.label} logged {count} tracebacks, first:\n{first}", file=sys.stderr)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, timeout: float = 20.0, busy: float = 0.05) -> float:
    """Wait until ``pid`` uses under ``busy`` of a core over half a second (the last run's
    viewers closed and cleaned up); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < busy * 0.5:
            break
    return time.monotonic() - started
