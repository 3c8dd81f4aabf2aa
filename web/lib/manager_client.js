// The model manager's routes, over the panel's Phoenix client: search, a model's versions and
// files, lookups by hash and moves. Nothing here runs by itself: every call is a user's action.

import { encodePath } from "./api.js";

/** @param {ReturnType<import("./api.js").createClient>} client */
export function managerClient(client) {
  return {
    /** One page of models: `{results, next}`. */
    search({ source, query, type = "", nsfw = false, cursor = null }) {
      const params = new URLSearchParams({ source, q: query });
      if (type) params.set("type", type);
      if (nsfw) params.set("nsfw", "1");
      if (cursor) params.set("cursor", cursor);
      return client.get(`/search?${params}`);
    },
    /** A model's versions and files: `{versions: [{id, name, meta, files}], selected_file}`. */
    choices(ref, { nsfw = false } = {}) {
      const params = new URLSearchParams({ ref });
      if (nsfw) params.set("nsfw", "1");
      return client.get(`/choices?${params}`);
    },
    lookupProgress: () => client.get("/lookup"),
    /** Look up some models (`folder/name`), or every unknown one when `models` is empty. */
    lookup(models = []) {
      return client.post("/lookup", models.length ? { models } : { all: true });
    },
    move(folder, name, toFolder, toName) {
      const path = `/models/${encodeURIComponent(folder)}/${encodePath(name)}/move`;
      return client.post(path, { to_folder: toFolder, to_name: toName });
    },
  };
}
