"""Daphne on uvloop: the experiment of whether the event loop moves Daphne's own ceiling.

    python -m bench.daphne_uvloop -b 127.0.0.1 -p 8000 dashboard_project.asgi:application

Daphne makes the loop of Twisted's asyncio reactor with ``asyncio.new_event_loop()`` when
``daphne.server`` is first imported; with uvloop's policy set before that import, the loop
is uvloop's. Everything else is Daphne's.
"""

import asyncio

import uvloop

asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne import server  # noqa: E402  (after the policy: it makes its loop on import)
from daphne.cli import CommandLineInterface  # noqa: E402

if __name__ == "__main__":
    if not isinstance(server.twisted_loop, uvloop.Loop):
        raise SystemExit(f"Daphne's loop is {type(server.twisted_loop)}, not uvloop's")
    CommandLineInterface.entrypoint()
