// Stand-in for ComfyUI's scripts/api.js: only the documented surface the panel uses.
// fetchApi(route, init) fetches "/api" + route with cache "no-cache"; apiURL adds the prefix;
// the api is an EventTarget for the websocket's custom events.

class StandInApi extends EventTarget {
  constructor() {
    super();
    this.api_base = "";
  }

  apiURL(route) {
    return `${this.api_base}/api${route}`;
  }

  fileURL(route) {
    return `${this.api_base}${route}`;
  }

  fetchApi(route, options = {}) {
    const headers = { ...(options.headers ?? {}) };
    return fetch(this.apiURL(route), { cache: "no-cache", ...options, headers });
  }
}

export const api = new StandInApi();
window.__harness = window.__harness ?? {};
window.__harness.api = api;
