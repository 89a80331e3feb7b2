// The search page: text search over the server's index (thumbnails that play their moment)
// and a classify form (upload a clip, type labels, see the probabilities).
"use strict";

const $ = (id) => document.getElementById(id);
// The key lives in this page only, unless the user asks to remember it on this device.
const keyInput = $("api-key");
const rememberKey = $("remember-key");
keyInput.value = localStorage.getItem("xclip-api-key") || "";
rememberKey.checked = keyInput.value !== "";
function storeKey() {
  if (rememberKey.checked) localStorage.setItem("xclip-api-key", keyInput.value);
  else localStorage.removeItem("xclip-api-key");
}
keyInput.addEventListener("change", storeKey);
rememberKey.addEventListener("change", storeKey);

function authHeaders() {
  return keyInput.value ? { Authorization: "Bearer " + keyInput.value } : {};
}

// Media URLs carry the key as a parameter: an <img> or <video> cannot send a header.
function mediaUrl(path) {
  return keyInput.value ? path + "?key=" + encodeURIComponent(keyInput.value) : path;
}

async function api(path, options) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function seconds(t) {
  return t.toFixed(1) + " s";
}

function play(hit) {
  const player = $("player");
  $("player-box").hidden = false;
  player.dataset.start = String(hit.start);
  player.src = mediaUrl(hit.video) + "#t=" + hit.start + "," + hit.end;
  $("player-caption").textContent = hit.path + "  " + seconds(hit.start) + " to " + seconds(hit.end);
  player.addEventListener("loadedmetadata", () => {
    player.currentTime = hit.start;
    player.play().catch(() => {});
  }, { once: true });
  // Where playback really starts, for tests and curious users (data-current-time).
  player.addEventListener("seeked", () => { player.dataset.currentTime = String(player.currentTime); }, { once: true });
}

function renderHits(hits) {
  const grid = $("results");
  grid.replaceChildren();
  for (const hit of hits) {
    const card = document.createElement("div");
    card.className = "hit";
    card.dataset.windowId = String(hit.window_id);
    card.dataset.path = hit.path;
    card.dataset.start = String(hit.start);
    card.dataset.end = String(hit.end);
    card.dataset.score = String(hit.score);
    const img = document.createElement("img");
    img.src = mediaUrl(hit.thumbnail);
    img.alt = hit.path;
    const meta = document.createElement("div");
    meta.className = "meta";
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = hit.score.toFixed(3);
    meta.append(score, hit.path.split("/").pop() + "  " + seconds(hit.start) + "–" + seconds(hit.end));
    meta.title = hit.path;
    card.append(img, meta);
    card.addEventListener("click", () => play(hit));
    grid.append(card);
  }
  grid.dataset.ready = "true";
}

async function search(query) {
  $("search-status").textContent = "Searching…";
  try {
    const t0 = performance.now();
    const body = await api("/search", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ query, top: 24, rerank: 100 }),
    });
    renderHits(body.hits);
    $("search-status").textContent = body.hits.length + " moments in " + Math.round(performance.now() - t0) + " ms";
  } catch (e) {
    $("search-status").textContent = "Error: " + e.message;
  }
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = $("query").value.trim();
  if (query) search(query);
});

$("classify-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("clip").files[0];
  const labels = $("labels").value;
  if (!file || !labels.trim()) {
    $("classify-status").textContent = "Choose a clip and type some labels.";
    return;
  }
  const form = new FormData();
  form.append("video", file);
  form.append("labels", labels);
  $("classify-status").textContent = "Classifying…";
  try {
    const body = await api("/classify", { method: "POST", body: form });
    const bars = $("bars");
    bars.replaceChildren();
    for (const entry of body.labels) {
      const row = document.createElement("div");
      row.className = "bar";
      const name = document.createElement("span");
      name.textContent = entry.label;
      const fill = document.createElement("div");
      fill.className = "fill";
      fill.style.width = (100 * entry.probability).toFixed(1) + "%";
      const value = document.createElement("span");
      value.textContent = (100 * entry.probability).toFixed(1) + " %";
      row.append(name, fill, value);
      bars.append(row);
    }
    $("classify-status").textContent = "";
  } catch (e) {
    $("classify-status").textContent = "Error: " + e.message;
  }
});

api("/info", { method: "GET" })
  .then((info) => {
    $("model-info").textContent = info.model + " · " + info.dtype + (info.index ? " · " + info.index.windows + " moments" : "");
    // Only a server that may watch sources has live events (and an open stream would keep a
    // page that has none from ever finishing loading).
    if (info.watch && info.watch.sources > 0) listenForEvents();
    else $("events-status").textContent = "This server watches no sources (xclip serve --allow-source).";
  })
  .catch(() => {});

// ?q=TEXT types a query and searches; with &play=1 the first hit is then clicked (used by the
// browser test, and handy for links to a search).
const params = new URLSearchParams(location.search);
if (params.get("q")) {
  $("query").value = params.get("q");
  $("search-form").requestSubmit();
  if (params.get("play")) {
    const timer = setInterval(() => {
      const first = document.querySelector("#results .hit");
      if (first) {
        clearInterval(timer);
        first.click();
      }
    }, 50);
  }
}

// Live events of the server's watches (Server-Sent Events): newest first, with thumbnails.
function showEvent(record) {
  const item = document.createElement("li");
  const what = record.label || record.query;
  const span = record.state === "end" ? seconds(record.start) + "–" + seconds(record.end) : "from " + seconds(record.start);
  item.textContent = (record.state === "start" ? "▶ " : "■ ") + what + " " + span + " (peak " +
    record.peak.toFixed(3) + ", watch " + record.watch + ")";
  if (record.thumbnail) {
    const img = document.createElement("img");
    img.src = mediaUrl(record.thumbnail);
    img.alt = what;
    img.className = "event-thumbnail";
    item.prepend(img);
  }
  const list = $("events");
  list.prepend(item);
  while (list.children.length > 50) list.lastChild.remove();
}

function listenForEvents() {
  const source = new EventSource(mediaUrl("/events"));
  source.addEventListener("event", (message) => showEvent(JSON.parse(message.data)));
  source.addEventListener("status", (message) => {
    $("events-status").textContent = JSON.parse(message.data).message;
  });
  source.onerror = () => { $("events-status").textContent = "not connected to the event stream (retrying)"; };
}
