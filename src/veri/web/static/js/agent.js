// The chat page: ask, then read the answer's server-sent events from the POST's own response
// (EventSource cannot POST). Everything the server sends is set as text, never as HTML.
(function () {
  "use strict";
  const form = document.getElementById("ask-form");
  const box = document.getElementById("question");
  const turns = document.getElementById("turns");
  const errorLine = document.getElementById("ask-error");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function problem(response) {
    try {
      const body = await response.json();
      const detail = body.detail && body.detail[0];
      return detail ? detail.field + ": " + detail.reason : body.message || response.statusText;
    } catch (e) {
      return response.statusText;
    }
  }

  async function conversationId() {
    if (turns.dataset.conversation) return turns.dataset.conversation;
    const response = await fetch("/api/v1/agent/conversations", { method: "POST", headers, body: "{}" });
    if (!response.ok) throw new Error(await problem(response));
    const created = await response.json();
    turns.dataset.conversation = created.id;
    history.replaceState(null, "", "/agent?c=" + created.id);
    return created.id;
  }

  function showDone(turn, event) {
    const answer = turn.querySelector(".answer");
    answer.classList.remove("streaming");
    if (event.citations && event.citations.length) {
      const line = el("p", "citations", "Sources: ");
      event.citations.forEach(function (c, i) {
        const link = el("a", "", "[" + (i + 1) + "]");
        link.href = "/memories/" + c.memory_id;
        link.title = c.text;
        line.append(link, " ");
      });
      turn.append(line);
    }
    (event.proposals || []).forEach(function (p) { turn.append(proposalBlock(event.turn_id, p)); });
    const meta = el("p", "muted", "completed · " + event.provider +
      (event.timings.first_token_ms ? " · first words in " + Math.round(event.timings.first_token_ms) + " ms" : ""));
    [["1", "Helpful", "This helped"], ["-1", "Not helpful", "This did not help"]].forEach(function (f) {
      const b = el("button", "link feedback", f[1]);
      b.dataset.turn = event.turn_id; b.dataset.value = f[0]; b.title = f[2];
      b.setAttribute("aria-pressed", "false");
      meta.append(" ", b);
    });
    turn.append(meta);
  }

  // What the agent proposes (a reply, an offer) waits for the person's confirmation; the server
  // does the stored proposal, not anything this page sends.
  function proposalBlock(turnId, p) {
    const box = el("div", "proposal panel");
    box.append(el("p", "", "Proposed: " + p.summary));
    const payload = p.payload || {};
    const words = payload.body || payload.message;
    if (words) box.append(el("blockquote", "", words));
    const b = el("button", "confirm", "Confirm and send");
    b.dataset.turn = turnId; b.dataset.step = p.step;
    box.append(b);
    return box;
  }

  async function ask(question) {
    const id = await conversationId();
    const turn = el("article", "panel turn");
    const q = el("p", "question");
    q.append(el("strong", "", "You: "), document.createTextNode(question));
    const steps = el("p", "muted steps", "");
    const answer = el("div", "answer streaming", "");
    turn.append(q, steps, answer);
    turns.append(turn);
    const response = await fetch("/api/v1/agent/conversations/" + id + "/messages", {
      method: "POST", headers, body: JSON.stringify({ question: question }),
    });
    if (!response.ok) { turn.remove(); throw new Error(await problem(response)); }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split("\n").filter(function (l) { return l.startsWith("data: "); }).map(function (l) { return l.slice(6); }).join("\n");
        if (!data) continue;
        const event = JSON.parse(data);
        if (event.event === "token") answer.textContent += event.text;
        else if (event.event === "step") steps.textContent = (steps.textContent ? steps.textContent + ", " : "Looked at: ") + event.name.replace(/_/g, " ") + " (" + event.found + ", " + Math.round(event.ms) + " ms)";
        else if (event.event === "fallback") turn.append(el("p", "muted", "Answered offline: " + event.reason));
        else if (event.event === "done") showDone(turn, event);
        else if (event.event === "error") { answer.classList.remove("streaming"); answer.textContent = event.message; }
      }
    }
  }

  form.addEventListener("submit", async function (e) {
    e.preventDefault();
    const question = box.value.trim();
    if (!question) return;
    errorLine.hidden = true;
    form.querySelector("button").disabled = true;
    try {
      await ask(question);
      box.value = "";
    } catch (err) {
      errorLine.textContent = err.message;
      errorLine.hidden = false;
    } finally {
      form.querySelector("button").disabled = false;
    }
  });

  turns.addEventListener("click", async function (e) {
    const c = e.target.closest("button.confirm");
    if (c) {
      c.disabled = true;
      const response = await fetch("/api/v1/agent/turns/" + c.dataset.turn + "/proposals/" + c.dataset.step + "/confirm", {
        method: "POST", headers, body: "{}",
      });
      if (response.ok) {
        const done = await response.json();
        const link = el("a", "", "Done: open the deal");
        link.href = done.href;
        c.replaceWith(link);
      } else {
        c.disabled = false;
        c.after(el("p", "error", await problem(response)));
      }
      return;
    }
    const b = e.target.closest("button.feedback");
    if (!b) return;
    const response = await fetch("/api/v1/agent/turns/" + b.dataset.turn + "/feedback", {
      method: "POST", headers, body: JSON.stringify({ value: Number(b.dataset.value) }),
    });
    if (response.ok) {
      b.parentElement.querySelectorAll("button.feedback").forEach(function (x) { x.setAttribute("aria-pressed", String(x === b)); });
    }
  });
})();
