"""The dashboard page as the browser tests drive it: a tab and what it reported, the forms,
the cards, the history table. The one place the tests spell the page's markup."""

import re

import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Locator, Page, Response, WebSocket, expect

WAIT_MS = 15_000  # generous: streams are short, but the machine is shared
VIEWPORT = {"width": 1280, "height": 900}
# A phone as Chromium emulates one: its viewport, its meta-viewport handling, touch.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# What the link indicator shows for each value of <body data-link>.
LINK_TEXT = {"live": "live", "lost": "reconnecting…"}
# A failed connection attempt, reported by Chromium and by htmx (htmx:wsError in htmx 2,
# htmx:ws:error in htmx 4, whose message names the Event).
CONNECTION_ERRORS = ("WebSocket connection", "[object Event]")
# Run a test under htmx 2 and under htmx 4 (conftest.py's ``htmx``), on a daphne for each.
each_htmx = pytest.mark.parametrize(
    "htmx", [2, 4], ids=["htmx2", "htmx4"], indirect=True, scope="module"
)


class Tab:
    """One page in a browser context of its own, with what it reported: console errors,
    dialogs (dismissed), every request it made, and every WebSocket it opened (``sockets``)
    with each frame it sent on one (``sent``: url, text); the page notes its socket's closes
    (``closes``)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.response: Response | None = None  # the page as the server rendered it
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.sockets: list[str] = []
        self.sent: list[tuple[str, str]] = []
        page.on("console", self._console)
        page.on("websocket", self._websocket)
        page.add_init_script(RECORD_CLOSES)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("dialog", self._dialog)
        page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _websocket(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)
        socket.on("framesent", lambda frame: self.sent.append((socket.url, str(frame))))

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def errors_besides_connection_failures(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in CONNECTION_ERRORS)]


def expect_link(page: Page, state: str) -> None:
    """The indicator shows ``state``'s words, and only those."""
    expect(page.locator("body")).to_have_attribute("data-link", state)
    for shown, text in LINK_TEXT.items():
        span = page.locator(f"p.link .link-{shown}")
        if shown == state:
            expect(span).to_be_visible()
            expect(span).to_have_text(text)
        else:
            expect(span).to_be_hidden()
    expect(page.locator("p.link .link-wait")).to_be_hidden()


def expect_no_sideways_scroll(page: Page) -> None:
    """The page fits the window's width: nothing scrolls it sideways, and a phone did not
    zoom it out to fit (its window would then be wider than its viewport)."""
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth, window: window.innerWidth})"
    )
    assert widths["window"] == page.viewport_size["width"], widths
    assert widths["page"] <= widths["window"], widths


def start(
    page: Page,
    mode: str,
    count: object,
    interval: object,
    streams: object,
    work: str = "sleep",
    cost: object = 50,
) -> None:
    form = page.locator(f"#start-{mode}")
    form.locator("input[name=count]").fill(str(count))
    form.locator("input[name=interval]").fill(str(interval))
    form.locator("input[name=streams]").fill(str(streams))
    form.locator("select[name=work]").select_option(work)
    form.locator("input[name=cost]").fill(str(cost))
    form.locator("button").click()


def timeline_runs(page: Page, mode: str) -> dict[int, tuple[float, float]]:
    """Stream number -> (start, end) of its running bar on the timeline, in chart units."""
    bars = page.locator(f"#timeline g.bar-{mode}[data-running]").evaluate_all(
        "bars => bars.map(bar => [bar.dataset.stream, bar.dataset.running])"
    )
    runs = {}
    for number, running in bars:
        x, width = (float(v) for v in running.split())
        runs[int(number)] = (x, x + width)
    return runs


def reading(page: Page) -> str:
    """The plain reading below the comparison table."""
    return page.locator("#reading").inner_text()


def say(page: Page, text: str) -> None:
    page.locator("#chat-form input[name=text]").fill(text)
    page.locator("#chat-form button").click()


def cards(page: Page, mode: str, selector: str = "") -> Locator:
    """Each stream card's live body, which carries its state and its tick count."""
    return page.locator(f"#{mode}-streams .card-body{selector}")


def card_numbers(page: Page, mode: str) -> set[int]:
    ids = cards(page, mode).evaluate_all("cards => cards.map(card => card.id)")
    return {int(card_id.removeprefix("stream-").removesuffix("-body")) for card_id in ids}


def seq(page: Page, number: int) -> int:
    return int(page.locator(f"#stream-{number}-body").get_attribute("data-seq"))


