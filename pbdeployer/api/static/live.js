// Follows one task over the API's WebSocket (authenticated by the login cookie): progress,
// status and log lines as they happen. A dropped connection resumes after the last event seen;
// a reloaded page replays the task from its first event. A page rendered after the run ended
// already shows its final record, so there the replay only fills in the log.
const live = document.getElementById("live");
const taskId = live && live.dataset.taskId;
const wasActive = live && live.dataset.active === "true";
const $ = (id) => document.getElementById(id);
let lastSeq = 0;
let finished = false;
let retryMs = 500;

function setStatus(value) {
  const span = document.createElement("span");
  span.className = `status status-${value}`;
  span.textContent = value;
  $("status").replaceChildren(span);
}

function setProgress(percent) {
  $("progress").value = percent;
  $("progress").textContent = `${percent}%`;
  $("percent").textContent = `${percent}%`;
}

function showMessage(error) {
  if (!error) return;
  $("message").textContent = error.message;
  $("message").hidden = false;
}

function logLine(text, kind) {
  const item = document.createElement("li");
  item.textContent = text;
  if (kind) item.className = kind;
  $("log").append(item);
}

const handlers = {
  task_progress: (e) => { setProgress(e.percent); $("step").textContent = e.step || "—"; },
  task_status: (e) => { setStatus(e.status); showMessage(e.error); },
  host_result: (e) => logLine(`${e.host}: ${e.task} — ${e.outcome}${e.message ? `: ${e.message}` : ""}`,
    e.outcome),
  log_line: (e) => logLine(e.text),
  deployment_progress: (e) => { if (e.step) $("step").textContent = e.step; },
  task_finished: (e) => {
    finished = true;
    $("connection").textContent = "";
    setStatus(e.status);
    if (e.status === "succeeded") setProgress(100);
    showMessage(e.error);
    logLine(`finished: ${e.status}`);
    document.querySelectorAll("form[action$='/cancel']").forEach((f) => f.remove());
    if (wasActive) setTimeout(() => window.location.reload(), 300);  // the final record
  },
};

const logOnly = new Set(["host_result", "log_line"]);

function onMessage(raw) {
  const message = JSON.parse(raw.data);
  if (message.type !== "event" || message.event.seq <= lastSeq) return;
  lastSeq = message.event.seq;
  if (message.event.type === "task_finished") finished = true;
  if (!wasActive && !logOnly.has(message.event.type)) return;
  const handle = handlers[message.event.type];
  if (handle) handle(message.event);
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/api/v1/ws`);
  socket.onmessage = (raw) => {
    const message = JSON.parse(raw.data);
    if (message.type === "ready") {
      $("connection").textContent = "Following live.";
      retryMs = 500;
      socket.send(JSON.stringify(
        { type: "subscribe", topics: [{ topic: `task:${taskId}`, after: lastSeq }] }));
      return;
    }
    onMessage(raw);
    if (finished) socket.close();  // the stream ended with task_finished: nothing more comes
  };
  socket.onclose = (closed) => {
    if (finished) { $("connection").textContent = ""; return; }
    if (closed.code === 4001) { window.location.assign("/ui/login"); return; }
    $("connection").textContent = "Connection lost; reconnecting…";
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

if (taskId) connect();
