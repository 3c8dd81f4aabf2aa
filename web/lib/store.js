// Phoenix's state in the page, kept outside the sidebar element so every mount sees it.
//
// The store owns the events stream: it opens when the first panel mounts and closes when
// the last one goes (the first event of a new connection is a complete snapshot). Sections
// subscribe to topics and get called on every change of that topic.

import { EventStream } from "./events.js";

const ACTIVE_STATES = new Set(["queued", "waiting", "downloading", "paused"]);
const FINAL_STATES = new Set(["done", "failed", "cancelled"]);

export function isActive(job) {
  return ACTIVE_STATES.has(job.state);
}

export class PhoenixStore {
  /**
   * @param {object} deps
   * @param {ReturnType<import("./api.js").createClient>} deps.client
   * @param {object} deps.host ComfyUI adapter (toasts, model lists); see comfy.js.
   * @param {(url: string, handlers: object) => EventStream} [deps.openStream]
   */
  constructor({ client, host, openStream }) {
    this.client = client;
    this.host = host;
    this.openStream = openStream ?? ((url, handlers) => new EventStream(url, handlers));
    this.topics = new Map();
    this.mounts = 0;
    this.stream = null;
    this.streamsOpened = 0;
    this.scopeStats = { live: 0 };
    this.notified = new Set();

    this.connection = { state: "closed" };
    /** Why Phoenix cannot serve at all (an invalid setting, say): `{detail, hint}` or null. */
    this.problem = null;
    this.jobs = new Map();
    this.status = null;
    this.preload = null;
    this.capabilities = null;
    this.capabilitiesError = null;
    this.library = null;
    this.libraryError = null;
    this.tokens = null;
    /** What each site said of its saved token: {huggingface, civitai}, each {ok, account|detail}. */
    this.tokenChecks = {};
    // What the user was doing, so a reopened tab looks the same.
    this.ui = {
      open: new Set(["add", "downloads", "workflow", "status"]),
      reference: "",
      plan: null,
      planError: null,
      /** "Save to" chosen for one file of the plan, by the file's url. */
      choices: {},
      filter: "",
      showOlder: false,
      /** What a row's own button last did (the loader node it added), by job id. */
      jobNotes: new Map(),
    };
  }

