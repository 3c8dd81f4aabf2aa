// Small DOM helpers. Text always goes in through textContent: data never becomes markup.

/**
 * Create an element.
 * @param {string} tag
 * @param {object} [props] className, text, attrs {name: value}, dataset, on {event: fn}, and
 *   plain properties (type, value, disabled, title, ...).
 * @param {...(Node|string|null|undefined|false|Array)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === "className") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "attrs") for (const [a, v] of Object.entries(value)) setAttr(node, a, v);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

function setAttr(node, name, value) {
  if (value === false || value === null || value === undefined) node.removeAttribute(name);
  else node.setAttribute(name, value === true ? "" : String(value));
}

/** Append children, flattening arrays and skipping empty values; strings become text nodes. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace every child of `parent`. */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A button; `onClick` may be async: the button stays disabled while it runs. */
export function button(label, onClick, { className = "", title, icon, kind = "" } = {}) {
  const node = h("button", {
    type: "button",
    className: ["phx-button", kind && `phx-button--${kind}`, className].filter(Boolean).join(" "),
    title,
    attrs: title ? { "aria-label": title } : undefined,
  });
  if (icon) node.append(h("i", { className: `pi ${icon}`, attrs: { "aria-hidden": "true" } }));
  if (label) node.append(h("span", { text: label }));
  node.addEventListener("click", async (event) => {
    if (node.disabled) return;
    node.disabled = true;
    try {
      await onClick(event);
    } finally {
      node.disabled = false;
    }
  });
  return node;
}

/** A progress bar with the ARIA attributes screen readers announce; see setProgress. */
export function progressBar(fraction, label) {
  const bar = h("div", {
    className: "phx-progress",
    attrs: { role: "progressbar", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": "100" },
  });
  bar.append(h("div", { className: "phx-progress__fill" }));
  return setProgress(bar, fraction);
}

/** Move a progress bar; a null fraction shows an indeterminate bar. */
export function setProgress(bar, fraction) {
  const known = fraction !== null && fraction !== undefined && Number.isFinite(fraction);
  const pct = known ? Math.max(0, Math.min(1, fraction)) * 100 : 0;
  bar.classList.toggle("phx-progress--unknown", !known);
  if (known) bar.setAttribute("aria-valuenow", pct.toFixed(0));
  else bar.removeAttribute("aria-valuenow");
  bar.firstChild.style.width = known ? `${pct.toFixed(1)}%` : "";
  return bar;
}

/** A one-sentence problem: detail, hint and the licence link when the source gave one. */
export function problem(error, { ref } = {}) {
  const box = h("div", { className: "phx-problem", attrs: { role: "alert" } });
  if (ref) box.append(h("div", { className: "phx-problem__ref", text: ref }));
  box.append(h("div", { className: "phx-problem__detail", text: error?.detail || error?.message || "Something went wrong." }));
  if (error?.hint) box.append(h("div", { className: "phx-problem__hint", text: error.hint }));
  const link = safeLink(error?.licence_url);
  if (link) {
    box.append(
      h("a", { className: "phx-link", href: link, target: "_blank", rel: "noopener noreferrer", text: "Open the licence page" }),
    );
  }
  return box;
}

/** `url` if it is an http(s) address, else null (never a javascript: link). */
export function safeLink(url) {
  if (typeof url !== "string") return null;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A small uppercase badge, e.g. a job state. */
export function badge(text, kind = "") {
  return h("span", { className: `phx-badge${kind ? ` phx-badge--${kind}` : ""}`, text });
}
