// Follows a running job's log: the page already shows the log so far
// (rendered by the server, so it reads with JavaScript off); this replaces
// it with the event stream, which replays the log and then follows it.
(function () {
  var log = document.getElementById("log");
  if (!log || !log.dataset.events || !window.EventSource) return;
  var state = document.getElementById("state");
  var es = new EventSource(log.dataset.events);
  function atEnd() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
  }
  es.addEventListener("reset", function () { log.innerHTML = ""; });
  es.onmessage = function (e) {
    var follow = atEnd();
    log.insertAdjacentHTML("beforeend", e.data);
    if (follow) window.scrollTo(0, document.body.scrollHeight);
  };
  es.addEventListener("failure", function (e) {
    es.close();
    if (state) state.textContent = "log unavailable: " + e.data;
  });
  es.addEventListener("end", function (e) {
    es.close();
    if (state) state.textContent = e.data;
    log.dataset.done = e.data;
  });
})();
