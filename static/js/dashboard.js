// The dashboard's only script, for htmx 2 and for htmx 4 (DASHBOARD_HTMX=4). Their ws
// extensions name their events differently and reconnect by different rules: `ws` below
// says how each does a thing, and the rest of the script is written once, for both.
(function () {
  var four = htmx.version.split(".")[0] === "4";
  var isViewer = function (element) { return element.id === "viewer"; };
  var isProducer = function (element) { return element.id.startsWith("producer-"); };

  var ws = four ? {
    opened: "htmx:after:ws:connection",
    closed: "htmx:ws:close",  // also when htmx itself drops a connection (code null)
    read: "htmx:after:ws:message",
    sent: "htmx:after:ws:request",
    code: function (detail) { return detail.code; },
    text: function (detail) { return detail.message.text; },
    sender: function (detail) {
      return function (text) { detail.connection.socket.send(text); };
    },
  } : {
    opened: "htmx:wsOpen",
    closed: "htmx:wsClose",
    read: "htmx:wsAfterMessage",
    sent: "htmx:wsAfterSend",
    code: function (detail) { return detail.event.code; },
    text: function (detail) { return detail.message; },
    sender: function (detail) { return detail.socketWrapper.send; },
  };

  // How fast a connection is retried. htmx 2's default backoff is full jitter up to 64 s.
  // A producer whose handshake Daphne refused (the shared sync thread was held for 5 s)
  // would then idle up to a minute after the thread frees, and its "waited" would measure
  // htmx's backoff, not Channels. Retry within ~1 s. (htmx 4 is told the same, and more, by
  // the htmx-config meta tag: streams/templatetags/htmx_ws.py.)
  if (!four) {
    htmx.config.wsReconnectDelay = function (retryCount) {
      var ceiling = Math.min(1000, 250 * Math.pow(2, retryCount));
      return ceiling / 2 + Math.random() * (ceiling / 2);
    };
  }

  // The link indicator, and the page's socket coming back from the closes it should
  // (data-reconnect: streams/close_codes.py RECONNECT) and from no other 4xxx. htmx 2
  // retries only 1006, 1011, 1012 and 1013, so the page retries the others a second later;
  // htmx 4 retries every close, so the page stops it on the final ones.
  var read = 0;
  var acked = 0;
  var send = null;

  function opened(detail) {
    document.body.dataset.link = "live";
    read = acked = 0;  // the server counts what is unread per socket
    send = ws.sender(detail);
  }

  document.addEventListener(ws.opened, function (event) {
    if (isViewer(event.target)) opened(event.detail);
  });
  document.addEventListener(ws.closed, function (event) {
    var code = ws.code(event.detail);
    var viewer = document.getElementById("viewer");
    var back = viewer !== null && JSON.parse(viewer.dataset.reconnect).includes(code);
    if (isProducer(event.target)) {
      // Its stream ended (1000) or was refused for good (a 4xxx not in data-reconnect): the
      // element goes, and with it any retry. Any other close (a refused handshake, a
      // restarting server, 4503 while Redis or the session store is down) is retried.
      if (code === 1000 || (code >= 4000 && !back)) event.target.remove();
      return;
    }
    if (!isViewer(event.target) || code === null) return;
    if (code === Number(event.target.dataset.loginCode)) {
      // Refused for want of a logged-in session (4401, only with DASHBOARD_LOGIN_REQUIRED):
      // the error panel says why, and the login page brings the person back here. Never
      // retried (a final 4xxx): it would be refused again.
      document.body.dataset.link = "login";
      if (four) event.detail.connection.config.reconnect = false;
      setTimeout(function () { window.location.assign(event.target.dataset.login); }, 2000);
      return;
    }
    document.body.dataset.link = "lost";
    if (four && !back && code >= 4000) event.detail.connection.config.reconnect = false;
    if (!four && back) setTimeout(event.detail.socketWrapper.reconnect, 1000);
  });

  // A sent chat line leaves the box empty for the next.
  document.addEventListener(ws.sent, function (event) {
    if (event.target.id === "chat-form") event.target.reset();
  });

  // Say how much of the room this page has read. The server closes (4008) a viewer socket that
  // leaves too much unread, before its buffers grow without bound (docs/security.md); a page
  // that is reading says so every data-ack-every characters.
  document.addEventListener(ws.read, function (event) {
    if (!isViewer(event.target)) return;  // a producer's socket
    read += ws.text(event.detail).length;
    if (read - acked >= Number(event.target.dataset.ackEvery)) {
      acked = read;
      send(JSON.stringify({ action: "ack", read: read }));
    }
  });

  // htmx 4.0.0-beta6 processes the page a task after its own script ran, where htmx 2 waits
  // for DOMContentLoaded. django-htmx's tag defers the scripts, and the browser may run that
  // task before the ws extension's script (the page then never connects: seen here about
  // one load in ten; bigskysoftware/htmx#3693) or before this one (the viewer's socket may
  // then be open already). So: process again, now that the extension is in, which is
  // harmless (htmx and the extension skip the elements they have set up); and catch up with
  // a socket that opened before this script listened.
  if (four) {
    htmx.process(document.body);
    var viewer = document.getElementById("viewer");
    var connection = viewer && htmx.ext.ws.getRegistry().get(viewer.getAttribute("hx-ws:connect"));
    if (connection && connection.socket && connection.socket.readyState === WebSocket.OPEN) {
      opened({ connection: connection });
    }
  }
})();

