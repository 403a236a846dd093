// The board page: the generated client (compiled to ES modules in client/)
// over the browser's own WebSocket. No framework, no build step here.
import { Ws, WsRoomsGroupId, RestChannelsError } from "/client/reference.js";

const $ = (sel) => document.querySelector(sel);
const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host;

let api = null;
let room = null;
let page = 1;
let search = "";
let generation = 0; // bumped on every sign-in; stale loops stop

function showErrors(err, fallbackField = "detail") {
  clearErrors();
  if (err instanceof RestChannelsError) {
    const fields = err.fields;
    for (const [field, messages] of Object.entries(fields)) {
      const slot = document.querySelector(`.error[data-field="${field}"]`) ??
        document.querySelector(`.error[data-field="${fallbackField}"]`);
      slot.textContent = messages.join(" ");
      document.querySelector(`[name="${field}"]`)?.classList.add("invalid");
    }
    if (Object.keys(fields).length === 0) {
      document.querySelector(`.error[data-field="${fallbackField}"]`).textContent =
        `${err.status}: ${err.detail ?? "error"}`;
    }
  } else {
    document.querySelector(`.error[data-field="${fallbackField}"]`).textContent = String(err.message ?? err);
  }
}

function clearErrors() {
  for (const e of document.querySelectorAll(".error")) e.textContent = "";
  for (const e of document.querySelectorAll(".invalid")) e.classList.remove("invalid");
}

function noteItem(note) {
  const li = document.createElement("li");
  li.dataset.id = String(note.id);
  const title = Object.assign(document.createElement("span"), { className: "title", textContent: note.title });
  const content = Object.assign(document.createElement("span"), { className: "content", textContent: note.content });
  const author = Object.assign(document.createElement("span"), { className: "author", textContent: `#${note.id} by ${note.author}` });
  const edit = Object.assign(document.createElement("button"), { type: "button", className: "edit", textContent: "edit" });
  const del = Object.assign(document.createElement("button"), { type: "button", className: "delete", textContent: "delete" });
  edit.onclick = () => startEdit(note);
  del.onclick = async () => {
    try {
      await api.notesPk.destroy({ pk: note.id });
      await loadNotes();
    } catch (err) {
      showErrors(err);
    }
  };
  li.append(title, content, author, edit, del);
  return li;
}

async function loadNotes(flashId) {
  const query = { page };
  if (search) query.search = search;
  let reply;
  try {
    reply = await api.notes.list({ query });
  } catch (err) {
    if (err instanceof RestChannelsError && err.status === 404 && page > 1) {
      page -= 1; // the last page emptied
      return loadNotes(flashId);
    }
    showErrors(err);
    return;
  }
  const list = $("#list");
  list.replaceChildren(...reply.results.map(noteItem));
  $("#count").textContent = `(${reply.count})`;
  $("#page").textContent = `page ${page}`;
  $("#prev").disabled = reply.previous === null;
  $("#next").disabled = reply.next === null;
  if (flashId !== undefined) list.querySelector(`li[data-id="${flashId}"]`)?.classList.add("flash");
}

function startEdit(note) {
  clearErrors();
  $("#note-id").value = String(note.id);
  $("#title").value = note.title;
  $("#content").value = note.content;
  $("#form-title").textContent = `Edit note #${note.id}`;
  $("#save").textContent = "Save";
  $("#cancel").hidden = false;
}

function resetForm() {
  $("#note-form").reset();
  $("#note-id").value = "";
  $("#form-title").textContent = "New note";
  $("#save").textContent = "Create";
  $("#cancel").hidden = true;
}

async function follow(gen, sub) {
  // Live updates from the observers: any create/update/delete reloads the page shown.
  for await (const push of sub) {
    if (gen !== generation) break;
    await loadNotes(push.event === "deleted" ? undefined : push.note?.id);
  }
}

async function joinRoom(gen) {
  room?.close();
  $("#messages").replaceChildren();
  const token = $("#token").value || undefined;
  room = WsRoomsGroupId.connect(base, { group_id: $("#room").value || "lobby" }, { token });
  const mine = room;
  for await (const event of room.chatMessage()) {
    if (gen !== generation || mine !== room) break;
    const li = document.createElement("li");
    li.append(
      Object.assign(document.createElement("span"), { className: "who", textContent: event.data.username }),
      document.createTextNode(event.data.text),
    );
    $("#messages").append(li);
    li.scrollIntoView();
  }
}

async function signIn() {
  generation += 1;
  const gen = generation;
  api?.close();
  const token = $("#token").value || undefined;
  api = Ws.connect(base, { token });
  api.connection.onState = (state) => { if (state !== "open") $("#state").textContent = state; };
  clearErrors();
  resetForm();
  page = 1;
  try {
    const me = await api.whoami();
    $("#state").textContent = `open as ${me?.username ?? "anonymous"}`;
    document.body.dataset.user = me?.username ?? "";
    await loadNotes();
    const sub = await api.notes.subscribe();
    follow(gen, sub).catch((err) => showErrors(err));
    document.body.dataset.ready = String(gen);
  } catch (err) {
    showErrors(err);
  }
  joinRoom(gen).catch((err) => showErrors(err, "chat"));
}

$("#token").addEventListener("change", signIn);
$("#room").addEventListener("change", () => joinRoom(generation).catch((err) => showErrors(err, "chat")));
$("#search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  search = $("#search").value.trim();
  page = 1;
  loadNotes();
});
$("#prev").addEventListener("click", () => { page -= 1; loadNotes(); });
$("#next").addEventListener("click", () => { page += 1; loadNotes(); });
$("#cancel").addEventListener("click", () => { clearErrors(); resetForm(); });
$("#note-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors();
  const data = { title: $("#title").value, content: $("#content").value };
  const id = $("#note-id").value;
  try {
    const note = id
      ? await api.notesPk.update({ pk: Number(id), data })
      : await api.notes.create({ data });
    resetForm();
    await loadNotes(note.id);
  } catch (err) {
    showErrors(err);
  }
});
$("#chat-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("#say").value;
  if (!text) return;
  try {
    await room.chat.say({ text });
    $("#say").value = "";
  } catch (err) {
    showErrors(err, "chat");
  }
});

signIn();
