"""Daphne on uvloop: the experiment of whether the event loop moves Daphne's own ceiling.

    python -m bench.daphne_uvloop -b 127.0.0.1 -p 8000 dashboard_project.asgi:application

Daphne runs Twisted's asyncio reactor on ``asyncio.new_event_loop()`` (daphne/server.py);
with uvloop's policy set first, that loop is uvloop's. Everything else is Daphne's.
"""

import asyncio

import uvloop
from daphne.cli import CommandLineInterface

if __name__ == "__main__":
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    CommandLineInterface.entrypoint()
