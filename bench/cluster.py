"""Two Daphnes behind nginx on one Redis, on this machine, to try by hand (``make cluster``).

    python -m bench.cluster              # nginx on 127.0.0.1:8000, Daphnes on 8001 and 8002
    python -m bench.cluster --port 9000  # nginx on 9000, Daphnes on 9001 and 9002

What docs/operations.md shows ("Behind nginx"), with the very configuration
tests/live/test_nginx.py runs: the Redis at ``REDIS_URL`` (default 127.0.0.1:6379) if it
answers, else a throwaway one; two Daphnes sharing it and one database (``DATABASE_URL``,
else the SQLite file `make run` uses); and nginx in front, serving collectstatic's output.
Prints the URLs and stops everything on Ctrl-C. Not a benchmark: it lives here beside the
other tools that start servers.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from tests.servers import (
    NGINX_MISSING,
    ROOT,
    Server,
    free_port,
    listening,
    nginx_binary,
    nginx_front,
    redis_argv,
    redis_server_binary,
)

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind: a port whose last connections are in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="nginx's port (default 8000)")
    args = parser.parse_args(argv)
    # Ctrl-C, or a SIGTERM from anything else, stops everything in order; a shell that
    # starts this in the background has it ignore SIGINT otherwise.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if nginx_binary() is None:
        print(NGINX_MISSING, file=sys.stderr)
        return 1
    ports = [args.port, args.port + 1, args.port + 2]
    taken = [port for port in ports if not port_free(port)]
    if taken:
        print(f"port {taken[0]} is taken: choose another, make cluster PORT=9000", file=sys.stderr)
        return 1
    daphnes: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="cluster-") as work:
        try:
            return serve(Path(work), ports, daphnes)
        except KeyboardInterrupt:
            print("\nstopped")
            return 0
        finally:
            for daphne in daphnes:
                if "Traceback" in (log := daphne.log.read_text()):
                    print(f"\nDaphne on {daphne.port} logged a traceback:\n{log[-3000:]}")


def serve(work: Path, ports: list[int], daphnes: list[Server]) -> int:
    """Redis, a Daphne on each of ``ports[1:]`` and nginx on ``ports[0]``, until Ctrl-C
    (KeyboardInterrupt) or a Daphne exits; then everything stops, nginx first."""
    with contextlib.ExitStack() as running:
        redis_url = os.environ.get("REDIS_URL") or LOCAL_REDIS
        if redis_answers(redis_url):
            print(f"Redis: {redis_url}, already running")
        else:
            port, asked = free_port(), redis_url
            redis_url = f"redis://127.0.0.1:{port}/0"
            # A session of its own, so that Ctrl-C stops it only after the Daphnes, which
            # tell their rooms through it that their streams stopped.
            argv = redis_argv(redis_server_binary(), port, str(work))
            running.enter_context(
                listening(argv, port, stdout=subprocess.DEVNULL, start_new_session=True)
            )
            print(f"Redis: {redis_url}, a throwaway one (nothing answered on {asked})")
        env = {"DJANGO_SERVE_STATIC": "false"}  # nginx serves the static files
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        else:  # Server would give each its own file
            env["DJANGO_DB_PATH"] = os.environ.get("DJANGO_DB_PATH", str(ROOT / "db.sqlite3"))
        for port in ports[1:]:
            workdir = work / str(port)
            workdir.mkdir()
            daphne = Server(workdir, redis_url, env, port=port)
            daphne.start()
            running.callback(daphne.stop)
            daphnes.append(daphne)
            print(f"Daphne: {daphne.url}/ (log: {daphne.log})")
        nginx = running.enter_context(nginx_front([d.port for d in daphnes], ports[0]))
        print(f"nginx: {nginx.url}/ in front of both, configured as docs/operations.md says")
        print(f"\nOpen {nginx.url}/ (the room lobby) in two browsers. Ctrl-C stops everything.")
        while all(daphne.running for daphne in daphnes):
            time.sleep(0.5)
        for daphne in daphnes:
            if not daphne.running:
                print(f"Daphne on {daphne.port} exited; its log:\n{daphne.log.read_text()[-3000:]}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
