// The emulator's web chat. Talks only to the JSON control API under /sim/ (emulator/CONTROL_API.md).
// No framework, no build step: the page is server-rendered and this script fills the chat.
"use strict";

(() => {
  const TEXTS = JSON.parse(document.getElementById("texts").textContent);
  const t = (key, params) => {
    let text = TEXTS[key] ?? key;
    if (params) for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, value);
    return text;
  };
  const $ = (id) => document.getElementById(id);
  const LANG = document.documentElement.lang;
  const STORE_KEY = "miz-web-chat";
  const FALAVARJAN = { latitude: 32.555, longitude: 51.509 };

  // Persian digits for every number the page itself shows (the bot's own texts are shown as sent).
  const FA_DIGITS = "۰۱۲۳۴۵۶۷۸۹";
  const digits = (value) => (LANG === "fa" ? String(value).replace(/[0-9]/g, (d) => FA_DIGITS[d]) : String(value));
  const clock = new Intl.DateTimeFormat(LANG === "fa" ? "fa-IR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
  const number = new Intl.NumberFormat(LANG === "fa" ? "fa-IR" : "en-GB");
  const coordinate = new Intl.NumberFormat(LANG === "fa" ? "fa-IR" : "en-GB", { maximumFractionDigits: 6 });

  const state = {
    bots: [],
    bot: null,
    users: [],
    groups: [], // the chosen clerk's groups with this bot
    role: "citizen",
    me: null, // the user the person plays
    chat: null, // {id, type, title?}
    messages: new Map(),
    version: 0,
    session: null, // the running poll; replaced on every chat switch
    replyTo: null,
    keyboardFor: null, // id of the message whose reply keyboard is shown
    keyboardClosed: false,
    pressed: new Set(), // callback_query ids pressed from this page
    toasted: new Set(),
  };

  // ---- control API ---------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body, signal) {
    const init = { method, headers: { Accept: "application/json" }, signal };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, (data && data.error) || response.statusText);
    return data;
  }

  const enc = encodeURIComponent;
  const botPath = () => `/sim/bots/${enc(state.bot.token)}`;
  const chatPath = () => `${botPath()}/chats/${enc(state.chat.id)}`;
  const fileUrl = (fileId) => `${botPath()}/files/${enc(fileId)}`;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- small helpers -------------------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const svg = (path) => {
    const ns = "http://www.w3.org/2000/svg";
    const icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("width", "22");
    icon.setAttribute("height", "22");
    icon.setAttribute("aria-hidden", "true");
    const p = document.createElementNS(ns, "path");
    p.setAttribute("fill", "currentColor");
    p.setAttribute("d", path);
    icon.append(p);
    return icon;
  };
  const ICON_FILE = "M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm7 1.5V9h5.5L13 3.5Z";
  const ICON_DOWN = "M11 4h2v9.2l3.6-3.6L18 11l-6 6-6-6 1.4-1.4 3.6 3.6V4ZM5 19h14v2H5v-2Z";
  const ICON_PIN = "M12 2a7 7 0 0 1 7 7c0 5.2-7 13-7 13S5 14.2 5 9a7 7 0 0 1 7-7Zm0 4.5a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5Z";
  const ICON_PHONE =
    "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1l-2.2 2.2Z";
  const ICON_BILL = "M5 2h14v20l-3-2-2 2-2-2-2 2-2-2-3 2V2Zm3 5v2h8V7H8Zm0 4v2h8v-2H8Z";

  function fullName(person) {
    if (!person) return "";
    return [person.first_name, person.last_name].filter(Boolean).join(" ") || person.title || "";
  }

  // Iranian mobile numbers as people write them (0913…): no "+" to be misplaced in right-to-left text.
  function phoneText(phone) {
    const local = String(phone).replace(/^\+98/, "0").replace(/^0098/, "0");
    return digits(local);
  }

  function sizeText(bytes) {
    if (!bytes && bytes !== 0) return "";
    if (bytes < 1024) return t("web.size.bytes", { n: number.format(bytes) });
    if (bytes < 1024 * 1024) return t("web.size.kb", { n: number.format(Math.round(bytes / 1024)) });
    return t("web.size.mb", { n: number.format(Math.round((bytes / 1048576) * 10) / 10) });
  }

  let toastTimer = null;
  function toast(message, alert = false) {
    const box = $("toast");
    box.textContent = message;
    box.classList.toggle("alert", alert);
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (box.hidden = true), alert ? 6000 : 3500);
  }

  function failed(error) {
    console.error(error);
    toast(t("web.error.send"));
  }

  function remember() {
    const saved = { role: state.role, user_id: state.me && state.me.id, chat_id: state.chat && state.chat.id };
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(saved));
    } catch {
      /* private mode: nothing to keep */
    }
  }

  function recall() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY) || "null");
    } catch {
      return null;
    }
  }

  // ---- rich text: Bot API entities (UTF-16 offsets, the same unit as JavaScript strings) -----------

  const SAFE_URL = /^(https?:|tg:|mailto:|tel:)/i;

  function wrapEntity(node, entity, text) {
    const whole = text.slice(entity.offset, entity.offset + entity.length);
    switch (entity.type) {
      case "bold":
        return el("strong", {}, node);
      case "italic":
        return el("em", {}, node);
      case "underline":
        return el("u", {}, node);
      case "strikethrough":
        return el("s", {}, node);
      case "code":
        return el("code", {}, node);
      case "pre":
        return el("pre", {}, el("code", {}, node));
      case "blockquote":
      case "expandable_blockquote":
        return el("blockquote", {}, node);
      case "spoiler":
        return el("span", { class: "spoiler", onclick: (e) => e.currentTarget.classList.add("shown") }, node);
      case "text_link":
        return SAFE_URL.test(entity.url || "")
          ? el("a", { href: entity.url, target: "_blank", rel: "noopener noreferrer" }, node)
          : node;
      case "url": {
        const href = /^[a-z]+:/i.test(whole) ? whole : `https://${whole}`;
        return SAFE_URL.test(href) ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, node) : node;
      }
      case "email":
        return el("a", { href: `mailto:${whole}` }, node);
      case "phone_number":
        return el("a", { href: `tel:${whole}` }, node);
      default:
        return node;
    }
  }

  function richText(text, entities) {
    const fragment = document.createDocumentFragment();
    if (!entities || entities.length === 0) {
      fragment.append(text);
      return fragment;
    }
    const cuts = new Set([0, text.length]);
    for (const e of entities) {
      cuts.add(Math.max(0, Math.min(text.length, e.offset)));
      cuts.add(Math.max(0, Math.min(text.length, e.offset + e.length)));
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i < points.length - 1; i++) {
      const start = points[i];
      const end = points[i + 1];
      let node = document.createTextNode(text.slice(start, end));
      // Outer entities first in the list: wrap inner ones first so the outer one ends up outside.
      const active = entities
        .filter((e) => e.offset <= start && e.offset + e.length >= end)
        .sort((a, b) => b.offset - a.offset || a.length - b.length);
      for (const entity of active) node = wrapEntity(node, entity, text);
      fragment.append(node);
    }
    return fragment;
  }

  // ---- rendering messages --------------------------------------------------------------------------

  const isMine = (m) => !m.outgoing && state.me && m.from && m.from.id === state.me.id;
  const isGroup = () => state.chat && state.chat.type !== "private";

  function snippet(m) {
    if (!m) return "…";
    if (m.deleted) return t("web.deleted");
    if (m.text) return m.text;
    if (m.caption) return m.caption;
    if (m.photo) return t("web.photo");
    if (m.sticker) return stickerLabel(m.sticker);
    if (m.document) return m.document.file_name || t("web.document");
    if (m.contact) return t("web.contact");
    if (m.location) return t("web.location");
    if (m.invoice) return m.invoice.title;
    if (m.successful_payment) return t("web.payment.done");
    return "…";
  }

  function senderName(m) {
    if (m.outgoing) return state.bot ? state.bot.first_name || `@${state.bot.username}` : t("web.bot");
    return fullName(m.from);
  }

  // Bale's Sticker has no emoji, so the label is the word alone there.
  const stickerLabel = (sticker) => [sticker.emoji, t("web.sticker")].filter(Boolean).join(" ");

  function renderBody(m, bubble) {
    if (m.forward_from || m.forward_sender_name) {
      bubble.append(
        el("div", { class: "forwarded", text: t("web.forwarded", { name: m.forward_sender_name || fullName(m.forward_from) }) }),
      );
    }
    if (m.photo) {
      const img = el("img", {
        class: "photo",
        src: fileUrl(m.photo.file_id),
        alt: m.caption || t("web.photo"),
        loading: "lazy",
        width: m.photo.width,
        height: m.photo.height,
      });
      img.addEventListener("load", () => keepAtBottom());
      bubble.append(el("a", { href: fileUrl(m.photo.file_id), target: "_blank", rel: "noopener" }, img));
    }
    if (m.sticker) {
      // A sticker is its WebP image, served like photos; the messengers draw it without a bubble.
      bubble.classList.add("sticker-bubble");
      const img = el("img", {
        class: "sticker",
        src: fileUrl(m.sticker.file_id),
        alt: stickerLabel(m.sticker),
        title: stickerLabel(m.sticker),
        loading: "lazy",
        width: m.sticker.width,
        height: m.sticker.height,
      });
      img.addEventListener("load", () => keepAtBottom());
      bubble.append(img);
    }
    if (m.document) {
      const name = m.document.file_name || t("web.document");
      bubble.append(
        el(
          "a",
          { class: "file", href: fileUrl(m.document.file_id), download: name, title: t("web.download") },
          el("span", { class: "file-icon" }, svg(ICON_DOWN)),
          el(
            "span",
            {},
            el("span", { class: "file-name", text: name }),
            el("span", { class: "file-meta", text: [sizeText(m.document.file_size), t("web.download")].filter(Boolean).join(" · ") }),
          ),
        ),
      );
    }
    if (m.contact) {
      bubble.append(
        el(
          "div",
          { class: "attachment-card contact" },
          el("span", { class: "file-icon" }, svg(ICON_PHONE)),
          el(
            "span",
            {},
            el("span", { class: "title", text: fullName(m.contact) || t("web.contact") }),
            el("span", { class: "detail", dir: "ltr", text: phoneText(m.contact.phone_number) }),
          ),
        ),
      );
    }
    if (m.location) {
      bubble.append(
        el(
          "div",
          { class: "attachment-card location" },
          el("span", { class: "file-icon" }, svg(ICON_PIN)),
          el(
            "span",
            {},
            el("span", { class: "title", text: t("web.location") }),
            el("span", {
              class: "detail",
              text: t("web.location.coords", {
                lat: coordinate.format(m.location.latitude),
                lon: coordinate.format(m.location.longitude),
              }),
            }),
          ),
        ),
      );
    }
    if (m.invoice) {
      const amount = number.format(m.invoice.total_amount);
      const currency = m.invoice.currency === "IRR" ? t("web.currency.irr") : m.invoice.currency;
      const card = el(
        "div",
        { class: "attachment-card invoice" },
        el("span", { class: "file-icon" }, svg(ICON_BILL)),
        el(
          "span",
          {},
          el("span", { class: "title", text: m.invoice.title }),
          el("span", { class: "detail", text: m.invoice.description }),
          el("span", { class: "detail", text: `${amount} ${currency}` }),
          m.invoice.paid ? el("span", { class: "detail paid", text: t("web.invoice.paid") }) : null,
          m.invoice.error ? el("span", { class: "detail error", text: m.invoice.error }) : null,
        ),
      );
      bubble.append(card);
      // Telegram and Bale both draw an invoice's pay button themselves when the bot sends no keyboard of its own.
      const ownPay = (m.buttons || []).some((row) => row.some((button) => button.pay));
      if (!m.invoice.paid && !ownPay && !m.deleted) {
        const label = t("web.invoice.pay", { amount: `${amount} ${currency}` });
        bubble.append(el("button", { type: "button", class: "pay-btn", onclick: (e) => pay(m, e.currentTarget) }, label));
      }
    }
    if (m.successful_payment) {
      const paid = m.successful_payment;
      const currency = paid.currency === "IRR" ? t("web.currency.irr") : paid.currency;
      bubble.append(
        el(
          "div",
          { class: "attachment-card payment" },
          el("span", { class: "file-icon" }, svg(ICON_BILL)),
          el(
            "span",
            {},
            el("span", { class: "title", text: t("web.payment.done") }),
            el("span", { class: "detail", text: `${number.format(paid.total_amount)} ${currency}` }),
          ),
        ),
      );
    }
    if (m.poll) {
      bubble.append(
        el(
          "div",
          { class: "poll" },
          el("strong", { text: m.poll.question }),
          el("ul", {}, ...(m.poll.options || []).map((o) => el("li", { text: o.text }))),
        ),
      );
    }
    const text = m.text ?? m.caption;
    if (text) {
      const entities = m.text !== undefined ? m.entities : m.caption_entities || m.entities;
      bubble.append(el("div", { class: "text", dir: "auto" }, richText(text, entities)));
    }
  }

  function renderInlineKeyboard(m) {
    const rows = m.buttons || [];
    if (rows.length === 0 || m.deleted) return null;
    const box = el("div", { class: "inline-kb", role: "group", "aria-label": t("web.keyboard.inline") });
    for (const row of rows) {
      const line = el("div", { class: "kb-row" });
      for (const button of row) {
        if (button.url) {
          line.append(
            el(
              "a",
              { class: "kb-btn", href: button.url, target: "_blank", rel: "noopener noreferrer" },
              button.text,
              el("span", { class: "ext", "aria-hidden": "true", text: "↗" }),
            ),
          );
        } else if (button.pay) {
          line.append(
            el("button", { type: "button", class: "kb-btn", onclick: (e) => pay(m, e.currentTarget) }, button.text),
          );
        } else {
          line.append(
            el("button", { type: "button", class: "kb-btn", onclick: (e) => press(m, button, e.currentTarget) }, button.text),
          );
        }
      }
      box.append(line);
    }
    return box;
  }

  function renderMessage(m) {
    const kind = m.outgoing ? "from-bot" : isMine(m) ? "mine" : "other";
    const item = el("li", {
      class: `msg ${kind}${m.deleted ? " deleted" : ""}`,
      id: `m-${m.message_id}`,
      "data-id": m.message_id,
    });
    const bubble = el("div", { class: "bubble" });
    if (isGroup() && kind !== "mine") bubble.append(el("div", { class: "sender", text: senderName(m) }));
    if (m.deleted) {
      bubble.append(el("div", { class: "text", text: t("web.deleted") }));
      item.append(el("div", { class: "stack" }, bubble));
      return item;
    }
    if (m.reply_to_message_id) {
      const target = state.messages.get(m.reply_to_message_id);
      bubble.append(
        el(
          "button",
          { type: "button", class: "quote", onclick: () => flash(m.reply_to_message_id), title: t("web.reply.show") },
          snippet(target),
        ),
      );
    }
    renderBody(m, bubble);
    const meta = el("div", { class: "meta" });
    // Clerks answer a citizen by replying to the request's card, so groups get a reply button on each message.
    if (isGroup()) {
      meta.append(
        el("button", {
          type: "button",
          class: "reply-btn",
          text: t("web.reply"),
          "aria-label": t("web.reply.this"),
          onclick: () => startReply(m),
        }),
      );
    }
    if (m.edit_date || (m.edits && m.edits.length)) meta.append(el("span", { class: "edited", text: t("web.edited") }));
    const when = new Date(m.date * 1000);
    meta.append(el("time", { datetime: when.toISOString(), text: clock.format(when) }));
    bubble.append(meta);
    // The bubble and its inline keyboard share one width, as in the messengers.
    const stack = el("div", { class: "stack" }, bubble);
    const keyboard = renderInlineKeyboard(m);
    if (keyboard) stack.append(keyboard);
    item.append(stack);
    return item;
  }

  function nearBottom() {
    const box = $("scroller");
    return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  }

  let stickToBottom = true;
  function keepAtBottom() {
    // At once, never smoothly: a smooth scroll's own scroll events, halfway down, read as the reader having
    // scrolled up, and the next message (or the reply keyboard appearing) then left the newest one out of view.
    if (stickToBottom) $("scroller").scrollTo({ top: $("scroller").scrollHeight, behavior: "instant" });
  }

  function flash(messageId) {
    const node = $(`m-${messageId}`);
    if (!node) return;
    node.scrollIntoView({ block: "center" });
    node.classList.remove("flash");
    void node.offsetWidth;
    node.classList.add("flash");
  }

  function upsert(views) {
    if (!views || views.length === 0) return;
    stickToBottom = nearBottom();
    const list = $("messages");
    for (const view of views) {
      state.messages.set(view.message_id, view);
      const fresh = renderMessage(view);
      const old = $(`m-${view.message_id}`);
      if (old) {
        old.replaceWith(fresh);
        continue;
      }
      // Keep the list in message-id order even when answers cross on the wire.
      let after = null;
      for (const node of list.children) {
        if (Number(node.dataset.id) > view.message_id) {
          after = node;
          break;
        }
      }
      list.insertBefore(fresh, after);
    }
    $("empty").hidden = state.messages.size > 0;
    renderReplyKeyboard();
    keepAtBottom();
  }

  // ---- the reply keyboard: the newest bot message that set or removed one decides --------------

  function currentKeyboard() {
    const ids = [...state.messages.keys()].sort((a, b) => b - a);
    for (const id of ids) {
      const m = state.messages.get(id);
      if (!m.outgoing || m.deleted) continue;
      if (m.remove_keyboard) return null;
      if (m.reply_keyboard) return m;
    }
    return null;
  }

  function renderReplyKeyboard() {
    const owner = currentKeyboard();
    const box = $("reply-keyboard");
    const toggle = $("keyboard-toggle");
    if (!owner) {
      box.hidden = true;
      toggle.hidden = true;
      state.keyboardFor = null;
      return;
    }
    if (owner.message_id !== state.keyboardFor) {
      state.keyboardFor = owner.message_id;
      state.keyboardClosed = false;
      box.replaceChildren();
      for (const row of owner.reply_keyboard.keyboard || []) {
        const line = el("div", { class: "kb-row" });
        for (const raw of row) {
          const button = typeof raw === "string" ? { text: raw } : raw;
          line.append(
            el("button", { type: "button", class: "kb-btn", onclick: () => replyButton(owner, button) }, button.text),
          );
        }
        box.append(line);
      }
    }
    toggle.hidden = false;
    box.hidden = state.keyboardClosed;
    toggle.setAttribute("aria-expanded", String(!state.keyboardClosed));
  }

  async function replyButton(owner, button) {
    if (owner.reply_keyboard.one_time_keyboard) state.keyboardClosed = true;
    if (button.request_location) {
      openLocation();
      renderReplyKeyboard();
      return;
    }
    if (button.request_contact) await sendJson({ contact: true });
    else await sendJson({ text: button.text });
    renderReplyKeyboard();
  }

  // ---- acting ----------------------------------------------------------------------------------------

  function replyField() {
    return state.replyTo ? { reply_to_message_id: state.replyTo } : {};
  }

  function startReply(m) {
    state.replyTo = m.message_id;
    $("reply-snippet").textContent = snippet(m);
    $("reply-bar").hidden = false;
    $("text").focus();
  }

  function endReply() {
    state.replyTo = null;
    $("reply-bar").hidden = true;
  }

  async function sendJson(fields) {
    if (!state.chat) return false;
    try {
      const answer = await api("POST", `${chatPath()}/messages`, { user_id: state.me.id, ...replyField(), ...fields });
      endReply();
      stickToBottom = true;
      upsert([answer.message]);
      return true;
    } catch (error) {
      failed(error);
      return false;
    }
  }

  function readBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  // Files go as the JSON variant of `messages` (base64), the same body the test client uses.
  async function sendFile(kind, file) {
    if (!state.chat || !file) return;
    const caption = $("text").value.trim();
    try {
      const part = { base64: await readBase64(file), filename: file.name };
      if (kind === "document" && file.type) part.mime_type = file.type;
      if (await sendJson({ [kind]: part, ...(caption ? { caption } : {}) })) {
        $("text").value = "";
        autoGrow();
      }
    } catch (error) {
      failed(error);
    }
  }

  async function press(m, button, node) {
    node.classList.add("busy");
    try {
      const body = { user_id: state.me.id, message_id: m.message_id };
      if (button.callback_data !== undefined) body.callback_data = button.callback_data;
      else body.text = button.text;
      const answer = await api("POST", `${chatPath()}/press`, body);
      if (answer.callback_query_id) state.pressed.add(answer.callback_query_id);
      if (answer.kind === "url" && answer.url) window.open(answer.url, "_blank", "noopener");
      if (answer.kind === "reply" && answer.message) upsert([answer.message]);
      if (answer.answer) showAnswer(answer.callback_query_id, answer.answer);
    } catch (error) {
      failed(error);
    } finally {
      node.classList.remove("busy");
    }
  }

  async function pay(m, node) {
    node.classList.add("busy");
    try {
      await api("POST", `${chatPath()}/pay`, { user_id: state.me.id, message_id: m.message_id });
    } catch (error) {
      failed(error);
    } finally {
      node.classList.remove("busy");
    }
  }

  function showAnswer(id, answer) {
    if (!answer || !answer.text || state.toasted.has(id)) return;
    state.toasted.add(id);
    toast(answer.text, Boolean(answer.show_alert));
  }

  function openLocation() {
    closeAttach();
    $("location-form").hidden = false;
    $("lat").focus();
  }

  function closeAttach() {
    $("attach-menu").hidden = true;
    $("attach-toggle").setAttribute("aria-expanded", "false");
  }

  function autoGrow() {
    const box = $("text");
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight + 2, 140)}px`;
  }

  // ---- following a chat --------------------------------------------------------------------------

  function setOnline(online) {
    $("status").hidden = online;
    if (!online) $("status").textContent = t("web.error.network");
  }

  function applyChanges(data) {
    if (typeof data.version === "number") state.version = Math.max(state.version, data.version);
    upsert(data.messages);
    $("typing").hidden = !data.typing;
    for (const callback of data.callbacks || []) {
      if (callback.answered && state.pressed.has(callback.callback_query_id)) {
        showAnswer(callback.callback_query_id, callback);
      }
    }
  }

  async function follow(session) {
    while (session === state.session) {
      try {
        const path = `${chatPath()}/changes?since=${state.version}&timeout=25`;
        const data = await api("GET", path, undefined, session.abort.signal);
        if (session !== state.session) return;
        setOnline(true);
        applyChanges(data);
      } catch (error) {
        if (session !== state.session || error.name === "AbortError") return;
        // A private chat nobody wrote in yet is unknown to the emulator: wait quietly for the first message.
        if (!(error instanceof ApiError && error.status === 404)) setOnline(false);
        await sleep(1000);
      }
    }
  }

  async function openChat(chat) {
    if (state.session) state.session.abort.abort();
    const session = { abort: new AbortController() };
    state.session = session;
    state.chat = chat;
    state.messages = new Map();
    state.version = 0;
    state.keyboardFor = null;
    endReply();
    closeAttach();
    $("location-form").hidden = true;
    $("toast").hidden = true;
    $("messages").replaceChildren();
    $("empty").hidden = false;
    $("typing").hidden = true;
    document.body.dataset.view = "chat";
    $("who-toggle").setAttribute("aria-expanded", "false");
    updateHeader();
    remember();
    try {
      const data = await api("GET", `${chatPath()}/transcript?limit=200`, undefined, session.abort.signal);
      if (session !== state.session) return;
      stickToBottom = true;
      applyChanges({ version: data.version, messages: data.messages, typing: data.typing, callbacks: [] });
      if (data.chat) state.chat = { ...state.chat, ...data.chat };
    } catch (error) {
      if (session !== state.session || error.name === "AbortError") return;
      if (!(error instanceof ApiError && error.status === 404)) console.error(error);
    }
    renderReplyKeyboard();
    follow(session);
    $("text").focus({ preventScroll: true });
  }

  function stopChat() {
    if (state.session) state.session.abort.abort();
    state.session = null;
    state.chat = null;
  }

  // ---- who am I --------------------------------------------------------------------------------------

  function updateHeader() {
    const bot = state.bot;
    $("bot-title").textContent = bot ? bot.first_name || t("web.app_name") : t("web.app_name");
    $("bot-username").textContent = bot ? `@${bot.username}` : t("web.bot.none");
    $("bot-dialect").textContent = t(`web.dialect.${document.body.dataset.dialect}`);
    let who = t("web.who.change");
    if (state.me && state.chat) {
      who =
        state.role === "clerk"
          ? t("web.who.clerk_in", { name: fullName(state.me), group: state.chat.title || "" })
          : t("web.who.citizen_is", { name: fullName(state.me) });
    }
    $("who-label").textContent = who;
    document.title = bot ? `${t("web.title")} · @${bot.username}` : t("web.title");
  }

  function userOption(user) {
    const phone = user.phone_number ? ` · ${phoneText(user.phone_number)}` : "";
    return el("option", { value: user.id }, `${fullName(user)}${phone}`);
  }

  // A person belongs to a look (a messenger): a clerk to the one of their operator groups, a citizen to the ones
  // whose bot they talked to (anyone before their first message). The picker offers only this look's people.
  const look = () => document.body.dataset.dialect;
  const groupsHere = (user) => (user.groups || []).filter((g) => (g.dialects || []).includes(look()));
  const isClerkHere = (user) => groupsHere(user).length > 0;
  const isCitizenHere = (user) =>
    (user.groups || []).length === 0 && ((user.private || []).length === 0 || user.private.includes(look()));

  function clerkOption(user) {
    const where = groupsHere(user).map((g) => g.title || digits(g.id)).join(t("web.list.separator"));
    const lookName = t(look() === "bale" ? "web.dialect.bale" : "web.dialect.telegram");
    return el("option", { value: user.id }, t("web.clerk.option", { name: fullName(user), org: where, look: lookName }));
  }

  async function loadUsers() {
    const data = await api("GET", "/sim/users");
    state.users = data.users || [];
    const citizen = $("citizen-user");
    const keep = citizen.value;
    const citizens = state.users.filter(isCitizenHere);
    citizen.replaceChildren(el("option", { value: "new" }, t("web.citizen.new")), ...citizens.map(userOption));
    if ([...citizen.options].some((o) => o.value === keep)) citizen.value = keep;
    const clerk = $("clerk-user");
    const keepClerk = clerk.value;
    const clerks = state.users.filter(isClerkHere);
    clerk.replaceChildren(...clerks.map(clerkOption));
    clerk.disabled = clerks.length === 0;
    if ([...clerk.options].some((o) => o.value === keepClerk)) clerk.value = keepClerk;
    showNewCitizen();
  }

  async function groupsOf(userId) {
    if (!state.bot || !userId) return [];
    const data = await api("GET", `/sim/chats?user_id=${enc(userId)}&bot_token=${enc(state.bot.token)}`);
    return (data.chats || [])
      .filter((c) => c.chat.type !== "private" && c.bot_token === state.bot.token)
      .map((c) => c.chat);
  }

  async function loadGroups() {
    const select = $("clerk-group");
    const groups = await groupsOf(Number($("clerk-user").value));
    select.replaceChildren(...groups.map((g) => el("option", { value: g.id }, g.title || digits(g.id))));
    select.disabled = groups.length === 0;
    const noClerks = $("clerk-user").options.length === 0;
    $("clerk-hint").textContent = t(noClerks ? "web.clerk.none" : "web.clerk.no_groups");
    $("clerk-hint").hidden = groups.length > 0;
    state.groups = groups;
  }

  function setRole(role) {
    state.role = role;
    for (const part of document.querySelectorAll(".role-part")) part.hidden = part.dataset.role !== role;
    for (const radio of document.querySelectorAll('input[name="role"]')) radio.checked = radio.value === role;
    if (role === "clerk") loadGroups().catch(failed);
  }

  function showNewCitizen() {
    $("new-citizen").hidden = $("citizen-user").value !== "new";
  }

  function whoError(key) {
    $("who-error").textContent = key ? t(key) : "";
    $("who-error").hidden = !key;
  }

  async function chooseWho(event) {
    event.preventDefault();
    whoError(null);
    if (!state.bot) return whoError("web.bot.none");
    try {
      if (state.role === "citizen") {
        let user;
        if ($("citizen-user").value === "new") {
          const name = $("citizen-name").value.trim();
          if (!name) {
            $("citizen-name").focus();
            return whoError("web.citizen.name_needed");
          }
          const [first, ...rest] = name.split(/\s+/);
          user = await api("POST", "/sim/users", { first_name: first, last_name: rest.join(" ") || undefined, language_code: document.documentElement.lang || "fa" });
          $("citizen-name").value = "";
          await loadUsers();
          $("citizen-user").value = String(user.id);
          showNewCitizen();
        } else {
          user = state.users.find((u) => String(u.id) === $("citizen-user").value);
        }
        state.me = user;
        await openChat({ id: user.id, type: "private", first_name: user.first_name });
      } else {
        const user = state.users.find((u) => String(u.id) === $("clerk-user").value);
        const groups = state.groups;
        const group = groups.find((g) => String(g.id) === $("clerk-group").value);
        if (!user || !group) return whoError("web.clerk.no_groups");
        state.me = user;
        await openChat(group);
      }
    } catch (error) {
      console.error(error);
      whoError("web.error.send");
    }
  }

  // ---- bots and dialects -----------------------------------------------------------------------------

  function botFor(dialect) {
    return state.bots.find((b) => b.dialect === dialect) || null;
  }

  async function switchDialect(dialect) {
    document.body.dataset.dialect = dialect;
    for (const button of document.querySelectorAll(".dialect-btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.dialect === dialect));
    }
    const url = new URL(location.href);
    url.searchParams.set("dialect", dialect);
    history.replaceState(null, "", url);
    const langLink = document.querySelector(".lang-link");
    if (langLink) {
      const other = new URL(langLink.href);
      other.searchParams.set("dialect", dialect);
      langLink.href = other.toString();
    }
    const wasChat = state.chat;
    stopChat();
    state.bot = botFor(dialect);
    updateHeader();
    if (!state.bot) {
      showWho();
      return whoError("web.bot.none");
    }
    whoError(null);
    if (state.me && wasChat && wasChat.type === "private") {
      await openChat({ id: state.me.id, type: "private", first_name: state.me.first_name });
    } else if (state.me && state.role === "clerk") {
      // The operator group belongs to one bot: take the clerk's first group with this bot, if any.
      const groups = await groupsOf(state.me.id);
      if (groups.length) await openChat(groups[0]);
      else showWho();
    } else {
      showWho();
    }
  }

  function showWho() {
    document.body.dataset.view = "who";
    $("who-toggle").setAttribute("aria-expanded", "true");
    loadUsers()
      .then(() => (state.role === "clerk" ? loadGroups() : null))
      .catch(console.error);
  }

  // ---- the SMS phone panel: shown only when the control API offers /sim/sms --------------------------

  let smsSeen = -1;
  async function pollSms() {
    for (;;) {
      try {
        const data = await api("GET", "/sim/sms");
        const list = data.messages || data.sms || [];
        $("sms").hidden = false;
        if (list.length !== smsSeen) {
          smsSeen = list.length;
          const mine = state.me && state.me.phone_number;
          $("sms-list").replaceChildren(
            ...list
              .slice()
              .reverse()
              .map((sms) => {
                const when = sms.date ? clock.format(new Date(sms.date * 1000)) : "";
                return el(
                  "li",
                  { class: `sms-item${mine && sms.to === mine ? " to-me" : ""}` },
                  el("div", { class: "sms-head" }, el("span", { dir: "ltr", text: phoneText(sms.to || "") }), el("span", { text: when })),
                  el("div", { class: "sms-text", dir: "auto", text: sms.text || "" }),
                );
              }),
          );
          $("sms-empty").hidden = list.length > 0;
        }
      } catch (error) {
        if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
          $("sms").hidden = true;
          return; // the emulator has no SMS phone: keep the panel hidden
        }
      }
      await sleep(3000);
    }
  }

  // ---- wiring ----------------------------------------------------------------------------------------

  function wire() {
    for (const button of document.querySelectorAll(".dialect-btn")) {
      button.addEventListener("click", () => switchDialect(button.dataset.dialect).catch(failed));
    }
    $("who-toggle").addEventListener("click", () => {
      if (document.body.dataset.view === "who" && state.chat) {
        document.body.dataset.view = "chat";
        $("who-toggle").setAttribute("aria-expanded", "false");
      } else showWho();
    });
    $("who-form").addEventListener("submit", chooseWho);
    for (const radio of document.querySelectorAll('input[name="role"]')) {
      radio.addEventListener("change", () => setRole(radio.value));
    }
    $("citizen-user").addEventListener("change", showNewCitizen);
    $("clerk-user").addEventListener("change", () => loadGroups().catch(failed));

    $("composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = $("text").value;
      if (!text.trim()) return;
      $("text").value = "";
      autoGrow();
      if (!(await sendJson({ text }))) $("text").value = text;
      $("text").focus();
    });
    $("text").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });
    $("text").addEventListener("input", autoGrow);

    $("attach-toggle").addEventListener("click", () => {
      const open = $("attach-menu").hidden;
      $("attach-menu").hidden = !open;
      $("attach-toggle").setAttribute("aria-expanded", String(open));
    });
    $("send-photo").addEventListener("click", () => $("photo-input").click());
    $("send-document").addEventListener("click", () => $("document-input").click());
    for (const [id, kind] of [
      ["photo-input", "photo"],
      ["document-input", "document"],
    ]) {
      $(id).addEventListener("change", async (event) => {
        const file = event.target.files[0];
        closeAttach();
        await sendFile(kind, file);
        event.target.value = "";
      });
    }
    $("send-contact").addEventListener("click", () => {
      closeAttach();
      sendJson({ contact: true });
    });
    $("send-location").addEventListener("click", openLocation);
    $("location-cancel").addEventListener("click", () => ($("location-form").hidden = true));
    $("location-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const latitude = Number($("lat").value);
      const longitude = Number($("lon").value);
      if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return;
      if (await sendJson({ location: { latitude, longitude } })) $("location-form").hidden = true;
    });
    $("keyboard-toggle").addEventListener("click", () => {
      stickToBottom = stickToBottom || nearBottom();
      state.keyboardClosed = !state.keyboardClosed;
      renderReplyKeyboard();
      keepAtBottom();
    });
    $("reply-cancel").addEventListener("click", endReply);
    $("scroller").addEventListener("scroll", () => (stickToBottom = nearBottom()), { passive: true });
    // Showing or hiding the reply keyboard (or the reply bar, the attachments) changes the chat's height; a
    // reader who was at the newest message stays there, as in the messengers' own apps.
    if ("ResizeObserver" in window) new ResizeObserver(() => keepAtBottom()).observe($("scroller"));
  }

  async function start() {
    wire();
    $("lat").value = String(FALAVARJAN.latitude);
    $("lon").value = String(FALAVARJAN.longitude);
    try {
      const data = await api("GET", "/sim/bots");
      state.bots = data.bots || [];
    } catch (error) {
      console.error(error);
      setOnline(false);
    }
    for (const button of document.querySelectorAll(".dialect-btn")) {
      button.disabled = !botFor(button.dataset.dialect);
    }
    let dialect = document.body.dataset.dialect;
    if (!botFor(dialect) && state.bots.length) dialect = state.bots[0].dialect;
    document.body.dataset.dialect = dialect;
    state.bot = botFor(dialect);
    updateHeader();
    for (const button of document.querySelectorAll(".dialect-btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.dialect === dialect));
    }
    try {
      await loadUsers();
    } catch (error) {
      console.error(error);
    }
    pollSms();
    // Come back as the same person after a reload, when they still exist in the emulator.
    const saved = recall();
    const user = saved && state.users.find((u) => u.id === saved.user_id);
    if (user && state.bot) {
      state.me = user;
      setRole(saved.role === "clerk" ? "clerk" : "citizen");
      if (saved.role === "clerk") {
        const groups = await groupsOf(user.id).catch(() => []);
        const group = groups.find((g) => g.id === saved.chat_id) || groups[0];
        if (group) return openChat(group);
        state.me = null;
      } else {
        $("citizen-user").value = String(user.id);
        showNewCitizen();
        return openChat({ id: user.id, type: "private", first_name: user.first_name });
      }
    }
    document.body.dataset.ready = "true";
    if (!state.bot) whoError("web.bot.none");
  }

  document.body.dataset.ready = "false";
  start()
    .catch(console.error)
    .finally(() => (document.body.dataset.ready = "true"));
})();
