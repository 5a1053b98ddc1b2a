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
