// The playground chat page: one person's private chat with the bot, or the demo group, drawn like Telegram.
"use strict";

const state = {
  people: [],
  groups: [],
  bot: null,
  me: null,
  chatId: null, // the chat on screen: the person's private chat (their user id) or a group (negative id)
  version: 0,
  pollToken: 0,
  keyboardKey: "",
  commands: [],
  replyTo: null, // the message being answered in a group ({message_id, sender, text})
  seen: {}, // chat id -> activity version already seen (drives the unread mark on the tabs)
};

const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    throw new Error((body && body.error) || "Máy chủ thử nghiệm không trả lời.");
  }
  return body;
}

function post(path, data) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(Object.assign({ user_id: state.me.user_id, chat_id: state.chatId }, data)),
  });
}

function currentGroup() {
  return state.groups.find((g) => g.chat_id === state.chatId) || null;
}

function inGroup() {
  return currentGroup() !== null;
}

const NAME_COLOURS = ["#c03d33", "#4fad2d", "#d09306", "#168acd", "#8544d6", "#cd4073", "#2996ad", "#ce671b"];

function nameColour(id) {
  return NAME_COLOURS[Math.abs(Number(id)) % NAME_COLOURS.length];
}

function initials(name) {
  const parts = name.trim().split(/\s+/);
  return (parts[parts.length - 1] || "?").charAt(0).toUpperCase();
}

function formatSize(bytes) {
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
  return (bytes / 1024 / 1024).toFixed(1) + " MB";
}

function formatTime(seconds) {
  const d = new Date(seconds * 1000);
  return d.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit" });
}

function toast(text, alert) {
  const box = $("toast");
  box.textContent = text;
  box.className = alert ? "alert" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, alert ? 6000 : 3000);
}

// --- people ------------------------------------------------------------------------------------
function renderPeople() {
  const list = $("people");
  list.textContent = "";
  for (const person of state.people) {
    const item = document.createElement("li");
    item.dataset.userId = person.user_id;
    item.dataset.testid = "persona-" + person.role;
    item.innerHTML = '<div class="avatar"></div><div><div class="name"></div><div class="role"></div></div>';
    item.querySelector(".avatar").textContent = initials(person.full_name);
    item.querySelector(".name").textContent = person.full_name;
    item.querySelector(".role").textContent = person.role_label + " · " + person.phone;
    item.classList.toggle("active", state.me !== null && state.me.user_id === person.user_id);
    item.addEventListener("click", () => { location.hash = chatHash(person.user_id, inGroup() ? state.chatId : null); });
    list.appendChild(item);
  }
}

function chatHash(userId, chatId) {
  return "u=" + userId + (chatId !== null && chatId !== userId ? "&c=" + chatId : "");
}

function renderTabs() {
  const box = $("chat-tabs");
  box.textContent = "";
  if (!state.me) { box.hidden = true; return; }
  const tabs = [{ chat_id: state.me.user_id, label: "💬 Tin nhắn riêng với bot", testid: "tab-private" }];
  for (const group of state.groups) {
    if (group.member_ids.includes(state.me.user_id)) {
      tabs.push({ chat_id: group.chat_id, label: "👥 " + group.title, testid: "tab-group" });
    }
  }
  for (const tab of tabs) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.chatId = tab.chat_id;
    b.dataset.testid = tab.testid;
    b.innerHTML = '<span class="label"></span><span class="unread" hidden>●</span>';
    b.querySelector(".label").textContent = tab.label;
    b.classList.toggle("active", tab.chat_id === state.chatId);
    b.addEventListener("click", () => { location.hash = chatHash(state.me.user_id, tab.chat_id); });
    box.appendChild(b);
  }
  box.hidden = tabs.length < 2;
}

function renderUnread(activity) {
  for (const [chatId, version] of Object.entries(activity || {})) {
    if (Number(chatId) === state.chatId || state.seen[chatId] === undefined) state.seen[chatId] = version;
    const mark = document.querySelector('#chat-tabs [data-chat-id="' + chatId + '"] .unread');
    if (mark) mark.hidden = !(version > state.seen[chatId]);
  }
}

