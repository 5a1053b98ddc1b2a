import asyncio
import ipaddress
import json
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from streams import charts, fragments, live, metrics, recording
from streams.choices import ThreadModel
from streams.close_codes import CLOSE_LOGIN_REQUIRED, RECONNECT
from streams.frames import COST_RANGE, COUNT_RANGE, INTERVAL_RANGE, STREAMS_RANGE, is_small_number
from streams.gauges import SAMPLER
from streams.limits import ACK_EVERY
from streams.live import STORE_DOWN
from streams.models import StreamRun
from streams.process import PROCESS
from streams.reading import read
from streams.rooms import DEFAULT_ROOM, InvalidRoom, validate_room

HISTORY_ROWS = recording.READ_RUNS  # the runs the reading reads are the rows shown
SLOW_MS = (0, 5000)


@require_GET
def dashboard(request: HttpRequest, room: str = DEFAULT_ROOM) -> HttpResponse:
    try:
        validate_room(room)
    except InvalidRoom as error:
        reason = {"room": room, "reason": str(error)}
        return render(request, "streams/no_room.html", reason, status=404)
    try:
        streams = live.streams(room)
        room_now = {
            **fragments.thread_model_context(room, live.thread_model(room)),
            "columns": fragments.column_contexts(streams, time.time()),
            "chart": charts.timeline(streams, time.time()),
            "viewers": live.viewers(room, time.time()),
        }
    except STORE_DOWN:
        # Redis is gone: the page still loads, says so, and fills in by itself once the
        # layer is back (its socket is closed with 4503 meanwhile, which it retries).
        room_now = {
            **fragments.thread_model_context(room, ThreadModel.SHARED),
            "columns": fragments.column_contexts([], time.time()),
            "chart": charts.timeline([], time.time()),
            "viewers": None,
            "layer_down": True,
        }
    runs = list(StreamRun.objects.filter(room=room)[:HISTORY_ROWS])  # one query, not two
    context = {
        **room_now,
        "runs": runs,
        "comparison": recording.comparison(room),
        "reading": read(runs),
        "process": PROCESS,
        "count_range": COUNT_RANGE,
        "interval_range": INTERVAL_RANGE,
        "streams_range": STREAMS_RANGE,
        "cost_range": COST_RANGE,
        "ack_every": ACK_EVERY,
        "reconnect_codes": json.dumps(RECONNECT),
        "login_code": CLOSE_LOGIN_REQUIRED,
    }
    status = 503 if context.get("layer_down") else 200
    return render(request, "streams/dashboard.html", context, status=status)


@login_not_required  # the producers' own load, requested without a session
@require_GET
async def slow(request: HttpRequest) -> HttpResponse:
    """``/api/slow/?ms=N``: answers after N ms, what ``http`` work waits for. Async, so it
    holds no thread while it waits, and never waits for the shared sync thread. Open with
    DASHBOARD_LOGIN_REQUIRED too: it only sleeps, and ``http`` work carries no cookie."""
    value = request.GET.get("ms", "")
    low, high = SLOW_MS
    if not is_small_number(value) or not low <= int(value) <= high:
        return JsonResponse(
            {"error": f"ms must be a whole number from {low} to {high}"}, status=400
        )
    await asyncio.sleep(int(value) / 1000)
    return JsonResponse({"slept_ms": int(value)})


@require_GET
def explain(request: HttpRequest) -> HttpResponse:
    """What each consumer waits for, and why: the page the room's reading links to."""
    return render(request, "streams/explain.html")


@login_not_required  # Prometheus has no session: the client allowlist guards it
@csrf_exempt  # nothing but GET is served (405), so a POST is told that, not "no CSRF cookie"
@require_GET
async def prometheus(request: HttpRequest) -> HttpResponse:
    """``/metrics``: this process's figures in Prometheus' text format (streams/metrics.py),
    for a client in ``DASHBOARD_METRICS_CLIENTS``; Django has already refused a Host outside
    ``ALLOWED_HOSTS``. Async, so it is answered in the event loop, never behind the shared
    sync thread, and from then on the gauges' sampler runs for good."""
    if not settings.DASHBOARD_METRICS:
        return _plain(404, "Not found: metrics are off on this server (DASHBOARD_METRICS).")
    if not _may_scrape(request.META.get("REMOTE_ADDR")):
        return _plain(403, "Forbidden: /metrics answers only DASHBOARD_METRICS_CLIENTS.")
    SAMPLER.scrape()
    # The classic text format, which every Prometheus reads.
    body = generate_latest(metrics.REGISTRY)
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _may_scrape(address: str | None) -> bool:
    """The client's address (the peer's: behind a proxy, the proxy's) is in one of the
    networks allowed to scrape; an IPv4 client of a server listening on IPv6 as itself."""
    try:
        client = ipaddress.ip_address(address or "")
    except ValueError:
        return False  # a Unix socket, or a server that gave no address
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped
    return any(client in network for network in settings.DASHBOARD_METRICS_CLIENTS)


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
