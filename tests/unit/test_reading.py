"""The reading: sentences only when the runs show what they say, with their figures."""

from dataclasses import dataclass
from datetime import UTC, datetime

from streams.reading import read


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(1_000_000 + seconds, tz=UTC)


@dataclass
class Run:
    number: int
    mode: str
    thread_model: str = "shared"
    work: str = "sleep"
    cost: int = 0
    waited: float | None = 0.0
    start: float = 0.0
    end: float = 1.0
    work_max: float | None = 0.0
    loop_lag_max: float | None = 0.001

    @property
    def started_at(self) -> datetime:
        return at(self.start)

    @property
    def ended_at(self) -> datetime:
        return at(self.end)


def anchors(runs) -> list[str]:
    return [finding.anchor for finding in read(runs)]


def test_sync_streams_in_a_row_read_as_the_shared_thread():
    runs = [Run(1, "sync", start=0, end=1), Run(2, "sync", waited=1.0, start=1, end=2),
            Run(3, "sync", waited=2.0, start=2, end=3)]  # fmt: skip
    [finding] = read(runs)
    assert finding.anchor == "shared-thread"
    assert finding.text.startswith(
        "3 sync streams under the Channels default waited 0 ms, 1.0 s, 2.0 s"
    )


def test_an_async_stream_held_behind_a_sync_loop_names_the_loops():
    runs = [Run(1, "sync", start=0, end=3), Run(2, "async", waited=2.9, start=2.9, end=4)]
    [finding] = read(runs)
    assert finding.anchor == "aclose" and "up to 2.9 s" in finding.text
    assert "1 sync loop held it" in finding.text


def test_the_async_orm_behind_a_loop_and_on_its_own_thread():
    runs = [
        Run(1, "sync", start=0, end=3),
        Run(2, "async", work="query", work_max=1.96),
        Run(3, "async", thread_model="per_connection", work="query", work_max=0.002),
    ]
    found = read(runs)
    assert [f.anchor for f in found] == ["async-orm", "async-orm"]
    assert "acount() in async stream #2 took up to 2.0 s" in found[0].text
    assert "at most 2 ms" in found[1].text


def test_a_frozen_event_loop_names_the_stream_that_froze_it():
    runs = [Run(7, "async", work="cpu", cost=250, loop_lag_max=0.251), Run(8, "async")]
    [finding] = read(runs)
    assert finding.anchor == "event-loop"
    assert finding.text.startswith("event-loop lag reached 251 ms during stream #7 (cpu in async)")


def test_offload_and_threads_of_their_own_and_http_side_by_side():
    runs = [
        Run(1, "async", work="offload", cost=100, loop_lag_max=0.003),
        Run(2, "sync", thread_model="per_connection", waited=0.01),
        Run(3, "sync", thread_model="per_connection", waited=0.02),
        Run(4, "async", work="http", cost=200, start=0, end=2),
        Run(5, "async", work="http", cost=200, start=1, end=3),
    ]
    assert anchors(runs) == ["offload", "thread-per-connection", "http"]


def test_runs_that_showed_nothing_read_as_nothing():
    assert read([Run(1, "async"), Run(2, "sync", waited=0.01), Run(3, "sync", waited=None)]) == []