function renderChatHead() {
  const group = currentGroup();
  if (group) {
    $("bot-name").textContent = group.title;
    $("bot-avatar").textContent = "👥";
    $("bot-avatar").classList.add("group");
  } else {
    $("bot-name").textContent = state.bot.name + " (@" + state.bot.username + ")";
    $("bot-avatar").textContent = initials(state.bot.name);
    $("bot-avatar").classList.remove("group");
  }
  $("group-hint").hidden = !group;
}

function chooseFromHash() {
  const match = /u=(\d+)/.exec(location.hash);
  const person = match ? state.people.find((p) => String(p.user_id) === match[1]) : null;
  if (!person) return;
  const chatMatch = /c=(-?\d+)/.exec(location.hash);
  const group = chatMatch
    ? state.groups.find((g) => String(g.chat_id) === chatMatch[1] && g.member_ids.includes(person.user_id))
    : null;
  if (!state.me || state.me.user_id !== person.user_id) state.seen = {};
  state.me = person;
  state.chatId = group ? group.chat_id : person.user_id;
  state.version = 0;
  state.keyboardKey = "";
  setReplyTo(null);
  $("messages").textContent = "";
  $("me").textContent = person.full_name + " — " + person.role_label;
  $("text").disabled = false;
  $("send-button").disabled = false;
  document.title = (group ? group.title + " · " : "") + person.full_name + " · Trợ lý Công tác Cán bộ";
  renderPeople();
  renderTabs();
  renderChatHead();
  poll();
}

function setReplyTo(target) {
  state.replyTo = target;
  const bar = $("reply-bar");
  bar.hidden = !target;
  if (target) {
    bar.querySelector(".who").textContent = "Trả lời " + target.sender;
    bar.querySelector(".what").textContent = target.text;
    $("text").focus();
  }
}

// --- messages ----------------------------------------------------------------------------------
function renderMessage(m) {
  const container = $("messages");
  let row = container.querySelector('[data-message-id="' + m.message_id + '"]');
  if (m.deleted) {
    if (row) row.remove();
    return;
  }
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 80;
  if (!row) {
    row = document.createElement("div");
    row.dataset.messageId = m.message_id;
    container.appendChild(row);
  }
  const mine = !m.from_bot && m.from_id === state.me.user_id;
  row.className = "msg " + (m.from_bot ? "bot" : mine ? "user" : "other");
  row.dataset.fromId = m.from_id;
  row.textContent = "";
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  if (inGroup() && !mine) {
    const sender = document.createElement("div");
    sender.className = "sender";
    sender.style.color = m.from_bot ? "#3390ec" : nameColour(m.from_id);
    sender.textContent = m.sender + (m.from_bot ? " (bot)" : "");
    bubble.appendChild(sender);
  }
  if (m.reply_to) {
    const quote = document.createElement("div");
    quote.className = "quote";
    quote.innerHTML = '<b class="who"></b><span class="what"></span>';
    quote.querySelector(".who").textContent = m.reply_to.sender;
    quote.querySelector(".what").textContent = m.reply_to.text;
    quote.addEventListener("click", () => {
      const original = container.querySelector('[data-message-id="' + m.reply_to.message_id + '"]');
      if (original) original.scrollIntoView({ block: "center" });
    });
    bubble.appendChild(quote);
  }
  if (m.photo) {
    const img = document.createElement("img");
    img.src = "/playground/api/file/" + encodeURIComponent(m.photo.file_id);
    img.alt = "Ảnh";
    img.width = m.photo.width;
    img.addEventListener("load", () => { if (atBottom) container.scrollTop = container.scrollHeight; });
    bubble.appendChild(img);
  }
  if (m.document) {
    const link = document.createElement("a");
    link.className = "file";
    link.href = "/playground/api/file/" + encodeURIComponent(m.document.file_id) + "?download=1";
    link.download = m.document.file_name;
    link.innerHTML = '<span class="icon">⬇</span><span><span class="fname"></span><br><span class="size"></span></span>';
    link.querySelector(".fname").textContent = m.document.file_name;
    link.querySelector(".size").textContent = formatSize(m.document.size);
    bubble.appendChild(link);
  }
  if (m.contact) {
    const card = document.createElement("div");
    card.className = "contact";
    card.innerHTML = '<div class="avatar"></div><div><b class="cname"></b><br><span class="phone"></span></div>';
    card.querySelector(".avatar").textContent = initials(m.contact.name || "?");
    card.querySelector(".cname").textContent = m.contact.name;
    card.querySelector(".phone").textContent = m.contact.phone_number;
    bubble.appendChild(card);
  }
  if (m.html) {
    const text = document.createElement("div");
    text.className = "text";
    text.innerHTML = m.html; // already escaped and limited to Telegram's tags by the server
    bubble.appendChild(text);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = (m.edited ? "đã sửa · " : "") + formatTime(m.date);
  if (inGroup()) {
    const reply = document.createElement("button");
    reply.type = "button";
    reply.className = "reply-button";
    reply.title = "Trả lời tin nhắn này";
    reply.textContent = "↩ Trả lời";
    reply.addEventListener("click", () => setReplyTo({
      message_id: m.message_id,
      sender: m.sender,
      text: (bubble.querySelector(".text") || { innerText: "" }).innerText.slice(0, 90) || "…",
    }));
    meta.prepend(reply);
  }
  bubble.appendChild(meta);
  row.appendChild(bubble);
  for (const buttons of m.inline_keyboard) {
    const line = document.createElement("div");
    line.className = "inline-row";
    for (const button of buttons) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = button.text + (button.url ? " ↗" : "");
      b.addEventListener("click", () => pressInline(m.message_id, button));
      line.appendChild(b);
    }
    row.appendChild(line);
  }
  for (const spoiler of row.querySelectorAll(".tg-spoiler")) {
    spoiler.addEventListener("click", () => spoiler.classList.add("shown"));
  }
  if (atBottom || mine) container.scrollTop = container.scrollHeight;
}

