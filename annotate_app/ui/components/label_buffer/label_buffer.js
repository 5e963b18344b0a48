// The label page in the browser: a buffer of the annotator's next pairs, already rendered, so the
// key press paints the next pair at once; and an outbox that sends every answer until the server
// acknowledges its id.
//
// Streamlit calls the default export on mount and again whenever the server sends new data (the
// buffer topped up, acknowledgements). The page's state lives in one object per annotator and
// project (`pages`), so it outlives those calls; the outbox is mirrored in sessionStorage so a reload
// of the tab resends it too.
//
// Protocol with the server (label_exchange.py): the page sends {seq, outbox, have}; the server
// records what is new and answers {seq, acks, pairs, progress}. The page POSTs it to the label route
// (`sync_url` in its data) and reads the JSON reply, so no Streamlit rerun is involved. A 401 for
// the session cookie the page sent means the server does not know that session (it restarted, or
// the session ended): the page reloads, which asks the annotator to sign in again, and the outbox
// survives in sessionStorage. When the route refuses otherwise (no cookie, 403, 404, or a 401 again
// within a minute of such a reload) the page triggers "sync" on the component instead and the
// fragment sends the same reply as data. One sync is in flight at a time; it ends when its reply
// arrives, or after a wait that doubles from RESEND_MS up to RESEND_MAX_MS while none comes (a busy
// server must not be buried in resends), and then the whole outbox is sent again. Streamlit may
// coalesce reruns; as every sync carries the whole outbox, nothing is dropped.

const KEYS = {
  "1": { label: "A much better", choice: 2 },
  "2": { label: "A better", choice: 1 },
  "3": { label: "Tie", choice: 0 },
  "4": { label: "B better", choice: -1 },
  "5": { label: "B much better", choice: -2 },
  "6": { label: "Both bad", bothBad: true },
};
const FLAG_REASONS = [
  ["broken", "Broken"],
  ["unsafe", "Unsafe"],
  ["cant_judge", "Can't judge"],
];
const RESEND_MS = 1500;
const RESEND_MAX_MS = 8000;
const OFFLINE_MS = 4000;
const HISTORY = 50; // answered pairs whose text stays in memory, for undo
const HISTORY_LIMIT = 2000; // answers remembered (their ids and acknowledgements)
const KEEPALIVE_BYTES = 60000; // browsers refuse keepalive bodies over 64 KiB
const FALL_BACK = new Set([403, 404]); // the route will not take it: use the Streamlit trigger
const RELOAD_GAP_MS = 60000; // at most one reload a minute for an unknown session
const RELOADED_KEY = "annotate-reloaded-at";

const pages = new Map();

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

class LabelPage {
  constructor(storeKey) {
    this.storeKey = storeKey;
    this.pairs = new Map(); // pair id -> {id, side, turns, left, right, collapse}
    this.server = []; // the server's buffer, in order: pair ids
    this.outbox = []; // answers not yet acknowledged
    this.history = []; // this page's answers, newest last: {item, pair, status}
    this.back = []; // pairs brought back by undo, newest first
    this.progress = { today: 0, total: 0, left: 0 };
    this.seq = 0;
    this.inflight = null; // {seq, at}
    this.resendMs = RESEND_MS;
    this.lastData = Date.now();
    this.current = null;
    this.shownAt = 0;
    this.notice = null;
    this.flagOpen = false;
    this.send = null; // the component's trigger
    this.endpoint = null; // the label route, while it takes our syncs
    this.reloading = false; // reloading for a new sign-in: leaving needs no warning
    this.newest = 0; // the highest seq answered so far
    this.root = null;
    this.restore();
  }

  // -- storage ---------------------------------------------------------------------------------

