// The call page's live transcript: turns arrive over Server-Sent Events as they are spoken.
(function () {
  "use strict";
  var list = document.getElementById("live-transcript");
  if (!list || !window.EventSource) { return; }
  var empty = document.getElementById("live-empty");
  var state = document.getElementById("call-state");
  var source = new EventSource(list.getAttribute("data-stream"));
  var speakers = { agent: "Agent", user: "Caller" };

  source.addEventListener("turn", function (message) {
    var turn = JSON.parse(message.data);
    var item = list.querySelector('li[data-turn="' + turn.turn + '"]');
    if (!item) {
      item = document.createElement("li");
      item.setAttribute("data-turn", String(turn.turn));
      var who = document.createElement("strong");
      item.appendChild(who);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(document.createElement("span"));
      var after = null;
      list.querySelectorAll("li").forEach(function (other) {
        if (!after && Number(other.getAttribute("data-turn")) > turn.turn) { after = other; }
      });
      list.insertBefore(item, after);
    }
    item.querySelector("strong").textContent = speakers[turn.role] || turn.role || "Someone";
    item.querySelector("span").textContent = turn.text + (turn.final ? "" : " …");
    item.className = turn.final ? "final" : "partial";
    if (empty) { empty.hidden = true; }
  });
  source.addEventListener("state", function (message) {
    var data = JSON.parse(message.data);
    if (state) { state.textContent = data.state; state.className = "state state-" + data.state; }
  });
  source.addEventListener("end", function () {
    source.close();
    window.location.reload();  // the summary and the final transcript are rendered there
  });
})();
