"""What ``GET /metrics`` shows Prometheus: every metric of this process, defined here, once.

The one fact to know: **every figure is this process's own**, as the page's gauges are
(docs/operations.md, "Metrics"): Prometheus scrapes each server process on its own port.
Metrics are counted where their events happen (the producers' clock, the viewer's sends,
the gauges' sampler, the WebSocket close middleware); this module only defines them. Their
labels take a few fixed values each (a mode, a work, a state, a close code): never a room
or a channel name, so thousands of connections add no series.
"""

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

from streams import close_codes
from streams.choices import Mode, Outcome, Work

# No ``_created`` gauge beside every counter and histogram: in the text format each is a
# series of its own, and Prometheus has the process's start time already.
disable_created_metrics()

# A registry of the dashboard's own, with the standard process_ and python_ figures beside
# (resident memory and open descriptors, what docs/operations.md watches for leaks).
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# The page's gauges (streams/gauges.py), as its sampler last pushed them.
EVENT_LOOP_LAG = Gauge(
    "dashboard_event_loop_lag_seconds",
    "How late a 20 ms timer of this process's event loop fired: the worst in the last second, "
    "as the page's gauge shows it.",
    registry=REGISTRY,
)
THREAD_WAIT = Gauge(
    "dashboard_shared_thread_wait_seconds",
    "How long a thread-sensitive call waited for this process's shared sync thread, or has "
    "been waiting so far while a sync loop holds it, as the page's gauge shows it.",
    registry=REGISTRY,
)
VIEWERS = Gauge(
    "dashboard_viewers",
    "Viewer sockets (a page's one connection) this process holds now.",
    registry=REGISTRY,
)
STREAMS = Gauge(
    "dashboard_streams",
    "Streams this process's producers run now, by mode and state (running, orphaned: a sync "
    "loop whose client left).",
    ["mode", "state"],
    registry=REGISTRY,
)
STREAMS_ENDED = Counter(
    "dashboard_streams_ended",
    "Streams this process ran that ended, by mode and outcome, as the history records them.",
    ["mode", "outcome"],
    registry=REGISTRY,
)
TICKS = Counter(
    "dashboard_ticks_sent",
    "Ticks this process's producers sent to their rooms, by mode and work.",
    ["mode", "work"],
    registry=REGISTRY,
)
# From a few ms (a tick on time) to seconds (a tick behind a blocked loop or a sync stream).
LATENESS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LATENESS = Histogram(
    "dashboard_tick_lateness_seconds",
    "How late each tick went out against its schedule, by mode and work.",
    ["mode", "work"],
    buckets=LATENESS_BUCKETS,
    registry=REGISTRY,
)
VIEWER_FRAMES = Counter(
    "dashboard_viewer_frames_sent",
    "WebSocket frames this process sent to viewers (each one or more fragments).",
    registry=REGISTRY,
)
VIEWER_CHARACTERS = Counter(
    "dashboard_viewer_characters_sent",
    "Characters of HTML this process sent to viewers, what a page acks as read.",
    registry=REGISTRY,
)
CLOSES = Counter(
    "dashboard_websocket_closes",
    "WebSocket connections of this process that ended, by who closed first (server: the "
    "application sent the close, with its code; client: the connection went first, with "
    "the code the server reported) and code; codes outside the known ones count as other.",
    ["by", "code"],
    registry=REGISTRY,
)
REDIS_OUTAGES = Counter(
    "dashboard_redis_outages",
    "Times this process lost the channel layer's Redis: a gauge push failed or took over "
    "2 s after one that went through.",
    registry=REGISTRY,
)
LAYER_UP = Gauge(
    "dashboard_channel_layer_up",
    "1 while this process's last gauge push went through the channel layer, 0 while it fails.",
    registry=REGISTRY,
)
LAYER_UP.set(1)

# Held states (streams/stream.py): what a stream of this process is until it ends.
HELD_STATES = ("running", "orphaned")
# Close codes worth a series of their own: the RFC 6455 ones, and every one the dashboard
# sends (streams/close_codes.py). A client may send any of 3000-4999; those count as other.
KNOWN_CLOSES = frozenset(range(1000, 1016)) | {
    value for name, value in vars(close_codes).items() if name.startswith("CLOSE_")
}


def close_label(code: object) -> str:
    """The ``code`` label of a close: the code when it is a known one, else ``other``."""
    return str(code) if isinstance(code, int) and code in KNOWN_CLOSES else "other"


def held_state(orphaned: bool) -> str:
    """The ``state`` label of a stream this process holds."""
    return "orphaned" if orphaned else "running"


# Every series a mode, a work and an outcome can make, at 0 from the start: a rate over a
# series that appears only at its first event misses that event.
for _mode in Mode:
    for _state in HELD_STATES:
        STREAMS.labels(_mode.value, _state)
    for _outcome in Outcome:
        STREAMS_ENDED.labels(_mode.value, _outcome.value)
    for _work in Work:
        if _mode is Mode.ASYNC or not _work.async_only:
            TICKS.labels(_mode.value, _work.value)
            LATENESS.labels(_mode.value, _work.value)