def expect_finished(body: Locator, ticks: int) -> None:
    """A card that ran all its ticks: its counter, a full bar, and "done"."""
    expect(body).to_have_attribute("data-seq", str(ticks))
    expect(body.locator(".counter")).to_have_text(f"{ticks} / {ticks}")
    expect(body.locator("progress")).to_have_js_property("position", 1)
    expect(body.locator(".status")).to_have_text("done")


def history(page: Page, rows: int) -> list[dict[str, str]]:
    """The finished runs table, header -> cell, once it has ``rows`` rows: a run's row
    arrives after its card says done (the database write is between)."""
    expect(page.locator("tbody#history-rows tr")).to_have_count(rows)
    headers = page.locator("section.history thead th").all_inner_texts()
    cells = page.locator("tbody#history-rows tr").evaluate_all(
        "rows => rows.map(row => Array.from(row.cells, cell => cell.textContent.trim()))"
    )
    return [dict(zip(headers, row, strict=True)) for row in cells]


def history_waited(page: Page, rows: int) -> dict[int, float]:
    """Stream number -> its 'Waited' seconds."""
    waited = {}
    for row in history(page, rows):
        seconds = re.fullmatch(r"([\d.]+) s", row["Waited"])
        assert seconds, f"no waited time in {row}"
        waited[int(row["Stream"].removeprefix("#"))] = float(seconds.group(1))
    return waited


def seq_at_least(page: Page, number: int, seq: int) -> None:
    page.wait_for_function(
        "([id, seq]) => Number(document.getElementById(id)?.dataset.seq) >= seq",
        arg=[f"stream-{number}-body", seq],
        timeout=WAIT_MS,
    )


def record_counts(page: Page) -> None:
    """From now on, note each card body's count as it lands in the page."""
    page.evaluate(
        """() => {
        window.counts = {};
        new MutationObserver(records => {
            for (const record of records) for (const node of record.addedNodes) {
                if (node.nodeType !== Node.ELEMENT_NODE) continue;
                const bodies = node.matches('.card-body') ? [node]
                    : node.querySelectorAll('.card-body');
                for (const body of bodies)
                    (window.counts[body.id] ??= []).push(Number(body.dataset.seq));
            }
        }).observe(document.body, {childList: true, subtree: true});
    }"""
    )


def counts_seen(page: Page, number: int) -> list[int]:
    """The counts stream ``number``'s card showed, in order, each once."""
    seen = page.evaluate("id => window.counts[id] || []", f"stream-{number}-body")
    return [n for i, n in enumerate(seen) if i == 0 or n != seen[i - 1]]


# Every close of the page's socket, as its code, in window.closes from the page's first
# script on. The two ws extensions have their own close events (htmx 2: htmx:wsClose, the
# code in detail.event; htmx 4: htmx:ws:close, the code in detail, null when htmx itself
# drops the connection); only the page's own htmx fires its own.
RECORD_CLOSES = """
window.closes = [];
for (const name of ['htmx:wsClose', 'htmx:ws:close']) document.addEventListener(name, event => {
    if (event.target.id !== 'viewer') return;
    const code = name === 'htmx:wsClose' ? event.detail.event.code : event.detail.code;
    if (code !== null) window.closes.push(code);
});
"""


def closes(page: Page) -> list[int]:
    """The code of each close of the page's socket so far."""
    return page.evaluate("() => window.closes")


def record_links(page: Page) -> None:
    """From now on, note in ``window.links`` each state the link indicator goes through: a
    reconnect may be quicker than an assertion polling for its "lost"."""
    page.evaluate(
        """() => {
        window.links = [];
        new MutationObserver(() => window.links.push(document.body.dataset.link))
            .observe(document.body, {attributes: true, attributeFilter: ['data-link']});
    }"""
    )


def close_viewer_socket(page: Page, code: int) -> None:
    """Close the page's socket from the page's side with ``code``, as the server would: where
    htmx 2 keeps the socket on the element, htmx 4 in its extension's registry."""
    page.evaluate(
        """code => {
        const viewer = document.getElementById('viewer');
        const socket = htmx.version.startsWith('4.')
            ? htmx.ext.ws.getRegistry().get(viewer.getAttribute('hx-ws:connect')).socket
            : viewer['htmx-internal-data'].webSocket.socket;
        socket.close(code);
    }""",
        code,
    )


def log_in(page: Page, username: str, password: str) -> None:
    """Fill in the login page and send it."""
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Log in").click()
