// Phoenix's Server-Sent Events stream, reconnecting with capped exponential backoff.
//
// The browser's own EventSource retry gives up for good on an HTTP error (a 503 while
// Phoenix starts, a 401 from the login gate), so every error closes the source and this
// class reconnects itself. The first event of each connection is a complete snapshot,
// so nothing is lost across a reconnect.

export const EVENT_KINDS = ["snapshot", "job", "status", "preload", "lookup", "forgotten"];

export class EventStream {
  /**
   * @param {string} url The events URL.
   * @param {object} handlers
   * @param {(kind: string, data: object) => void} handlers.onEvent
   * @param {(state: string, info?: object) => void} [handlers.onState]
   *   "connecting" | "open" | "retrying" | "closed"; "retrying" carries {delay}.
   * @param {object} [options] minDelay/maxDelay in ms; EventSource implementation.
   */
  constructor(url, { onEvent, onState = () => {} }, options = {}) {
    this.url = url;
    this.onEvent = onEvent;
    this.onState = onState;
    this.minDelay = options.minDelay ?? 1000;
    this.maxDelay = options.maxDelay ?? 30000;
    this.EventSourceImpl = options.EventSource ?? globalThis.EventSource;
    this.source = null;
    this.timer = null;
    this.attempt = 0;
    this.stopped = true;
    this.listeners = EVENT_KINDS.map((kind) => [kind, (event) => this.#receive(kind, event)]);
  }

  /** Whether a source is open or a reconnect is scheduled. */
  get active() {
    return !this.stopped;
  }

  open() {
    if (!this.stopped) return;
    this.stopped = false;
    this.#connect();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    this.#dropSource();
    this.onState("closed");
  }

  #connect() {
    this.timer = null;
    if (this.stopped) return;
    this.onState("connecting");
    const source = new this.EventSourceImpl(this.url);
    for (const [kind, fn] of this.listeners) source.addEventListener(kind, fn);
    source.onerror = () => this.#failed();
    this.source = source;
  }

  #receive(kind, event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return; // a torn frame; the next snapshot repairs the state
    }
    if (kind === "snapshot") {
      this.attempt = 0;
      this.onState("open");
    }
    this.onEvent(kind, data);
  }

  #failed() {
    this.#dropSource();
    if (this.stopped) return;
    const delay = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempt);
    this.attempt += 1;
    // Jitter spreads many tabs reconnecting after a restart.
    const wait = delay * (0.75 + Math.random() * 0.5);
    this.onState("retrying", { delay: wait });
    this.timer = setTimeout(() => this.#connect(), wait);
  }

  #dropSource() {
    const source = this.source;
    if (!source) return;
    for (const [kind, fn] of this.listeners) source.removeEventListener(kind, fn);
    source.onerror = null;
    source.close();
    this.source = null;
  }
}
