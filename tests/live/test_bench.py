"""A smoke run of the benchmark on a tiny N: it keeps ``make bench`` working.

Nothing here is a timing: three viewers must get every tick from every kind of server, and
the run must write its JSON, its Markdown tables and its plot.
"""

import json
import subprocess
import sys

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.live

SETUPS = [
    "product:daphne:memory",
    "product:uvicorn:pubsub",
    "product:granian:memory",
    "ceiling:daphne-uvloop",
    "naive:daphne:memory",
    "raw",
]


def test_quick_benchmark_on_three_viewers(tmp_path):
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    argv = [
        sys.executable,
        "-m",
        "bench",
        "--setups",
        ",".join(SETUPS),
        "--viewers",
        "3",
        "--count",
        "5",
        "--ks",
        "1",
        "--room-viewers",
        "3",
        "--room-setups",
        "product:daphne:memory,ceiling:daphne,raw",
        "--idle-seconds",
        "2",
        "--works",
        "sync:cpu:50,async:offload:50",
        "--burst",
        "8",
        "--burst-setups",
        "product:daphne:memory,ceiling:daphne,raw",
        "--json",
        str(out),
        "--plot",
        str(png),
    ]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    document = json.loads(out.read_text())
    points = document["fanout"]
    assert [p["setup"] for p in points] == [
        "product + daphne + memory",
        "product + uvicorn + pubsub",
        "product + granian + memory",
        "ceiling + daphne-uvloop",
        "naive + daphne + memory",
        "raw + websockets",
        "product + daphne + memory · eight streams",
        "ceiling + daphne · eight streams",
        "raw + websockets · eight streams",
    ]
    for point in points:
        result, streams = point["result"], point["result"]["streams"]
        assert (result["connected"], result["sent"], result["lost"]) == (3, 5 * streams, 0)
        assert result["received"] == 15 * streams and result["frames_per_viewer_s"] > 0
    assert document["idle"]["viewers"] == 20 and document["idle"]["frames_per_viewer_s"] <= 2
    assert "/ its server's ceiling" in out.with_suffix(".md").read_text()
    batches = document["concurrency"]
    assert {(b["mode"], b["thread_model"]) for b in batches} == {
        ("sync", "shared"),
        ("sync", "per_connection"),
        ("async", "shared"),
        ("async", "per_connection"),
    }
    assert all(len(b["waits"]) == len(b["finishes"]) == 1 and b["ticks"] == 10 for b in batches)
    # A new default async producer waits for the shared thread: about until the loop ends.
    during = document["while_sync_loops"]
    assert during["new_async_wait"] >= 0.5 * during["sync_loop_left"] > 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    tables = out.with_suffix(".md").read_text()
    assert "| product + daphne + memory | 3 |" in tables and "| sync | shared | 1 |" in tables
    works = document["workloads"]
    assert [(w["mode"], w["work"]) for w in works] == [("sync", "cpu"), ("async", "offload")]
    assert all(len(w["waits"]) == 2 and w["bystander_lateness"] for w in works)
    assert "| sync | cpu | 50 |" in tables
    bursts = document["burst"]
    assert [b["setup"] for b in bursts] == [
        "product + daphne + memory",
        "ceiling + daphne",
        "raw + websockets",
    ]
    assert all(b["burst"]["connected"] == 8 and b["burst"]["snapshot"] for b in bursts)
    assert "| ceiling + daphne | 8 | 8 |" in tables
    assert "Fan-out" in done.stdout and "Concurrency" in done.stdout and "burst" in done.stdout


def test_soak_on_a_few_seconds(tmp_path):
    """``make soak``, shortened: it runs, delivers, and writes its JSON."""
    out = tmp_path / "soak.json"
    argv = [sys.executable, "-m", "bench.soak", "--minutes", "0.1", "--json", str(out)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    found = json.loads(out.read_text())
    assert found["ticks_sent"] == 2 * 60 and found["delivered_percent"] == 100.0
    assert found["duplicates"] == 0 and found["out_of_order"] == 0
    assert found["churned"] > 0 and found["churn_failures"] == 0