function renderKeyboard(markup) {
  const key = JSON.stringify(markup || null);
  if (key === state.keyboardKey) return;
  state.keyboardKey = key;
  const box = $("keyboard");
  box.textContent = "";
  $("text").placeholder = (markup && markup.input_field_placeholder) || "Nhập tin nhắn…";
  if (!markup || !markup.keyboard) { box.hidden = true; return; }
  for (const buttons of markup.keyboard) {
    const line = document.createElement("div");
    line.className = "row";
    for (const raw of buttons) {
      const button = typeof raw === "string" ? { text: raw } : raw;
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = (button.request_contact ? "📱 " : "") + button.text;
      b.addEventListener("click", () => pressReply(button));
      line.appendChild(b);
    }
    box.appendChild(line);
  }
  box.hidden = false;
}

function renderCommands(commands) {
  state.commands = commands || [];
  const box = $("commands");
  box.textContent = "";
  for (const c of state.commands) {
    const b = document.createElement("button");
    b.type = "button";
    b.innerHTML = '<span class="cmd"></span><span class="desc"></span>';
    b.querySelector(".cmd").textContent = "/" + c.command;
    b.querySelector(".desc").textContent = c.description;
    b.addEventListener("click", () => { box.hidden = true; sendText("/" + c.command); });
    box.appendChild(b);
  }
  if (!state.commands.length) {
    box.innerHTML = '<div class="empty-menu" style="padding:8px 16px;color:#707579">Bot chưa khai báo lệnh nào.</div>';
  }
}

const ACTIONS = {
  typing: "đang soạn tin…",
  upload_document: "đang gửi tệp…",
  upload_photo: "đang gửi ảnh…",
};

function renderStatus(online, action) {
  const status = $("bot-status");
  const group = currentGroup();
  const prefix = group ? group.member_ids.length + " thành viên và bot · " : "";
  const who = group && state.bot ? state.bot.name + " " : "";
  clearTimeout(renderStatus.timer);
  if (online && action) {
    status.textContent = prefix + who + (ACTIONS[action] || "đang xử lý…");
    status.classList.add("online");
    renderStatus.timer = setTimeout(() => renderStatus(true, null), 5000);
    return;
  }
  status.textContent = prefix + (group ? "bot " : "") +
    (online ? "đang hoạt động" : "ngoại tuyến — bot chưa chạy hoặc đã dừng");
  status.classList.toggle("online", online);
}

