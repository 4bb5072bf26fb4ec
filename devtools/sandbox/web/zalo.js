// The Zalo phone of the web chat: a resident on Zalo talks to the same bot through the sandbox's Zalo
// stand-in (/sandbox/zalo/send, /sandbox/zalo/messages). Plain text, no buttons: type the number.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const list = $("zalo-messages"), input = $("zalo-input"), form = $("zalo-composer"), who = $("zalo-user");
  if (!list || !form || !who) return;
  let next = 0, polling = false;

  const user = () => who.value;
  const name = () => who.selectedOptions[0]?.dataset.name || "Zalo";

  function show(m) {
    const div = document.createElement("div");
    div.className = "msg " + (m.from_bot ? "in bot" : "out");
    div.dataset.messageId = m.message_id;
    div.textContent = m.kind === "text" ? m.text : "[" + m.kind + "] " + (m.text || "");
    list.append(div);
    list.scrollTop = list.scrollHeight;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const r = await fetch(`/sandbox/zalo/messages?user=${encodeURIComponent(user())}&after=${next}`);
      const body = await r.json();
      if (body.ok) {
        body.result.messages.forEach(show);
        next = body.result.next;
      }
    } catch (_) { /* the sandbox is restarting */ }
    polling = false;
  }

  async function send(text) {
    await fetch("/sandbox/zalo/send", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: user(), name: name(), text }),
    });
    poll();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  who.addEventListener("change", () => { list.textContent = ""; next = 0; poll(); });
  setInterval(poll, 700);
  poll();
})();
