"""Reading stream cards out of what a viewer was sent: the one place tests spell their markup."""

import re
from collections.abc import Iterable

CARD = re.compile(r'id="stream-(\d+)-body" class="card-body state-(\w+)" data-seq="(\d+)"')


def card_body(number: int, state: str = "running") -> str:
    """What a frame contains once stream ``number``'s card body is in ``state``."""
    return f'id="stream-{number}-body" class="card-body state-{state}"'


def cards(frames: str | Iterable[str]) -> list[tuple[int, str, int]]:
    """Every card body in a frame, or in a list of frames, in order, as (stream, state,
    ticks so far)."""
    text = frames if isinstance(frames, str) else "".join(frames)
    return [(int(number), state, int(seq)) for number, state, seq in CARD.findall(text)]
