"""The layer comparison runs, and shows the two behaviours that chose the default layer:
what a dead process leaves in Redis, and who hears the group after Redis restarts.
Behaviours, not timings: those are printed by ``python -m bench.layer_compare``."""

import logging

from bench import layer_compare


async def test_layer_comparison_runs_and_shows_why_pubsub_is_the_default(caplog):
    caplog.set_level(logging.CRITICAL, logger="channels_redis")
    found = await layer_compare.main(members=5, messages=30, churners=3)

    latency = {row["layer"]: row for row in found["latency"]}
    assert {layer: row["delivered_share"] for layer, row in latency.items()} == {
        "core": 1.0,
        "pubsub": 1.0,
    }
    churn = {row["layer"]: row for row in found["churn"]}
    assert churn["core"]["ghosts"] == 50  # 5 dead processes x 10 members, kept in Redis
    assert churn["pubsub"]["ghosts"] == 0  # their subscriptions died with their connections
    outage = {row["layer"]: row for row in found["outage"]}
    assert all(row["send_errors"] for row in outage.values())  # sends fail while it is down
    assert outage["core"]["after_restart"] == 0  # memberships were in the Redis that died
    assert outage["pubsub"]["after_restart"] > 0  # re-subscribed from process memory
