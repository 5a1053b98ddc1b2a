import json
import time

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from streams import fragments, live, recording
from streams.choices import ThreadModel
from streams.close_codes import RECONNECT
from streams.frames import COUNT_RANGE, INTERVAL_RANGE, STREAMS_RANGE
from streams.limits import ACK_EVERY
from streams.live import STORE_DOWN
from streams.models import StreamRun
from streams.process import PROCESS
from streams.rooms import DEFAULT_ROOM, InvalidRoom, validate_room

HISTORY_ROWS = 20


@require_GET
def dashboard(request: HttpRequest, room: str = DEFAULT_ROOM) -> HttpResponse:
    try:
        validate_room(room)
    except InvalidRoom as error:
        reason = {"room": room, "reason": str(error)}
        return render(request, "streams/no_room.html", reason, status=404)
    try:
        room_now = {
            **fragments.thread_model_context(room, live.thread_model(room)),
            "columns": fragments.column_contexts(live.streams(room), time.time()),
            "viewers": live.viewers(room, time.time()),
        }
    except STORE_DOWN:
        # Redis is gone: the page still loads, says so, and fills in by itself once the
        # layer is back (its socket is closed with 4503 meanwhile, which it retries).
        room_now = {
            **fragments.thread_model_context(room, ThreadModel.SHARED),
            "columns": fragments.column_contexts([], time.time()),
            "viewers": None,
            "layer_down": True,
        }
    context = {
        **room_now,
        "runs": StreamRun.objects.filter(room=room)[:HISTORY_ROWS],
        "comparison": recording.comparison(room),
        "process": PROCESS,
        "count_range": COUNT_RANGE,
        "interval_range": INTERVAL_RANGE,
        "streams_range": STREAMS_RANGE,
        "ack_every": ACK_EVERY,
        "reconnect_codes": json.dumps(RECONNECT),
    }
    status = 503 if context.get("layer_down") else 200
    return render(request, "streams/dashboard.html", context, status=status)
