// The web chat: plays residents, officers and the culture officer against the real bot in the local sandbox.
// Plain JavaScript, no library. Users act through the sandbox control API (/sandbox/send, press, contact);
// what the bot does arrives as Server-Sent Events (/sandbox/events); the side panel comes from /web/panel.
// Everything from the bot or users is put in the page as text nodes or whitelisted elements, never as HTML.
"use strict";

(() => {
  const L = JSON.parse(document.getElementById("labels").textContent);
  const LANG = document.documentElement.lang || "vi";
  const $ = (id) => document.getElementById(id);
  const fmt = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
  const TIME = new Intl.DateTimeFormat(LANG === "en" ? "en-GB" : "vi-VN",
    { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });
  const SAFE_URL = /^(https?:|tg:|mailto:)/i;
  // An avatar's letters: the given name's initial (Vietnamese names end with it); a group's first two words.
  const INITIALS = (name, group) => {
    const words = name.replace(/[()]/g, "").split(/\s+/).filter(Boolean);
    return (group ? words.slice(0, 2) : words.slice(-1)).map((w) => w[0]).join("").toUpperCase();
  };
  const ROLE_LABEL = { resident: L.role_resident, officer: L.role_officer, editor: L.role_editor, group: L.role_group };

  const state = {
    personas: [],          // {key, chat_id, actor_id, name, role}
    current: null,         // the persona shown
    chats: new Map(),      // chat id -> Chat
    users: new Map(),      // user id -> first name
    languages: new Map(),  // user id -> language_code (the command menu follows the user's language)
    commands: [],          // command lists per scope / language (GET /sandbox/state)
    pressed: new Map(),    // callback_query_id -> the button element waiting for the answer
    early: new Map(),      // answers that arrived before the press request returned its id
    groupMembers: 0,
    resync: false,
  };

  class Chat {
    constructor(id) {
      this.id = id;
      this.messages = new Map();  // message id -> newest snapshot
      this.nodes = new Map();     // message id -> element, while this chat is shown
      this.keyboard = null;       // the reply keyboard the user sees
      this.unread = 0;
      this.typingUntil = 0;
    }
  }

  function chat(id) {
    let c = state.chats.get(id);
    if (!c) { c = new Chat(id); state.chats.set(id, c); }
    return c;
  }

  const persona = () => state.personas.find((p) => p.key === state.current) || state.personas[0];

  // --- HTTP -------------------------------------------------------------------------------------------

  async function api(method, path, body) {
    const options = { method, headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const data = await response.json().catch(() => ({ ok: false, error: response.statusText }));
    if (!data.ok) {
      const err = new Error(data.error || data.description || String(response.status));
      err.problems = data.problems || [];
      throw err;
    }
    return data.result;
  }

  // --- rich text: Telegram entities -> elements (offsets are UTF-16 units, like JavaScript strings) ---

  function entityElement(e, text) {
    const inner = text.slice(e.offset, e.offset + e.length);
    const simple = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
                     blockquote: "blockquote", expandable_blockquote: "blockquote" };
    if (simple[e.type]) return document.createElement(simple[e.type]);
    if (e.type === "spoiler") {
      const span = document.createElement("span");
      span.className = "spoiler";
      span.addEventListener("click", () => span.classList.add("shown"));
      return span;
    }
    if (e.type === "text_link" || e.type === "url" || e.type === "email") {
      let href = e.type === "text_link" ? e.url || "" : inner;
      if (e.type === "email") href = "mailto:" + inner;
      else if (e.type === "url" && !/^[a-z]+:/i.test(href)) href = "http://" + href;
      if (!SAFE_URL.test(href)) return document.createElement("span");
      const a = document.createElement("a");
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      return a;
    }
    if (e.type === "bot_command") {
      const a = document.createElement("a");
      a.href = "#";
      a.className = "command";
      a.addEventListener("click", (ev) => { ev.preventDefault(); sendText(inner.split("@")[0]); });
      return a;
    }
    const span = document.createElement("span");
    if (["mention", "hashtag", "cashtag", "phone_number", "text_mention"].includes(e.type)) span.className = "link";
    return span;
  }

  function richText(text, entities) {
    const root = document.createDocumentFragment();
    if (!entities || !entities.length) { root.append(text); return root; }
    const ents = entities.slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
    const points = [...new Set([0, text.length, ...ents.flatMap((e) => [e.offset, e.offset + e.length])])]
      .filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
    let open = [];  // [{e, el}] from the outside in
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i], b = points[i + 1];
      const wanted = ents.filter((e) => e.offset <= a && b <= e.offset + e.length);
      let keep = 0;
      while (keep < open.length && keep < wanted.length && open[keep].e === wanted[keep]) keep++;
      open = open.slice(0, keep);
      for (const e of wanted.slice(keep)) {
        const el = entityElement(e, text);
        (open.length ? open[open.length - 1].el : root).append(el);
        open.push({ e, el });
      }
      (open.length ? open[open.length - 1].el : root).append(text.slice(a, b));
    }
    return root;
  }

  // --- messages -----------------------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function firstLine(m) {
    if (!m) return "";
    if (m.text) return m.text.split("\n")[0];
    return { photo: L.photo, contact: L.contact, sticker: L.sticker, voice: L.voice }[m.media] || "";
  }

  function bubbleBody(m) {
    const body = el("div", "body");
    if (m.media === "photo" && m.photo && m.photo.length) {
      const img = el("img", "photo");
      img.alt = L.photo;
      img.src = "/sandbox/files/" + encodeURIComponent(m.photo[m.photo.length - 1].file_id);
      body.append(img);
    } else if (m.media === "contact" && m.attachment) {
      const card = el("div", "contact-card");
      card.append(el("div", "contact-icon", INITIALS([m.attachment.first_name, m.attachment.last_name].filter(Boolean).join(" ")) || "?"));
      const who = el("div");
      who.append(el("div", "contact-name", [m.attachment.first_name, m.attachment.last_name].filter(Boolean).join(" ")));
      who.append(el("div", "contact-phone", m.attachment.phone_number || ""));
      card.append(who);
      body.append(card);
    } else if (m.media === "sticker" && m.attachment) {
      body.append(el("div", "sticker", m.attachment.emoji || "🖼"));
    } else if (m.media === "voice" && m.attachment) {
      const secs = m.attachment.duration || 0;
      body.append(el("div", "voice", `🎤 ${L.voice} ${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`));
    }
    if (m.text) {
      const text = el("div", "text");
      text.append(richText(m.text, m.entities));
      body.append(text);
    }
    return body;
  }

  function inlineKeyboard(m, c) {
    const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
    if (!rows.length) return null;
    const box = el("div", "inline-keyboard");
    for (const row of rows) {
      const line = el("div", "inline-row");
      for (const button of row) {
        const b = el("button", "inline-button", button.text || "");
        b.type = "button";
        if (button.callback_data !== undefined) {
          b.dataset.callback = button.callback_data;  // for maintainers (hover) and tests
          b.title = button.callback_data;
        } else if (button.url) {
          b.title = button.url;
        }
        b.addEventListener("click", () => pressButton(c, m, button, b));
        line.append(b);
      }
      box.append(line);
    }
    return box;
  }

  function messageNode(c, m) {
    const p = persona();
    const mine = !m.from_bot && m.sender_id === p.actor_id;
    const wrap = el("div", "msg " + (m.from_bot ? "in bot" : mine ? "out" : "in"));
    wrap.dataset.messageId = String(m.message_id);
    wrap.dataset.version = String(m.version);
    const bubble = el("div", "bubble" + (m.media === "sticker" ? " bare" : ""));
    if (c.id < 0 && !mine) {
      bubble.append(el("div", "sender", m.from_bot ? L.bot_name : state.users.get(m.sender_id) || String(m.sender_id)));
    }
    if (m.reply_to_message_id) {
      const replied = c.messages.get(m.reply_to_message_id);
      if (replied) {
        const quote = el("div", "quote");
        quote.append(el("div", "quote-name", replied.from_bot ? L.bot_name : state.users.get(replied.sender_id) || ""));
        quote.append(el("div", "quote-text", firstLine(replied)));
        bubble.append(quote);
      }
    }
    bubble.append(bubbleBody(m));
    const meta = el("div", "meta");
    if (m.edited) meta.append(el("span", "edited", L.edited + " "));
    meta.append(el("span", "time", TIME.format(new Date((m.edit_date || m.date) * 1000))));
    bubble.append(meta);
    wrap.append(bubble);
    const keyboard = inlineKeyboard(m, c);
    if (keyboard) wrap.append(keyboard);
    return wrap;
  }

  function shownChat() {
    const p = persona();
    return p ? chat(p.chat_id) : null;
  }

  function nearBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  function showMessage(c, m, live) {
    const box = $("messages");
    const old = c.nodes.get(m.message_id);
    if (m.deleted) {
      if (old) old.remove();
      c.nodes.delete(m.message_id);
      return;
    }
    const stick = nearBottom(box);
    const node = messageNode(c, m);
    if (old) {
      old.replaceWith(node);
      if (live) node.classList.add("flash");
    } else {
      const later = [...c.nodes.entries()].filter(([id]) => id > m.message_id).sort((a, b) => a[0] - b[0])[0];
      if (later) box.insertBefore(node, later[1]); else box.append(node);
      $("empty-note")?.remove();
    }
    c.nodes.set(m.message_id, node);
    if (stick || (live && !m.from_bot)) box.scrollTop = box.scrollHeight;
  }

  function renderChat() {
    const c = shownChat();
    const p = persona();
    if (!c || !p) return;
    const box = $("messages");
    box.replaceChildren();
    c.nodes.clear();
    c.unread = 0;
    const list = [...c.messages.values()].filter((m) => !m.deleted).sort((a, b) => a.message_id - b.message_id);
    for (const m of list) showMessage(c, m, false);
    if (!list.length) {
      const note = el("p", "empty-note", p.role === "group" ? L.empty_group : L.empty_chat);
      note.id = "empty-note";
      box.append(note);
    }
    box.scrollTop = box.scrollHeight;
    const starting = p.role !== "group" && !list.length;
    $("start-bar").hidden = !starting;
    $("composer").hidden = starting;
    $("attach-menu").hidden = true;
    $("commands-menu").hidden = true;
    $("chat-avatar").hidden = p.role !== "group";
    $("bot-avatar").hidden = p.role === "group";
    $("chat-avatar").textContent = INITIALS(p.name, true);
    if (p.role === "group") {
      $("chat-title").textContent = p.name;
      $("actor").textContent = fmt(L.group_as, { name: state.users.get(p.actor_id) || "" });
    } else {
      $("chat-title").textContent = L.bot_name;
      $("actor").textContent = fmt(L.you_are, { name: p.name }) + " · " + ROLE_LABEL[p.role];
    }
    $("actor").className = "actor role-" + p.role;
    renderSubtitle();
    renderKeyboard();
    renderPersonas();
  }

  function renderSubtitle() {
    const c = shownChat();
    const p = persona();
    if (!c || !p) return;
    const typing = c.typingUntil > Date.now();
    $("chat-sub").textContent = typing ? L.typing : p.role === "group" ? fmt(L.members, { n: state.groupMembers }) : L.bot_sub;
    $("chat-sub").classList.toggle("typing", typing);
  }

  function renderKeyboard() {
    const c = shownChat();
    const box = $("keyboard");
    box.replaceChildren();
    const rows = (c && c.keyboard && c.keyboard.keyboard) || [];
    box.hidden = !rows.length || $("composer").hidden;
    for (const row of rows) {
      const line = el("div", "kb-row");
      for (const button of row) {
        const label = typeof button === "string" ? button : button.text;
        const b = el("button", "kb-button", label);
        b.type = "button";
        if (button.request_contact) b.dataset.request = "contact";
        b.addEventListener("click", () => keyboardButton(button));
        line.append(b);
      }
      box.append(line);
    }
  }

  function renderPersonas() {
    const list = $("personas");
    list.replaceChildren();
    for (const p of state.personas) {
      const c = chat(p.chat_id);
      const li = el("li");
      const b = el("button", "persona" + (p.key === state.current ? " active" : ""));
      b.type = "button";
      b.dataset.persona = p.key;
      b.append(el("span", "avatar role-" + p.role, INITIALS(p.name, p.role === "group")));
      const text = el("span", "persona-text");
      text.append(el("span", "persona-name", p.name));
      text.append(el("span", "persona-role", ROLE_LABEL[p.role]));
      const last = [...c.messages.values()].filter((m) => !m.deleted).sort((a, b2) => b2.message_id - a.message_id)[0];
      text.append(el("span", "persona-last", firstLine(last)));
      b.append(text);
      if (c.unread) b.append(el("span", "badge", String(c.unread)));
      b.addEventListener("click", () => choose(p.key));
      li.append(b);
      list.append(li);
    }
  }

  function choose(key) {
    state.current = key;
    $("toast").hidden = true;  // a button's answer belongs to the screen of who pressed it
    try { sessionStorage.setItem("persona", key); } catch (_) { /* private mode */ }
    renderChat();
    schedulePanel(0);
    $("input").focus();
  }

  // --- acting ---------------------------------------------------------------------------------------------

  function toast(text, alert) {
    if (alert) { modal(text, null); return; }
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
  }

  function modal(text, onOk, okLabel) {
    $("modal-text").textContent = text;
    $("modal-ok").textContent = okLabel || L.ok;
    $("modal-cancel").hidden = !onOk;
    $("modal").hidden = false;
    $("modal-ok").focus();
    const close = () => { $("modal").hidden = true; $("modal-ok").onclick = null; $("modal-cancel").onclick = null; };
    $("modal-ok").onclick = () => { close(); if (onOk) onOk(); };
    $("modal-cancel").onclick = close;
  }

  async function act(path, body) {
    try {
      return await api("POST", path, body);
    } catch (err) {
      toast(fmt(L.send_failed, { error: err.message }));
      return null;
    }
  }

  function target() {
    const p = persona();
    return { user_id: p.actor_id, chat_id: p.chat_id };
  }

  async function sendText(text) {
    const clean = text.replace(/\s+$/, "");
    if (!clean.trim()) return;
    await act("/sandbox/send", { ...target(), text: clean });
  }

  async function pressButton(c, m, button, node) {
    if (button.callback_data !== undefined) {
      node.classList.add("loading");
      const result = await act("/sandbox/press",
        { user_id: persona().actor_id, chat_id: c.id, message_id: m.message_id, data: button.callback_data });
      if (result && state.early.has(result.callback_query_id)) {
        answered(state.early.get(result.callback_query_id), node);
        state.early.delete(result.callback_query_id);
      } else if (result) {
        state.pressed.set(result.callback_query_id, node);
        setTimeout(() => node.classList.remove("loading"), 4000);
      } else {
        node.classList.remove("loading");
      }
    } else if (button.url && SAFE_URL.test(button.url)) {
      window.open(button.url, "_blank", "noopener,noreferrer");
    } else {
      toast(L.not_simulated);
    }
  }

  function shareContact() {
    modal(L.share_question, () => act("/sandbox/contact", target()), L.share);
  }

  function keyboardButton(button) {
    if (typeof button === "string") { sendText(button); return; }
    if (button.request_contact) { shareContact(); return; }
    if (button.request_location || button.request_poll || button.request_users || button.request_chat || button.web_app) {
      toast(L.not_simulated);
      return;
    }
    sendText(button.text);
  }

  function commandsFor(p) {
    // Telegram's order: the narrowest scope first, each with the user's language, then without.
    const scopes = p.role === "group" ? ["all_group_chats", "default"] : ["all_private_chats", "default"];
    const language = (state.languages.get(p.actor_id) || "").slice(0, 2);
    for (const scope of scopes) {
      for (const lang of [language, ""]) {
        const found = state.commands.find((c) => c.scope.type === scope && c.language_code === lang);
        if (found && found.commands.length) return found.commands;
      }
    }
    return [];
  }

  function toggleCommands() {
    const menu = $("commands-menu");
    $("attach-menu").hidden = true;
    if (!menu.hidden) { menu.hidden = true; return; }
    menu.replaceChildren();
    for (const command of commandsFor(persona())) {
      const b = el("button", "command-item");
      b.type = "button";
      b.append(el("span", "command-name", "/" + command.command), el("span", "command-description", command.description));
      b.addEventListener("click", () => { menu.hidden = true; sendText("/" + command.command); });
      menu.append(b);
    }
    menu.hidden = !menu.childElementCount;
  }

  async function attach(kind) {
    $("attach-menu").hidden = true;
    const input = $("input");
    if (kind === "contact") {
      if (persona().role === "group") { toast(L.not_simulated); return; }
      shareContact();
    } else if (kind === "photo") {
      await act("/sandbox/photo", { ...target(), caption: input.value.trim() });
      input.value = "";
      grow();
    } else if (kind === "sticker") {
      await act("/sandbox/sticker", target());
    }
  }

  function grow() {
    const input = $("input");
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }

  // --- live updates ------------------------------------------------------------------------------------

  function applyMessage(type, m, live) {
    const c = chat(m.chat_id);
    const old = c.messages.get(m.message_id);
    if (old && old.version > m.version) return;
    c.messages.set(m.message_id, m);
    if (live && type === "message" && m.from_bot && m.reply_markup) {
      if (m.reply_markup.keyboard) c.keyboard = m.reply_markup;
      else if (m.reply_markup.remove_keyboard) c.keyboard = null;
    }
    if (live && type === "user_message" && c.keyboard && c.keyboard.one_time_keyboard) c.keyboard = null;
    if (live && m.from_bot && type === "message") c.typingUntil = 0;
    const shown = shownChat();
    if (shown && shown.id === c.id) {
      const wasStarting = !$("start-bar").hidden;
      if (wasStarting && !m.deleted) { renderChat(); return; }
      showMessage(c, m, live && !!old);
      renderSubtitle();
      if (type === "message" || type === "user_message") renderKeyboard();
    } else if (live && type === "message" && m.from_bot) {
      c.unread += 1;
    }
    renderPersonas();
  }

  function answered(answer, node) {
    node.classList.remove("loading");
    if (answer.text) toast(answer.text, answer.show_alert);
  }

  function onEvent(event) {
    switch (event.type) {
      case "message":
      case "edit":
      case "delete":
      case "user_message":
        if (event.message) applyMessage(event.type, event.message, true);
        schedulePanel();
        break;
      case "callback_answer": {
        const node = state.pressed.get(event.callback_query_id);
        if (node) {
          state.pressed.delete(event.callback_query_id);
          answered(event, node);
        } else {
          state.early.set(event.callback_query_id, event);
          if (state.early.size > 50) state.early.delete(state.early.keys().next().value);
        }
        schedulePanel();
        break;
      }
      case "chat_action": {
        const c = chat(event.chat_id);
        c.typingUntil = Date.now() + 5000;
        renderSubtitle();
        setTimeout(renderSubtitle, 5100);
        break;
      }
      case "user":
        if (event.user) state.users.set(event.user.id, event.user.first_name);
        break;
      case "commands":
        loadState().catch(() => {});
        break;
      case "reset":
        state.chats.clear();
        renderChat();
        break;
      default:
        break;
    }
  }

  function connect() {
    const source = new EventSource("/sandbox/events");
    source.onopen = () => {
      $("offline").hidden = true;
      if (state.resync) { state.resync = false; loadAll().catch(() => {}); }
    };
    source.onerror = () => { $("offline").hidden = false; state.resync = true; };
    source.onmessage = (message) => {
      try { onEvent(JSON.parse(message.data)); } catch (err) { console.error(err); }
    };
  }

  // --- the side panel ------------------------------------------------------------------------------------

  // At most one refresh every 300 ms however many events arrive (a broadcast sends many), and one more
  // after a refresh that was running when something changed.
  const panelState = { timer: null, running: false, again: false };

  function schedulePanel(delay) {
    if (delay === 0) {
      clearTimeout(panelState.timer);
      panelState.timer = null;
      refreshPanel();
    } else if (!panelState.timer) {
      panelState.timer = setTimeout(() => { panelState.timer = null; refreshPanel(); }, 300);
    }
  }

  async function refreshPanel() {
    if (panelState.running) { panelState.again = true; return; }
    panelState.running = true;
    try {
      await loadPanel();
    } catch (err) {
      console.warn(err);
    } finally {
      panelState.running = false;
      if (panelState.again) { panelState.again = false; schedulePanel(); }
    }
  }

  const STATUS = { answer: L.status_answer, unsure: L.status_unsure, out_of_scope: L.status_out_of_scope, empty: L.status_empty };
  const score = (n) => Number(n).toFixed(2);

  function row(label, value, className) {
    const line = el("div", "kv");
    line.append(el("span", "k", label), el("span", "v" + (className ? " " + className : ""), value));
    return line;
  }

  function renderQuestion(q, thresholds) {
    const box = $("question");
    box.replaceChildren();
    if (!q) { box.append(el("p", "muted", L.no_question)); return; }
    box.append(el("p", "asked", "“" + q.text + "”"));
    box.append(row("", STATUS[q.status] || q.status, "status-" + q.status));
    if (q.topic) box.append(row(L.faq_id, q.topic, "mono"));
    box.append(row(L.score, score(q.score), "mono"));
    if (q.closest && q.closest.length) {
      box.append(el("div", "small-title", L.closest));
      const list = el("ol", "closest");
      for (const c of q.closest) {
        const li = el("li");
        li.append(el("span", "mono", c.id), el("span", "closest-title", c.title));
        list.append(li);
      }
      box.append(list);
    }
    if (thresholds) box.append(el("p", "muted small", fmt(L.thresholds, thresholds)));
  }

  function renderRequests(requests, open) {
    const box = $("requests");
    box.replaceChildren();
    $("open-count").textContent = open ? fmt(L.open_count, { n: open }) : "";
    if (!requests.length) { box.append(el("p", "muted", L.no_requests)); return; }
    const list = el("ul", "requests");
    for (const r of requests) {
      const li = el("li", "request status-" + r.status);
      const head = el("div", "request-head");
      head.append(el("span", "code", r.code), el("span", "tag", r.status_label));
      li.append(head);
      li.append(el("div", "small", [r.topic, r.village, r.phone].filter(Boolean).join(" · ")));
      if (r.officer) li.append(el("div", "small muted", r.officer));
      list.append(li);
    }
    box.append(list);
  }

  function renderCampaigns(campaigns, subscribers) {
    const box = $("campaigns");
    box.replaceChildren();
    $("subscribers").textContent = fmt(L.subscribers, { n: subscribers || 0 });
    if (!campaigns.length) { box.append(el("p", "muted", L.no_campaigns)); return; }
    for (const c of campaigns) {
      const item = el("div", "campaign status-" + c.status);
      const head = el("div", "request-head");
      head.append(el("span", "code", "#" + c.id), el("span", "tag", c.status_label));
      item.append(head);
      item.append(el("div", "small ellipsis", c.text));
      item.append(el("div", "small muted", [c.audience, c.when].filter(Boolean).join(" · ")));
      const total = c.recipients || 0;
      const bar = el("div", "bar");
      for (const part of ["sent", "blocked", "failed"]) {
        const seg = el("span", "seg " + part);
        seg.style.width = total ? (100 * (c[part] || 0) / total) + "%" : "0";
        bar.append(seg);
      }
      item.append(bar);
      const figures = [fmt(L.progress, { sent: c.sent || 0, total })];
      if (c.failed) figures.push(fmt(L.failed, { n: c.failed }));
      if (c.blocked) figures.push(fmt(L.blocked, { n: c.blocked }));
      if (c.pending) figures.push(fmt(L.pending, { n: c.pending }));
      item.append(el("div", "small figures", figures.join(" · ")));
      box.append(item);
    }
  }

  function renderReport(report) {
    const box = $("report");
    box.replaceChildren();
    if (!report) return;
    $("report-month").textContent = report.month;
    for (const [label, value] of report.rows) box.append(row(label, value, "mono"));
  }

  async function loadPanel() {
    const p = persona();
    const actor = p && p.role !== "group" ? p.actor_id : "";
    const panel = await api("GET", `/web/panel?lang=${LANG}&user_id=${actor}`);
    if (panel.resetting) return;
    renderQuestion(panel.question, panel.thresholds);
    renderRequests(panel.requests || [], panel.open_requests || 0);
    renderCampaigns(panel.campaigns || [], panel.subscribers);
    renderReport(panel.report);
  }

  // --- loading and reset --------------------------------------------------------------------------------

  async function loadState() {
    const world = await api("GET", "/sandbox/state");
    state.commands = world.commands || [];
    for (const u of world.users || []) {
      state.users.set(u.id, u.first_name);
      state.languages.set(u.id, u.language_code || "");
      chat(u.id).keyboard = u.reply_keyboard || null;
    }
  }

  async function loadAll() {
    const setup = await api("GET", "/web/setup?lang=" + LANG);
    state.personas = setup.personas;
    state.groupMembers = setup.group_members;
    $("commune").textContent = setup.commune;
    let saved = null;
    try { saved = sessionStorage.getItem("persona"); } catch (_) { /* private mode */ }
    if (!state.current) state.current = state.personas.some((p) => p.key === saved) ? saved : state.personas[0].key;
    await loadState();
    for (const p of state.personas) {
      const messages = await api("GET", `/sandbox/messages?chat_id=${p.chat_id}&include_user=1`);
      for (const m of messages) applyMessage("snapshot", m, false);
    }
    renderChat();
    schedulePanel(0);
  }

  async function reloadContent() {
    $("busy-text").textContent = L.reloading;
    $("busy").hidden = false;
    try {
      await api("POST", "/web/reload", {});
      toast(L.reload_done);
    } catch (err) {
      modal(L.reload_failed + "\n\n" + (err.problems.length ? err.problems : [err.message]).join("\n"), null);
    } finally {
      $("busy").hidden = true;
      schedulePanel(0);
    }
  }

  function reset() {
    modal(L.reset_question, async () => {
      $("busy-text").textContent = L.resetting;
      $("busy").hidden = false;
      try {
        await api("POST", "/web/reset", {});
        state.chats.clear();
        state.pressed.clear();
        await loadAll();
        toast(L.reset_done);
      } catch (err) {
        toast(fmt(L.send_failed, { error: err.message }));
      } finally {
        $("busy").hidden = true;
      }
    }, L.reset);
  }

  // --- wiring -------------------------------------------------------------------------------------------

  function wire() {
    const input = $("input");
    $("composer").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = input.value;
      input.value = "";
      grow();
      $("commands-menu").hidden = true;
      sendText(text);
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        $("composer").requestSubmit();
      }
    });
    input.addEventListener("input", grow);
    $("start").addEventListener("click", () => sendText("/start"));
    $("menu-button").addEventListener("click", toggleCommands);
    $("attach-button").addEventListener("click", () => {
      $("commands-menu").hidden = true;
      $("attach-menu").hidden = !$("attach-menu").hidden;
    });
    for (const b of document.querySelectorAll("[data-attach]")) {
      b.addEventListener("click", () => attach(b.dataset.attach));
    }
    $("reset").addEventListener("click", reset);
    $("reload").addEventListener("click", reloadContent);
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { $("modal").hidden = true; $("attach-menu").hidden = true; $("commands-menu").hidden = true; }
    });
  }

  wire();
  connect();
  loadAll().catch((err) => toast(fmt(L.send_failed, { error: err.message })));
})();
