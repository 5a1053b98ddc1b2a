"""The page's htmx and its WebSocket extension, in the version ``DASHBOARD_HTMX`` names.

htmx 4 renamed the extension's attributes (``ws-connect`` became ``hx-ws:connect``), so the
page and every fragment write them through these tags: a fragment rendered for the group
matches the page it lands in. Both versions come from django-htmx's wheel.
"""

import json

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django_htmx.jinja import htmx_script

register = template.Library()

ATTRIBUTES = {
    2: {"connect": "ws-connect", "send": "ws-send"},
    4: {"connect": "hx-ws:connect", "send": "hx-ws:send"},
}
# htmx 4's ws extension, configured before htmx runs: htmx reads this meta tag as it loads,
# while static/js/dashboard.js may run after htmx has opened the page's socket (htmx 4 does
# not wait for DOMContentLoaded). Retry within ~1 s, as the page makes htmx 2 do: its default
# backoff doubles from 0.5 s to 60 s, and a producer whose handshake Daphne refused (the
# shared sync thread was held for 5 s) would idle long after the thread frees, its "waited"
# measuring htmx, not Channels. Keep a hidden tab's sockets: htmx 4 closes them by default,
# which would end the async streams of a page in the background ("its client left").
HTMX4_CONFIG = {
    "ws": {"reconnectDelay": 250, "reconnectMaxDelay": 1000, "pauseOnBackground": False}
}
# The trigger of a frame a connection sends once it opens (a producer's "run"). htmx 2's
# extension queues a frame sent on load until its socket opens; htmx 4's drops one whose
# socket is not open yet, as after a refused handshake, so it waits for the open event, which
# fires on the connecting element (the frame's form is inside it) at every (re)connection.
OPENED = {2: "load", 4: "htmx:after:ws:connection from:'closest div'"}


@register.simple_tag(takes_context=True)
def htmx_scripts(context: template.Context) -> SafeString:
    """htmx and its ws extension, as django-htmx's ``{% htmx_script %}`` serves them; for
    htmx 4, after its configuration."""
    # The function behind django-htmx's tag, as the tag calls it (django_htmx/templatetags).
    scripts = htmx_script(
        version=settings.DASHBOARD_HTMX, extensions="hx-ws", nonce=context.get("csp_nonce")
    )
    if settings.DASHBOARD_HTMX == 4:
        meta = format_html('<meta name="htmx-config" content="{}">', json.dumps(HTMX4_CONFIG))
        return meta + scripts
    return scripts


@register.simple_tag
def ws(name: str) -> SafeString:
    """The name of the extension's attribute ``name`` (``connect`` or ``send``)."""
    return mark_safe(ATTRIBUTES[settings.DASHBOARD_HTMX][name])


@register.simple_tag
def ws_opened() -> SafeString:
    """The ``hx-trigger`` that sends a frame when its connection opens."""
    return mark_safe(OPENED[settings.DASHBOARD_HTMX])
