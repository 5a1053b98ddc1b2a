"""`make cluster` (bench/cluster.py): nginx in front of two Daphnes, live, and all of it
gone on Ctrl-C."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bench.cluster import port_free
from streams.client import Viewer
from tests.live.test_nginx import PROCESS
from tests.servers import NGINX_MISSING, ROOT, free_port, nginx_binary, wait_for_port

pytestmark = pytest.mark.live


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _three_free_ports() -> int:
    """A free port whose next two are free as well: nginx's and the two Daphnes'."""
    for _ in range(20):
        port = free_port()
        # bench.cluster's own test, so that it takes every port this picks.
        if port + 2 < 65536 and all(port_free(port + n) for n in (1, 2)):
            return port
    raise RuntimeError("no three free ports in a row")


@contextlib.contextmanager
def _cluster(port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    argv = [sys.executable, "-m", "bench.cluster", "--port", str(port)]
    cluster = subprocess.Popen(
        argv, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield cluster
    finally:
        if cluster.poll() is None:
            cluster.kill()
            cluster.wait()


async def test_make_cluster_serves_two_processes_through_nginx_and_stops_on_ctrl_c(
    redis_url, room, tmp_path
):
    if nginx_binary() is None:
        pytest.fail(NGINX_MISSING)
    port = _three_free_ports()
    url = f"http://127.0.0.1:{port}"
    env = {"REDIS_URL": redis_url, "DJANGO_DB_PATH": str(tmp_path / "db.sqlite3")}
    with _cluster(port, env) as cluster:
        await asyncio.to_thread(wait_for_port, port, 60)  # nginx starts once both Daphnes do
        async with Viewer(url, room) as first, Viewer(url, room) as second:
            gauges = [await viewer.wait_for('<p id="gauges"') for viewer in (first, second)]
        assert len({PROCESS.search(frame)[1] for frame in gauges}) == 2  # one on each
        cluster.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = await asyncio.to_thread(cluster.communicate, timeout=30)
    assert cluster.returncode == 0, output
    assert f"Open {url}/" in output and "stopped" in output and "Traceback" not in output, output
    assert not any(_answers(port + n) for n in (0, 1, 2))  # nginx and both Daphnes are gone
