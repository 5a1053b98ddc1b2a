// The dashboard's only script: how fast the htmx ws extension retries a connection.
// Its default backoff is full jitter up to 64 s. A producer whose handshake Daphne refused
// (the shared sync thread was held for 5 s) would then idle up to a minute after the thread
// frees, and its "waited" would measure htmx's backoff, not Channels. Retry within ~1 s.
htmx.config.wsReconnectDelay = function (retryCount) {
  var ceiling = Math.min(1000, 250 * Math.pow(2, retryCount));
  return ceiling / 2 + Math.random() * (ceiling / 2);
};
