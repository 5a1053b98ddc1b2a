"""Every WebSocket close code the dashboard sends, and what the page does on each.

Daphne (autobahn) lets an application close only with 1000 or 3000-4999: a 1011 or 1013 is
refused with a traceback and the client sees 1011. htmx's ws extension reconnects by itself
only on 1006, 1011, 1012 and 1013, so a close the page should come back from is a 4xxx code
that the page's own script retries (``RECONNECT``, templates/streams/dashboard.html); the
others are final.
"""

CLOSE_DONE = 1000  # a stream ended; and Daphne's --websocket_timeout ends a viewer with it
CLOSE_UNREAD = 4008  # the page left too much unread: it reconnects, to a fresh snapshot
CLOSE_LOGIN_REQUIRED = 4401  # no logged-in session (DASHBOARD_LOGIN_REQUIRED): go and log in
CLOSE_FOREIGN_ORIGIN = 4403  # a page of another origin: told why, not retried
CLOSE_BAD_ROOM = 4404  # no such room, or no such path
CLOSE_REFUSED = 4409  # a producer may not run its stream
CLOSE_FULL = 4429  # the process has its limit of viewers
CLOSE_TRY_AGAIN = 4503  # Redis is down: told so, and the page tries again a second later

# The closes after which a viewer's page reconnects by itself, a second later.
RECONNECT = (CLOSE_DONE, CLOSE_UNREAD, CLOSE_TRY_AGAIN)
