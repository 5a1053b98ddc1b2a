"""Redis through Sentinel, for real: a throwaway Redis and a Sentinel watching it."""

import asyncio
import subprocess
import tempfile
import uuid
from pathlib import Path

from channels.layers import channel_layers
from django.core.cache import caches

from dashboard_project import environment
from tests.servers import free_port, listening, redis_server, redis_server_binary


def test_layer_and_cache_work_through_a_real_sentinel(settings):
    """A throwaway Redis and a Sentinel watching it: the layer delivers a group message and
    the cache stores a value, both finding the master through the sentinel."""
    binary = redis_server_binary()
    with redis_server(binary) as url, tempfile.TemporaryDirectory() as workdir:
        master_port = int(url.rsplit(":", 1)[1].split("/")[0])
        port = free_port()
        conf = Path(workdir) / "sentinel.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
            f"sentinel monitor main 127.0.0.1 {master_port} 1\n"
        )
        argv = [binary, str(conf), "--sentinel"]
        with listening(argv, port, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            sentinel = f"127.0.0.1:{port}"
            settings.CHANNEL_LAYERS = {
                "default": environment.channel_layer("pubsub", "", sentinel, "main")
            }
            settings.CACHES = {"default": environment.cache("", sentinel, "main")}
            channel_layers.backends.clear()
            try:
                caches["default"].set("sentinel-check", "found the master")
                assert caches["default"].get("sentinel-check") == "found the master"
                assert asyncio.run(_group_round_trip()) == {"type": "hello", "n": 1}
            finally:  # no Sentinel-backed layer may outlive this test
                channel_layers.backends.clear()


async def _group_round_trip() -> dict[str, object]:
    layer = channel_layers["default"]
    channel = await layer.new_channel()
    group = f"sentinel-{uuid.uuid4().hex[:8]}"
    await layer.group_add(group, channel)
    await layer.group_send(group, {"type": "hello", "n": 1})
    try:
        return await asyncio.wait_for(layer.receive(channel), 5)
    finally:
        await layer.group_discard(group, channel)
        await layer.flush()  # unsubscribes and closes its connections