  // -- subscriptions -------------------------------------------------------------------
  /** Call `fn(payload)` on every change of `topic`; returns the unsubscribe function. */
  subscribe(topic, fn) {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (!set.size) this.topics.delete(topic);
    };
  }

  emit(topic, payload) {
    for (const fn of [...(this.topics.get(topic) ?? [])]) {
      try {
        fn(payload);
      } catch (err) {
        console.error(`[phoenix] ${topic} view failed`, err);
      }
    }
  }

  /** Counts for tests and debugging: nothing here should grow as the tab opens and closes. */
  debug() {
    let subscriptions = 0;
    for (const set of this.topics.values()) subscriptions += set.size;
    return {
      mounts: this.mounts,
      subscriptions,
      scopeRegistrations: this.scopeStats.live,
      streamOpen: Boolean(this.stream?.active),
      streamsOpened: this.streamsOpened,
      eventSources: this.stream?.source ? 1 : 0,
      jobs: this.jobs.size,
      connection: this.connection.state,
    };
  }

  // -- mounts and the stream -------------------------------------------------------------
  /** A panel mounted: connect if it is the first. Returns the matching release function. */
  retain() {
    this.mounts += 1;
    if (this.mounts === 1) this.#connect();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.mounts -= 1;
      if (this.mounts === 0) this.#disconnect();
    };
  }

  #connect() {
    this.stream = this.openStream(this.client.eventsUrl(), {
      onEvent: (kind, data) => this.apply(kind, data),
      onState: (state, info) => this.#setConnection(state, info),
    });
    this.streamsOpened += 1;
    this.stream.open();
  }

  #disconnect() {
    this.stream?.close();
    this.stream = null;
  }

  #setConnection(state, info = {}) {
    this.connection = { state, ...info };
    this.emit("connection", this.connection);
    if (state === "open") this.#setProblem(null);
    else if (state === "retrying") this.#diagnose();
  }

  /** The stream failed: ask why, so a setting Phoenix cannot start with is said in the panel. */
  async #diagnose() {
    try {
      await this.client.get("/health");
      this.#setProblem(null);
    } catch (err) {
      const known = err?.error && !["network", "starting"].includes(err.error);
      this.#setProblem(known ? { detail: err.detail, hint: err.hint } : null);
    }
  }

  #setProblem(problem) {
    if (JSON.stringify(problem) === JSON.stringify(this.problem)) return;
    this.problem = problem;
    this.emit("problem", problem);
  }

  // -- events from the server ------------------------------------------------------------
  apply(kind, data) {
    if (kind === "snapshot") this.#applySnapshot(data);
    else if (kind === "job") this.applyJob(data);
    else if (kind === "status") this.#setStatus(data);
    else if (kind === "preload") this.#setPreload(data);
    else if (kind === "lookup") this.emit("lookup", (this.lookup = data));
    else if (kind === "forgotten") this.#forget(data.ids ?? []);
  }

  /** Finished jobs the server no longer lists (cleared, or fallen off the end of the list). */
  #forget(ids) {
    let changed = false;
    for (const id of ids) {
      changed = this.jobs.delete(id) || changed;
      this.ui.jobNotes.delete(id);
    }
    if (changed) this.emit("jobs", this.jobs);
  }

  #applySnapshot(data) {
    const previous = this.jobs;
    this.jobs = new Map();
    for (const job of data.jobs ?? []) {
      this.jobs.set(job.id, job);
      const before = previous.get(job.id);
      if (before && isActive(before) && FINAL_STATES.has(job.state)) this.#finished(job);
    }
    this.emit("jobs", this.jobs);
    if (data.status) this.#setStatus(data.status);
    if (data.preload) this.#setPreload(data.preload);
  }

  /** One job changed (an event, or the answer of a control route). */
  applyJob(job) {
    const before = this.jobs.get(job.id);
    if (before && before.updated > job.updated) return; // a route answer that arrived late
    this.jobs.set(job.id, job);
    if (isActive(job)) {
      this.notified.delete(`${job.id}:done`);
      this.notified.delete(`${job.id}:failed`);
    } else if (before && before.state !== job.state) {
      this.#finished(job);
    }
    this.emit("job", job);
    this.emit("jobs", this.jobs);
  }

  #finished(job) {
    if (job.state === "done" || job.state === "failed") this.noteFinished(job);
  }

  /**
   * A job reached done or failed (from the stream or ComfyUI's websocket notice): one toast
   * per job and state, and ComfyUI's model lists refresh after a completion.
   */
  noteFinished(job) {
    const state = job.state ?? (job.error ? "failed" : "done");
    const key = `${job.id}:${state}`;
    if (this.notified.has(key)) return;
    this.notified.add(key);
    // A file that was already here (a node run asking again) is no news.
    if (state === "done" && (job.skipped ?? this.jobs.get(job.id)?.skipped)) return;
    const name = job.relpath || job.filename || job.ref || "A model";
    if (state === "done") {
      this.host.toast("success", "Download finished", `${name} is ready.`);
      this.host.refreshModels();
      this.invalidateLibrary();
    } else if (state === "failed") {
      const detail = [job.error?.detail, job.error?.hint].filter(Boolean).join(" ");
      this.host.toast("error", `Download failed: ${name}`, detail || "The download did not finish.");
    }
  }

  #setStatus(status) {
    this.status = status;
    this.emit("status", status);
  }

  #setPreload(preload) {
    this.preload = preload;
    this.emit("preload", preload);
  }

  // -- data fetched on demand --------------------------------------------------------------
  async loadCapabilities() {
    try {
      this.capabilities = await this.client.get("/capabilities");
      this.capabilitiesError = null;
    } catch (err) {
      this.capabilitiesError = err;
    }
    this.emit("capabilities", this.capabilities);
    return this.capabilities;
  }

  async loadLibrary() {
    try {
      this.library = await this.client.get("/models");
      this.libraryError = null;
    } catch (err) {
      this.libraryError = err;
    }
    this.emit("library", this.library);
    return this.library;
  }

  /** The library changed on disk; reload it if anyone is looking, else on next view. */
  invalidateLibrary() {
    if (this.topics.has("library")) this.loadLibrary();
    else this.library = null;
  }

  async loadTokens() {
    this.tokens = await this.client.get("/tokens");
    this.emit("tokens", this.tokens);
    return this.tokens;
  }

  setTokens(masked) {
    this.tokens = masked;
    for (const name of Object.keys(this.tokenChecks)) if (!masked?.[name]?.value) delete this.tokenChecks[name];
    this.emit("tokens", masked);
  }

  /** Ask each site whose account its saved token belongs to. */
  async checkTokens() {
    this.tokenChecks = (await this.client.post("/tokens/check", {})) ?? {};
    this.emit("tokens", this.tokens);
    return this.tokenChecks;
  }

  // -- actions -----------------------------------------------------------------------------
  /** Queue downloads; job answers go into the list at once (events follow). */
  async submit(refs, choices = {}) {
    const body = { refs };
    if (Object.keys(choices).length) body.folders = choices;
    const answer = await this.client.post("/downloads", body);
    for (const job of answer.jobs ?? []) this.applyJob(job);
    return answer;
  }

  /** Forget the finished downloads on the server, so they stay cleared after a reload. */
  async clearFinished() {
    const answer = await this.client.post("/downloads/clear", {});
    this.#forget(answer?.cleared ?? []);
  }

  async control(jobId, action) {
    const path = `/downloads/${encodeURIComponent(jobId)}`;
    const job = action === "cancel" ? await this.client.del(path) : await this.client.post(`${path}/${action}`);
    this.applyJob(job);
    return job;
  }
}
