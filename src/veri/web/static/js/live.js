// Live pages: one server-sent event stream per open page (GET /api/v1/live, the logged-in
// person's own), included from base.html for everyone logged in. Every event is
// {"kind": "...", "data": {...}}; what a page does with it is declared in its HTML:
//
//   <span data-unread-count hidden></span>   the unread count ("notification" events); hidden at 0
//   <span data-unread-text></span>           the same count as plain text, shown at 0 too
//
//   <section id="board" data-live="leaderboard">              refetch this page, swap #board
//   <div data-live="task.verified task.rejected"              several kinds, space-separated
//        data-live-filter="task_id=123"                       only events whose data.task_id is 123
//        data-live-src="/tasks/123/status"                    GET this (htmx) and swap the element's
//        data-live-swap="outerHTML">                          innerHTML (default) or outerHTML
//
// Without data-live-src the element needs an id: the page's own URL is fetched again (once for
// every element an event touches) and each element is replaced by the one with its id. An
// element holding the field someone is typing in is left alone. A filter is space-separated
// key=value pairs, all of which must equal the event's data (compared as text).
//
// Built in: "live.hello" (the first event of every stream) sets the unread count; "deal.message"
// appends the message to an element with data-live-append (the deal page's thread) when the event
// carries it, else refetches like any other; "live.reload" (this page was too slow to read its
// updates) reloads the page; "live.resync" (the server's listener reconnected) and every
// reconnection of the stream refetch all data-live elements, since events may have been missed.
//
// Scripts can listen too: document.addEventListener("veri:live", e => e.detail.kind ...).
(function () {
  "use strict";
  if (!window.EventSource || window.veriLive) return;

  var pendingRefetch = new Set();
  var refetchTimer = null;

  function kindsOf(el) {
    return (el.getAttribute("data-live") || "").split(/\s+/).filter(Boolean);
  }

  function matches(el, data) {
    var filter = el.getAttribute("data-live-filter");
    if (!filter) return true;
    return filter.split(/\s+/).filter(Boolean).every(function (pair) {
      var at = pair.indexOf("=");
      if (at < 0) return true;
      var key = pair.slice(0, at);
      return data != null && data[key] != null && String(data[key]) === pair.slice(at + 1);
    });
  }

  function isTypingIn(el) {
    var active = document.activeElement;
    return active && active !== document.body && el.contains(active) && active.matches("input, textarea, select");
  }

  function refetchSoon(el) {
    if (!el.id) return;
    pendingRefetch.add(el.id);
    if (refetchTimer) return;
    // Events that come together are answered by one request.
    refetchTimer = setTimeout(refetchPage, 30);
  }

  function refetchPage() {
    refetchTimer = null;
    var ids = Array.from(pendingRefetch);
    pendingRefetch.clear();
    fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ids.forEach(function (id) {
          // Looked up now: an earlier refetch may have replaced the element since the event.
          var el = document.getElementById(id);
          if (!el || isTypingIn(el)) return;
          var replacement = fresh.getElementById(id);
          if (!replacement) return;
          var node = document.importNode(replacement, true);
          el.replaceWith(node);
          if (window.htmx) window.htmx.process(node);
        });
      })
      .catch(function () {
        /* offline for a moment: the next event or reconnection refetches again */
      });
  }

  function refetchFrom(el, src) {
    var swap = el.getAttribute("data-live-swap") || "innerHTML";
    if (window.htmx) {
      window.htmx.ajax("GET", src, { target: el, swap: swap });
      return;
    }
    fetch(src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        if (swap === "outerHTML") el.outerHTML = html;
        else el.innerHTML = html;
      });
  }

  function refresh(el) {
    var src = el.getAttribute("data-live-src");
    if (src) refetchFrom(el, src);
    else refetchSoon(el);
  }

  function capitalised(word) {
    return word ? word.charAt(0).toUpperCase() + word.slice(1) : "";
  }

  var appenders = {
    // The deal page's thread: the message as the server renders it, built as text (never HTML).
    "deal.message": function (el, data) {
      if (!data || data.truncated || !data.message_id || typeof data.body !== "string") return false;
      var seen = el.querySelectorAll("[data-message-id]");
      for (var i = 0; i < seen.length; i++) {
        if (seen[i].getAttribute("data-message-id") === data.message_id) return true;
      }
      var list = el.querySelector("ol.timeline");
      if (!list) {
        var empty = el.querySelector(".empty");
        if (empty) empty.remove();
        list = document.createElement("ol");
        list.className = "timeline";
        el.appendChild(list);
      }
      var item = document.createElement("li");
      item.className = data.sender || "";
      item.setAttribute("data-message-id", data.message_id);
      var who = document.createElement("strong");
      who.textContent = capitalised(data.sender);
      var when = document.createElement("span");
      when.className = "muted";
      when.textContent = "· " + (data.at || "");
      var text = document.createElement("span");
      text.style.whiteSpace = "pre-line";
      text.textContent = data.body;
      item.append(who, " ", when, document.createElement("br"), text);
      list.appendChild(item);
      return true;
    },
  };

  function showUnread(count) {
    document.querySelectorAll("[data-unread-count]").forEach(function (el) {
      el.textContent = count > 99 ? "99+" : String(count);
      el.hidden = !(count > 0);
    });
    document.querySelectorAll("[data-unread-text]").forEach(function (el) {
      el.textContent = String(count);
    });
  }

  function refreshAll() {
    document.querySelectorAll("[data-live]").forEach(refresh);
  }

  function handle(kind, data) {
    if (kind === "live.reload") {
      location.reload();
      return;
    }
    if (kind === "live.resync") {
      refreshAll();
      return;
    }
    if (kind === "live.hello") {
      // The stream is open: the count as of now (the page may be older than that).
      if (data && typeof data.unread === "number") showUnread(data.unread);
      return;
    }
    if (kind === "notification" && data && typeof data.unread === "number") showUnread(data.unread);
    document.querySelectorAll("[data-live]").forEach(function (el) {
      if (kindsOf(el).indexOf(kind) < 0 || !matches(el, data)) return;
      var append = appenders[kind];
      if (el.hasAttribute("data-live-append") && append && append(el, data)) return;
      refresh(el);
    });
    document.dispatchEvent(new CustomEvent("veri:live", { detail: { kind: kind, data: data } }));
  }

  var opened = 0;
  var source = new EventSource("/api/v1/live");
  window.veriLive = { source: source, handle: handle };
  source.addEventListener("open", function () {
    opened += 1;
    // A reconnection (the stream ends every few minutes, or the network dropped): what was
    // published in between never reached this page.
    if (opened > 1) refreshAll();
    document.documentElement.setAttribute("data-live-connected", "true");
  });
  source.addEventListener("error", function () {
    document.documentElement.removeAttribute("data-live-connected");
  });
  source.addEventListener("message", function (event) {
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (message && typeof message.kind === "string") handle(message.kind, message.data || {});
  });
})();