async function poll() {
  const token = ++state.pollToken;
  while (token === state.pollToken && state.me) {
    try {
      const data = await api(
        "/playground/api/chat?user_id=" + state.me.user_id + "&chat_id=" + state.chatId +
        "&since=" + state.version + "&wait=25"
      );
      if (token !== state.pollToken) return;
      if (data.reset) $("messages").textContent = "";
      renderUnread(data.activity);
      for (const m of data.messages) renderMessage(m);
      for (const a of data.answers) if (a.text) toast(a.text, a.show_alert);
      renderKeyboard(data.keyboard);
      renderCommands(data.commands);
      renderStatus(data.bot_online, data.chat_action);
      if (!$("messages").children.length) {
        $("messages").innerHTML = inGroup()
          ? '<div class="empty">Chưa có tin nhắn nào trong nhóm.</div>'
          : '<div class="empty">Gửi /start để bắt đầu trò chuyện.</div>';
      } else {
        const hint = $("messages").querySelector(".empty");
        if (hint && $("messages").children.length > 1) hint.remove();
      }
      state.version = data.version;
    } catch (error) {
      renderStatus(false);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

// --- actions -----------------------------------------------------------------------------------
async function sendText(text) {
  if (!state.me || !text.trim()) return;
  const data = { text: text };
  if (state.replyTo) data.reply_to_message_id = state.replyTo.message_id;
  setReplyTo(null);
  try { await post("/playground/api/send", data); } catch (error) { toast(error.message, true); }
}

async function pressInline(messageId, button) {
  if (button.url) { window.open(button.url, "_blank", "noopener"); return; }
  try { await post("/playground/api/press", { message_id: messageId, data: button.callback_data }); }
  catch (error) { toast(error.message, false); }
}

async function pressReply(button) {
  if (button.request_contact) {
    try { await post("/playground/api/contact", {}); } catch (error) { toast(error.message, true); }
    return;
  }
  await sendText(button.text);
}

async function upload(file) {
  const form = new FormData();
  form.append("user_id", state.me.user_id);
  form.append("chat_id", state.chatId);
  form.append("file", file, file.name);
  try { await api("/playground/api/upload", { method: "POST", body: form }); }
  catch (error) { toast(error.message, true); }
}

async function start() {
  const data = await api("/playground/api/people");
  state.people = data.people;
  state.groups = data.groups || [];
  state.bot = data.bot;
  $("bot-name").textContent = data.bot.name + " (@" + data.bot.username + ")";
  $("bot-avatar").textContent = initials(data.bot.name);
  for (const mention of document.querySelectorAll(".bot-mention")) {
    mention.textContent = "@" + data.bot.username;
    mention.addEventListener("click", () => {
      const input = $("text");
      if (!input.value.includes(mention.textContent)) input.value = mention.textContent + " " + input.value;
      input.focus();
    });
  }
  renderPeople();
  $("reply-cancel").addEventListener("click", () => setReplyTo(null));
  // The bot's "write to me privately" link (t.me/<bot>) opens this person's private chat on the page.
  $("messages").addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || !state.me) return;
    const match = /^https:\/\/t\.me\/([A-Za-z0-9_]+)/.exec(link.getAttribute("href"));
    if (match && match[1].toLowerCase() === state.bot.username.toLowerCase()) {
      event.preventDefault();
      location.hash = chatHash(state.me.user_id, null);
    }
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("text");
    const text = input.value;
    input.value = "";
    sendText(text);
  });
  $("menu-button").addEventListener("click", () => { $("commands").hidden = !$("commands").hidden; });
  $("attach-button").addEventListener("click", () => { if (state.me) $("file-input").click(); });
  $("file-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) upload(file);
  });
  window.addEventListener("hashchange", chooseFromHash);
  chooseFromHash();
}

start().catch((error) => toast(error.message, true));