  restore() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(this.storeKey) || "[]");
      if (Array.isArray(saved)) this.outbox = saved;
    } catch (e) {
      this.outbox = [];
    }
  }

  persist() {
    try {
      sessionStorage.setItem(this.storeKey, JSON.stringify(this.outbox));
    } catch (e) {
      // storage full or refused: the outbox still lives in memory until acknowledged
    }
  }

  // -- what is on screen -------------------------------------------------------------------------

  answeredHere() {
    const done = new Set();
    for (const h of this.history) if (!h.undone && h.item.kind !== "undo") done.add(h.item.pair);
    return done;
  }

  view() {
    const done = this.answeredHere();
    const ids = [...this.back.filter((id) => !done.has(id))];
    for (const id of this.server) if (!done.has(id) && !ids.includes(id)) ids.push(id);
    return ids.filter((id) => this.pairs.has(id) && this.pairs.get(id).left !== undefined);
  }

  // -- server data -----------------------------------------------------------------------------

  receive(data) {
    this.lastData = Date.now();
    this.admin = !!data.admin;
    this.aspects = data.aspects || [];
    this.emptyHint = data.empty_hint || "";
    if (this.inflight && data.seq !== null && data.seq >= this.inflight.seq) this.inflight = null;
    this.resendMs = RESEND_MS;
    if (data.seq !== null && data.seq !== undefined && data.seq < this.newest) {
      for (const ack of data.acks || []) this.acknowledge(ack); // a late reply: its buffer is old
      this.renderStatus();
      return;
    }
    if (data.seq) this.newest = data.seq;
    for (const p of data.pairs || []) {
      const known = this.pairs.get(p.id);
      if (p.left !== null && p.left !== undefined) this.pairs.set(p.id, p);
      else if (!known) this.missing = true; // the server thought we had it: ask again
    }
    this.server = (data.pairs || []).map((p) => p.id);
    this.progress = data.progress || this.progress;
    for (const ack of data.acks || []) this.acknowledge(ack);
    this.prune();
    this.render();
    if (this.outbox.length || this.missing) this.sync();
  }

  acknowledge(ack) {
    const i = this.outbox.findIndex((item) => item.cid === ack.cid);
    if (ack.status === "failed") {
      if (i >= 0) this.notice = { kind: "warn", text: `Saving… ${ack.message || ""}` };
      return;
    }
    if (i >= 0) this.outbox.splice(i, 1);
    const h = this.history.find((x) => x.item.cid === ack.cid);
    if (h) {
      h.status = ack.status;
      h.event = ack.event;
      h.ackedAt = performance.now();
    }
    // Tests and benchmarks wait on this instead of polling the page.
    document.dispatchEvent(new CustomEvent("label-ack", { detail: ack }));
    if (ack.status === "refused") {
      this.notice = { kind: "error", text: `Not saved: ${ack.message}` };
    } else if (h && h.item.kind === "undo" && !ack.pair_back) {
      const target = this.history.find((x) => x.item.cid === h.item.undoes);
      if (target) {
        this.back = this.back.filter((id) => id !== target.item.pair);
        this.notice = { kind: "info", text: "Undone, but that pair went to another annotator." };
      }
    }
    this.persist();
  }

  prune() {
    const keep = new Set([...this.server, ...this.back]);
    for (const h of this.history.slice(-HISTORY)) keep.add(h.item.pair);
    for (const id of this.pairs.keys()) if (!keep.has(id)) this.pairs.delete(id);
    if (this.history.length > HISTORY_LIMIT) {
      this.history = this.history.slice(-HISTORY_LIMIT / 2);
    }
  }

  // -- sending ---------------------------------------------------------------------------------

  sync() {
    if (!this.send) return;
    const now = performance.now();
    if (this.inflight) {
      if (now - this.inflight.at < this.resendMs) return;
      this.resendMs = Math.min(RESEND_MAX_MS, this.resendMs * 2); // no answer yet: back off
    }
    this.seq += 1;
    this.inflight = { seq: this.seq, at: now };
    this.missing = false;
    const have = [...this.pairs.keys()];
    for (const item of this.outbox) item.sent = true;
    const payload = { seq: this.seq, outbox: this.outbox, have };
    if (this.endpoint) this.post(payload);
    else this.trigger(payload);
    this.renderStatus();
  }

  trigger(payload) {
    try {
      this.send("sync", payload);
    } catch (e) {
      // disconnected: the timer tries again
    }
  }

  post(payload) {
    const body = JSON.stringify(payload);
    fetch(this.endpoint, {
      method: "POST",
      credentials: "same-origin",
      keepalive: body.length < KEEPALIVE_BYTES, // still delivered when the tab closes
      headers: { "Content-Type": "application/json", "X-Annotate-Label": "1" },
      body,
    })
      .then((reply) => {
        if (reply.ok) return reply.json().then((data) => this.receive(data));
        if (reply.status === 401) {
          return reply
            .json()
            .catch(() => ({}))
            .then((why) => {
              if (!(why && why.cookie === true && this.reloadForSignIn())) this.fallBack(payload);
            });
        }
        if (FALL_BACK.has(reply.status)) this.fallBack(payload);
        // anything else (a server error): the timer resends, with backoff
        return null;
      })
      .catch(() => {
        // Offline or the server is down: the timer resends, with backoff. A restarted server
        // then answers 401, and the page reloads to sign in again.
      });
  }

  fallBack(payload) {
    this.endpoint = null; // until the page's next data names the route again
    this.trigger(payload);
  }

  // A reload runs the whole page, which signs the annotator in again (by the session cookie, or
  // by the sign-in form when the server no longer knows it). False when this tab reloaded for
  // that less than a minute ago: then the fragment takes the sync, so a refusal cannot loop.
  reloadForSignIn() {
    if (this.reloading) return true;
    let last = 0;
    try {
      last = Number(sessionStorage.getItem(RELOADED_KEY) || 0);
      if (Date.now() - last < RELOAD_GAP_MS) return false;
      sessionStorage.setItem(RELOADED_KEY, String(Date.now()));
    } catch (e) {
      return false; // no storage: the outbox would not survive a reload
    }
    this.persist();
    this.reloading = true;
    window.location.reload();
    return true;
  }

  tick() {
    if (this.root && !this.root.isConnected) return;
    if (this.outbox.length) this.sync();
    this.renderStatus();
  }

  // -- answering -------------------------------------------------------------------------------

  answer(fields) {
    const id = this.current;
    if (!id) return;
    const pair = this.pairs.get(id);
    const item = {
      cid: newId(),
      pair: id,
      side: pair.side,
      latency_ms: Math.round(performance.now() - this.shownAt),
      ...fields,
    };
    Object.defineProperty(item, "at", { value: Date.now(), enumerable: false });
    if (item.kind === "label") {
      const why = this.root.querySelector(".lb-rationale").value.trim();
      if (why) item.rationale = why;
      const picked = {};
      for (const b of this.root.querySelectorAll(".lb-aspect button[aria-pressed='true']")) {
        picked[b.dataset.aspect] = Number(b.dataset.value);
      }
      if (Object.keys(picked).length) item.aspects = picked;
    }
    this.back = this.back.filter((x) => x !== id);
    this.history.push({ item, status: "pending", pressedAt: performance.now() });
    this.outbox.push(item);
    this.persist();
    this.notice = null;
    this.render();
    // Sending waits for the next task, so the new pair is painted first.
    setTimeout(() => this.sync(), 0);
  }

  undo() {
    const h = [...this.history].reverse().find((x) => !x.undone && x.item.kind !== "undo");
    if (!h) {
      this.notice = { kind: "info", text: "Nothing to undo." };
      this.render();
      return;
    }
    h.undone = true;
    const i = this.outbox.findIndex((item) => item.cid === h.item.cid);
    if (i >= 0 && !this.outbox[i].sent) {
      this.outbox.splice(i, 1); // the server never saw it: it simply goes away
    } else if (h.status === "saved" || i >= 0) {
      // Saved, or sent and maybe saved: the undo follows it through the outbox, in order.
      const undo = { cid: newId(), kind: "undo", undoes: h.item.cid, pair: h.item.pair };
      this.history.push({ item: undo, status: "pending" });
      this.outbox.push(undo);
    }
    if (h.status !== "refused") this.back.unshift(h.item.pair);
    this.persist();
    this.notice = { kind: "info", text: "Undone: that pair is back." };
    this.render(h.item);
    setTimeout(() => this.sync(), 0);
  }

  // -- keys ------------------------------------------------------------------------------------

  onKey(e) {
    if (!this.root || !this.root.isConnected) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.composedPath ? e.composedPath()[0] : e.target;
    const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable) {
      return; // typing, not answering
    }
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    let handled = true;
    if (this.flagOpen) {
      if (key === "Escape") this.toggleFlag(false);
      else handled = false;
    } else if (KEYS[key]) {
      if (!e.repeat) this.choose(key);
    } else if (key === "s") {
      if (!e.repeat && this.current) this.answer({ kind: "skip" });
    } else if (key === "u") {
      if (!e.repeat) this.undo();
    } else if (key === "f") {
      if (this.current) this.toggleFlag(true);
    } else {
      handled = false;
    }
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  choose(key) {
    if (!this.current) return;
    const k = KEYS[key];
    this.answer(k.bothBad ? { kind: "label", both_bad: true } : { kind: "label", choice: k.choice });
  }

  toggleFlag(open) {
    this.flagOpen = open;
    const box = this.root.querySelector(".lb-flag");
    box.hidden = !open;
    if (open) box.querySelector("input[type=radio]").focus();
  }

  // -- drawing ---------------------------------------------------------------------------------

  build(root) {
    this.root = root;
    root.innerHTML = "";
    const top = el("div", { class: "lb-top" });
    top.append(el("div", { class: "lb-progress", "data-testid": "label-progress" }));
    top.append(el("div", { class: "lb-status", "data-testid": "save-status", role: "status" }));
    root.append(top);
    root.append(el("div", { class: "lb-notice", "data-testid": "label-notice", role: "status" }));
    root.append(el("div", { class: "lb-stage" }));
    const empty = el("div", { class: "lb-empty", "data-testid": "label-empty" });
    empty.hidden = true;
    root.append(empty);
    root.append(this.buildExtras());
    root.append(this.buildBar());
    root.append(this.buildFlag());
  }

  buildExtras() {
    const extras = el("div", { class: "lb-extras" });
    extras.append(el("div", { class: "lb-aspects" }));
    const label = el("label", { class: "lb-why" });
    label.append(el("span", {}, "Rationale (optional)"));
    const input = el("input", {
      type: "text",
      class: "lb-rationale",
      "aria-label": "Rationale (optional)",
      placeholder: "Why? Enter leaves the box; then press a choice key.",
      maxlength: "2000",
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === "Escape") {
        e.preventDefault();
        input.blur();
      }
      e.stopPropagation();
    });
    label.append(input);
    extras.append(label);
    return extras;
  }

  buildBar() {
    const bar = el("div", { class: "lb-bar" });
    const choices = el("div", { class: "lb-choices" });
    for (const [key, k] of Object.entries(KEYS)) {
      const b = el("button", { type: "button", class: "lb-btn", "data-key": key });
      b.append(el("kbd", {}, key), document.createTextNode(` ${k.label}`));
      if (k.choice) b.classList.add("lb-primary");
      b.addEventListener("click", () => {
        b.blur(); // Space or Enter must not answer the next pair through a focused button
        this.choose(key);
      });
      choices.append(b);
    }
    bar.append(choices);
    const more = el("div", { class: "lb-more" });
    const add = (key, text, fn) => {
      const b = el("button", { type: "button", class: "lb-btn lb-small", "data-key": key });
      b.append(el("kbd", {}, key.toUpperCase()), document.createTextNode(` ${text}`));
      b.addEventListener("click", () => {
        b.blur();
        fn();
      });
      more.append(b);
    };
    add("s", "Skip", () => this.current && this.answer({ kind: "skip" }));
    add("u", "Undo last", () => this.undo());
    add("f", "Flag…", () => this.current && this.toggleFlag(true));
    more.append(
      el(
        "span",
        { class: "lb-legend" },
        "Keys: 1 A much better · 2 A better · 3 tie · 4 B better · 5 B much better · 6 both bad" +
          " · S skip · U undo · F flag",
      ),
    );
    bar.append(more);
    return bar;
  }

  buildFlag() {
    const box = el("div", { class: "lb-flag", role: "dialog", "aria-label": "Flag this pair" });
    box.hidden = true;
    box.append(el("strong", {}, "Flag this pair for review (it is skipped for you)"));
    const reasons = el("div", { class: "lb-reasons" });
    FLAG_REASONS.forEach(([value, text], i) => {
      const label = el("label");
      const radio = el("input", { type: "radio", name: "lb-flag-reason", value });
      if (i === 0) radio.checked = true;
      label.append(radio, document.createTextNode(` ${text}`));
      reasons.append(label);
    });
    box.append(reasons);
    const note = el("input", {
      type: "text",
      class: "lb-flag-note",
      "aria-label": "Note",
      placeholder: "Note (optional)",
      maxlength: "2000",
    });
    box.append(note);
    const send = el("button", { type: "button", class: "lb-btn lb-primary" }, "Flag and skip");
    const cancel = el("button", { type: "button", class: "lb-btn" }, "Cancel");
    send.addEventListener("click", () => {
      const reason = box.querySelector("input[name=lb-flag-reason]:checked").value;
      const text = note.value.trim();
      note.value = "";
      this.toggleFlag(false);
      this.answer({ kind: "flag", reason, ...(text ? { note: text } : {}) });
    });
    cancel.addEventListener("click", () => this.toggleFlag(false));
    box.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.toggleFlag(false);
      else if (e.key === "Enter") send.click();
      e.stopPropagation();
    });
    box.append(send, cancel);
    return box;
  }

  pairNode(id) {
    const stage = this.root.querySelector(".lb-stage");
    let node = stage.querySelector(`section[data-pair-id="${CSS.escape(id)}"]`);
    if (node) return node;
    const p = this.pairs.get(id);
    node = el("section", { class: "lb-pair", "data-pair-id": id });
    node.hidden = true;
    const turns = p.turns || [];
    const earlier = turns.slice(0, -1);
    if (earlier.length) {
      const details = el("details", { class: "lb-history" });
      if (!p.collapse) details.open = true;
      details.append(el("summary", {}, `Earlier turns (${earlier.length})`));
      for (const t of earlier) details.append(this.turn(t));
      node.append(details);
    }
    if (turns.length) node.append(this.turn(turns[turns.length - 1], "lb-last"));
    const grid = el("div", { class: "lb-responses" });
    for (const [title, html] of [
      ["A", p.left],
      ["B", p.right],
    ]) {
      const col = el("div", { class: "lb-col" });
      col.append(el("div", { class: "lb-head" }, `Response ${title}`));
      const body = el("div", { class: "lb-resp lb-md" });
      body.innerHTML = html; // server-rendered: raw HTML off, safe links, no images
      col.append(body);
      grid.append(col);
    }
    node.append(grid);
    stage.append(node);
    return node;
  }

  turn(t, extra = "") {
    const box = el("div", { class: `lb-turn lb-${t.role === "user" ? "user" : "other"} ${extra}` });
    box.append(el("div", { class: "lb-role" }, t.role));
    const body = el("div", { class: "lb-md" });
    body.innerHTML = t.html; // server-rendered
    box.append(body);
    return box;
  }

  render(restore = null) {
    if (!this.root) return;
    const ids = this.view();
    const next = ids.length ? ids[0] : null;
    if (next !== this.current) {
      const stage = this.root.querySelector(".lb-stage");
      for (const node of stage.querySelectorAll("section.lb-pair")) {
        node.hidden = true;
        node.removeAttribute("data-testid");
      }
      this.current = next;
      if (next) {
        const node = this.pairNode(next);
        node.hidden = false;
        node.setAttribute("data-testid", "pair");
        this.shownAt = performance.now();
      }
      this.resetExtras(restore && restore.pair === next ? restore : null);
    }
    for (const node of this.root.querySelectorAll(".lb-stage section.lb-pair")) {
      if (node.dataset.pairId !== this.current && !ids.includes(node.dataset.pairId)) {
        if (!this.back.includes(node.dataset.pairId)) node.remove();
      }
    }
    const left = this.renderProgress(ids);
    const empty = this.root.querySelector(".lb-empty");
    empty.hidden = !!next;
    empty.innerHTML = "";
    empty.classList.toggle("lb-loading", !next && left > 0);
    if (!next && left > 0) {
      // Answered faster than the server refills the buffer: more pairs are on their way.
      empty.append(el("p", { class: "lb-done" }, "Loading your next pair…"));
    } else if (!next) {
      empty.append(el("p", { class: "lb-done" }, "You're done: no pairs are waiting for you right now."));
      empty.append(el("p", {}, this.emptyHint));
    }
    for (const b of this.root.querySelectorAll(".lb-choices button, .lb-more button")) {
      if (b.dataset.key !== "u") b.disabled = !next;
    }
    this.root.querySelector(".lb-extras").hidden = !next;
    this.renderStatus();
  }

  resetExtras(restore) {
    const input = this.root.querySelector(".lb-rationale");
    input.value = (restore && restore.rationale) || "";
    const box = this.root.querySelector(".lb-aspects");
    box.innerHTML = "";
    for (const aspect of this.aspects || []) {
      const group = el("div", { class: "lb-aspect", role: "group", "aria-label": aspect });
      group.append(el("span", {}, aspect[0].toUpperCase() + aspect.slice(1)));
      for (const [text, value] of [
        ["A", 1],
        ["Tie", 0],
        ["B", -1],
      ]) {
        const b = el("button", { type: "button", "data-aspect": aspect, "data-value": value }, text);
        const was = restore && restore.aspects && restore.aspects[aspect] === value;
        b.setAttribute("aria-pressed", was ? "true" : "false");
        b.addEventListener("click", () => {
          const on = b.getAttribute("aria-pressed") !== "true";
          for (const other of group.querySelectorAll("button")) other.setAttribute("aria-pressed", "false");
          b.setAttribute("aria-pressed", on ? "true" : "false");
          b.blur();
        });
        group.append(b);
      }
      box.append(group);
    }
  }

  renderProgress(ids) {
    const serverIds = new Set(this.server);
    let pendingDone = 0;
    let pendingLabels = 0;
    for (const item of this.outbox) {
      if (item.kind === "undo") {
        const target = this.history.find((h) => h.item.cid === item.undoes);
        if (target && target.item.kind === "label") pendingLabels -= 1;
        if (target && !serverIds.has(target.item.pair)) pendingDone -= 1;
      } else {
        if (serverIds.has(item.pair)) pendingDone += 1;
        if (item.kind === "label") pendingLabels += 1;
      }
    }
    const p = this.progress;
    const left = Math.max(ids.length, p.left - pendingDone);
    const total = Math.max(0, p.total + pendingLabels);
    const today = Math.max(0, p.today + pendingLabels);
    const box = this.root.querySelector(".lb-progress");
    box.textContent = `Today ${today} · total ${total} · ${left} left in your queue`;
    const bar = el("div", { class: "lb-bar-track" });
    const fill = el("div", { class: "lb-bar-fill" });
    fill.style.width = `${total + left ? (100 * total) / (total + left) : 100}%`;
    bar.append(fill);
    box.append(bar);
    return left;
  }

  renderStatus() {
    if (!this.root) return;
    const status = this.root.querySelector(".lb-status");
    const n = this.outbox.length;
    // Waiting: since the server last answered, or since the oldest pending answer, if later.
    const oldest = Math.min(...this.outbox.map((item) => item.at || Date.now()));
    const waiting = n ? Date.now() - Math.max(this.lastData, oldest) : 0;
    let kind = "saved";
    let text = this.history.length ? "✓ Saved" : "Ready";
    if (n && waiting > OFFLINE_MS) {
      kind = "offline";
      text = `Offline: ${n} answer${n > 1 ? "s" : ""} waiting, resending…`;
    } else if (n) {
      kind = "saving";
      text = `Saving… (${n})`;
    }
    // This runs twice a second: writing the DOM only on a change keeps an idle page from
    // restyling and repainting (which, over many open tabs, is real CPU).
    showIfChanged(status, `lb-status lb-${kind}`, text);
    if (status.dataset.pending !== String(n)) status.dataset.pending = String(n);
    const notice = this.root.querySelector(".lb-notice");
    showIfChanged(
      notice,
      `lb-notice ${this.notice ? `lb-${this.notice.kind}` : ""}`,
      this.notice ? this.notice.text : "",
    );
  }
}

function showIfChanged(node, className, text) {
  if (node.className !== className) node.className = className;
  if (node.textContent !== text) node.textContent = text;
}

function pageFor(storeKey) {
  let page = pages.get(storeKey);
  if (!page) {
    page = new LabelPage(storeKey);
    pages.set(storeKey, page);
    window.addEventListener("keydown", (e) => page.onKey(e), { capture: true });
    window.addEventListener("beforeunload", (e) => {
      if (page.outbox.length && page.root && page.root.isConnected && !page.reloading) {
        e.preventDefault();
        e.returnValue = "";
      }
    });
    setInterval(() => page.tick(), 500);
  }
  return page;
}

export default function labelBuffer(component) {
  const { data, parentElement, setTriggerValue } = component;
  const page = pageFor(`annotate-outbox:${data.store_key}`);
  page.send = setTriggerValue;
  page.endpoint = data.sync_url || null;
  let root = parentElement.querySelector(".lb");
  if (!root) {
    root = el("div", { class: "lb" });
    parentElement.append(root);
    page.current = null;
    page.build(root);
  } else if (page.root !== root) {
    page.current = null;
    page.build(root);
  }
  page.receive(data);
  window.__labelPage = page; // tests and benchmarks read the outbox through this
}
