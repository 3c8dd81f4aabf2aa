// A thin client over ComfyUI's api.fetchApi for Phoenix's routes (served under /api/phoenix/).

/** An error a Phoenix route answered with: `detail` says what went wrong, `hint` what to do. */
export class PhoenixApiError extends Error {
  constructor({ error = "error", detail, hint = null, licence_url = null, status = 0, ref = null } = {}) {
    super(detail || "Phoenix answered with an error.");
    this.name = "PhoenixApiError";
    this.error = error;
    this.detail = this.message;
    this.hint = hint;
    this.licence_url = licence_url;
    this.status = status;
    this.ref = ref;
  }
}

const NETWORK_ERROR = {
  error: "network",
  detail: "ComfyUI did not answer.",
  hint: "Check that ComfyUI is still running, then try again.",
};

/**
 * Build the client.
 * @param {{fetchApi: Function, apiURL: Function}} api ComfyUI's api object.
 */
export function createClient(api) {
  async function request(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await api.fetchApi(`/phoenix${path}`, init);
    } catch {
      throw new PhoenixApiError(NETWORK_ERROR);
    }
    const data = await readJson(response);
    if (!response.ok) throw errorFrom(response, data);
    return data;
  }

  return {
    get: (path) => request("GET", path),
    post: (path, body) => request("POST", path, body),
    put: (path, body) => request("PUT", path, body),
    del: (path) => request("DELETE", path),
    /** The absolute events URL (EventSource does not go through fetchApi). */
    eventsUrl: () => api.apiURL("/phoenix/events"),
    /** The absolute URL of a Phoenix path (an image's src: it does not go through fetchApi). */
    url: (path) => api.apiURL(path),
  };
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

function errorFrom(response, data) {
  const status = response.status;
  if (data && typeof data === "object" && typeof data.detail === "string" && data.error) {
    return new PhoenixApiError({ ...data, status });
  }
  if (Array.isArray(data?.problems) && data.problems.length) {
    // A submission where every reference failed: the first problem speaks for the rest.
    const err = new PhoenixApiError({ ...data.problems[0], status });
    err.problems = data.problems;
    return err;
  }
  if (status === 404) {
    return new PhoenixApiError({
      error: "not_found",
      detail: "This Phoenix route does not exist on the server.",
      hint: "Update Phoenix and restart ComfyUI.",
      status,
    });
  }
  if (status === 401 || status === 403) {
    return new PhoenixApiError({
      error: "forbidden",
      detail: "The server refused this request.",
      hint: "Log in again, or use this action from the machine ComfyUI runs on.",
      status,
    });
  }
  return new PhoenixApiError({
    error: `http_${status}`,
    detail: `Phoenix answered ${status} ${response.statusText || ""}`.trim() + ".",
    hint: "Try again; if it repeats, check the ComfyUI log.",
    status,
  });
}

/** Encode each segment of a relative path for use in a URL path. */
export function encodePath(path) {
  return String(path).split("/").map(encodeURIComponent).join("/");
}
