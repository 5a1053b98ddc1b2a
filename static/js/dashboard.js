// The dashboard's only script. First: how fast the htmx ws extension retries a connection.
// Its default backoff is full jitter up to 64 s. A producer whose handshake Daphne refused
// (the shared sync thread was held for 5 s) would then idle up to a minute after the thread
// frees, and its "waited" would measure htmx's backoff, not Channels. Retry within ~1 s.
htmx.config.wsReconnectDelay = function (retryCount) {
  var ceiling = Math.min(1000, 250 * Math.pow(2, retryCount));
  return ceiling / 2 + Math.random() * (ceiling / 2);
};

// Say how much of the room this page has read. The server closes (4008) a viewer socket that
// leaves too much unread, before its buffers grow without bound (docs/security.md); a page
// that is reading says so every data-ack-every characters. Counts start again per socket.
(function () {
  var read = 0;
  var acked = 0;
  document.addEventListener("htmx:wsOpen", function (event) {
    if (event.target.id === "viewer") read = acked = 0;
  });
  document.addEventListener("htmx:wsAfterMessage", function (event) {
    var viewer = event.target;
    if (viewer.id !== "viewer") return;  // a producer's socket
    read += event.detail.message.length;
    if (read - acked >= Number(viewer.dataset.ackEvery)) {
      acked = read;
      event.detail.socketWrapper.send(JSON.stringify({ action: "ack", read: read }));
    }
  });
})();

// A socket refused for want of a logged-in session (4401, streams/close_codes.py; only with
// DASHBOARD_LOGIN_REQUIRED): the server said why in the error panel, and the page goes to the
// login page, which brings the person back here. Never retried: it would be refused again.
(function () {
  var leaving = false;
  document.addEventListener("htmx:wsClose", function (event) {
    var viewer = document.getElementById("viewer");
    if (leaving || !viewer || event.detail.event.code !== Number(viewer.dataset.loginCode)) return;
    leaving = true;
    // After the viewer's own hx-on::ws-close, which htmx runs after this listener and
    // which would mark the link "lost" (reconnecting): it will not reconnect.
    setTimeout(function () { document.body.dataset.link = "login"; }, 0);
    setTimeout(function () { window.location.assign(viewer.dataset.login); }, 2000);
  });
})();
