import time

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from streams import fragments, live
from streams.commands import COUNT_RANGE, INTERVAL_RANGE, STREAMS_RANGE
from streams.models import StreamRun
from streams.rooms import DEFAULT_ROOM, MAX_ROOM_LENGTH, InvalidRoom, validate_room
from streams.stream import Mode, ThreadModel

HISTORY_ROWS = 20


@require_GET
def dashboard(request: HttpRequest, room: str = DEFAULT_ROOM) -> HttpResponse:
    try:
        validate_room(room)
    except InvalidRoom as error:
        context = {"room": room, "reason": str(error), "max_length": MAX_ROOM_LENGTH}
        return render(request, "streams/no_room.html", context, status=404)
    streams = live.streams(room)
    now = time.time()
    context = {
        "room": room,
        "columns": [
            {
                "mode": mode,
                "cards": [fragments.card_context(s, now) for s in streams if s.mode is mode],
            }
            for mode in Mode
        ],
        "model": live.thread_model(room),
        "models": list(ThreadModel),
        "runs": StreamRun.objects.filter(room=room)[:HISTORY_ROWS],
        "count_range": COUNT_RANGE,
        "interval_range": INTERVAL_RANGE,
        "streams_range": STREAMS_RANGE,
    }
    return render(request, "streams/dashboard.html", context)
