import asyncio
import json
import time

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from streams import charts, fragments, live, recording
from streams.choices import ThreadModel
from streams.close_codes import CLOSE_LOGIN_REQUIRED, RECONNECT
from streams.frames import COST_RANGE, COUNT_RANGE, INTERVAL_RANGE, STREAMS_RANGE, is_small_number
from streams.limits import ACK_EVERY
from streams.live import STORE_DOWN
from streams.models import StreamRun
from streams.process import PROCESS
from streams.rooms import DEFAULT_ROOM, InvalidRoom, validate_room

HISTORY_ROWS = 20
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
    context = {
        **room_now,
        "runs": StreamRun.objects.filter(room=room)[:HISTORY_ROWS],
        "comparison": recording.comparison(room),
        "reading": recording.reading(room),
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
