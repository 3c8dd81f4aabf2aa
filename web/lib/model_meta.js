// A model's description as the panel shows it: a preview served by Phoenix (never the source's
// own image host), the name and version, the base model, the trigger words and the licence.
// The preview loads lazily, so a long list fetches only what scrolls into view.

import { badge, h, safeLink } from "./dom.js";

/**
 * The description block, or null when the source said nothing worth showing.
 * @param {object|null|undefined} meta The route's `meta`/`describes` (see sources/model_meta.py).
 * @param {{url: (path: string) => string}} client The Phoenix client (for the preview's URL).
 * @param {{compact?: boolean, name?: string}} [options] `compact` leaves the page link out;
 *   `name` is the file the description belongs to (for the preview's alternative text).
 */
export function describeModel(meta, client, { compact = false, name = "" } = {}) {
  if (!meta || typeof meta !== "object") return null;
  const title = [meta.model_name, meta.version_name].filter(Boolean).join(" · ");
  const facts = [meta.model_type, meta.base_model].filter(Boolean);
  const words = Array.isArray(meta.trigger_words) ? meta.trigger_words : [];
  if (!title && !facts.length && !words.length && !meta.licence && !meta.preview) return null;
  const text = h(
    "div",
    { className: "phx-meta__text" },
    title ? h("div", { className: "phx-meta__title", text: title, title }) : null,
    facts.length || meta.nsfw || meta.gated
      ? h(
          "div",
          { className: "phx-meta__facts" },
          facts.map((fact) => badge(fact, "muted")),
          meta.nsfw ? badge("nsfw", "warn") : null,
          meta.gated ? badge("gated", "warn") : null,
        )
      : null,
    words.length ? triggerWords(words) : null,
    meta.licence ? h("div", { className: "phx-meta__licence", text: `Licence: ${meta.licence}` }) : null,
    !compact && safeLink(meta.page)
      ? h("a", { className: "phx-link", href: safeLink(meta.page), target: "_blank", rel: "noopener noreferrer", text: "Model page" })
      : null,
  );
  return h("div", { className: "phx-meta" }, preview(meta.preview, client, name || title), text);
}

/** A lazily loaded thumbnail from Phoenix's own origin, or null. */
export function preview(path, client, label = "") {
  if (typeof path !== "string" || !path.startsWith("/phoenix/preview?")) return null;
  const image = h("img", {
    className: "phx-meta__preview",
    src: client.url(path),
    alt: label ? `Preview of ${label}` : "Preview",
    loading: "lazy",
    decoding: "async",
    width: 56,
    height: 56,
    draggable: false,
  });
  // A preview Phoenix could not fetch leaves no broken image behind.
  image.addEventListener("error", () => image.remove(), { once: true });
  return image;
}

function triggerWords(words) {
  return h(
    "div",
    { className: "phx-meta__words", attrs: { "aria-label": "Trigger words" } },
    h("span", { className: "phx-label", text: "Trigger words:" }),
    words.map((word) => h("code", { className: "phx-meta__word", text: word })),
  );
}
