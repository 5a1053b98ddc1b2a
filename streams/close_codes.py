"""Every WebSocket close code the dashboard sends, and what the page does on each.

htmx's ws extension reconnects by itself only on 1006, 1011, 1012 and 1013, and Daphne
(autobahn) lets an application close only with 1000 or 3000-4999. The 4xxx codes are final
unless the page's own script says otherwise (templates/streams/dashboard.html).
"""

CLOSE_DONE = 1000  # a producer's stream ended: its element goes
CLOSE_UNREAD = 4008  # the page left too much unread: it reconnects, to a fresh snapshot
CLOSE_FOREIGN_ORIGIN = 4403  # a page of another origin: told why, not retried
CLOSE_BAD_ROOM = 4404  # no such room, or no such path
CLOSE_REFUSED = 4409  # a producer may not run its stream
CLOSE_FULL = 4429  # the process has its limit of viewers
CLOSE_TRY_AGAIN = 1013  # Redis is down: htmx retries this one
