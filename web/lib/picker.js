// The version and file picker: a model's versions and each version's files (type, format,
// size, precision, bytes, primary), to pick one before anything is fetched. The reference it
// hands back plans exactly the picked file.

import { button, h, problem, replaceChildren } from "./dom.js";
import { formatBytes } from "./format.js";
import { managerClient } from "./manager_client.js";
import { describeModel } from "./model_meta.js";

let pickers = 0;

/**
 * The picker for the model `ref` names; it loads when it is made.
 * @param {{store: object, ref: string, nsfw?: boolean, onPick: (ref: string) => void}} options
 * @returns {HTMLElement}
 */
export function pickerBlock({ store, ref, nsfw = false, onPick, focus = false }) {
  const uid = `phx-pick-${++pickers}`;
  const box = h("div", { className: "phx-picker", attrs: { role: "group", "aria-label": "Versions and files", "aria-busy": "true" } });
  box.append(h("div", { className: "phx-note", text: "Loading versions and files…" }));
  managerClient(store.client)
    .choices(ref, { nsfw })
    .then((choices) => render(box, choices, { store, uid, onPick, focus }))
    .catch((err) => replaceChildren(box, problem(err)))
    .finally(() => box.removeAttribute("aria-busy"));
  return box;
}

function render(box, choices, { store, uid, onPick, focus }) {
  const versions = choices.versions ?? [];
  if (!versions.length) {
    replaceChildren(box, h("div", { className: "phx-note", text: "This model has no published version." }));
    return;
  }
  let version = versions.find((v) => v.id === choices.selected_version) ?? versions[0];
  let chosen = choices.selected_file;
  const select = h("select", { id: `${uid}-version`, className: "phx-select" });
  for (const v of versions) {
    const base = v.meta?.base_model ? ` — ${v.meta.base_model}` : "";
    select.append(h("option", { value: v.id, text: `${v.name || v.id}${base}` }));
  }
  select.value = version.id;
  const about = h("div", { className: "phx-picker__about" });
  const files = h("fieldset", { className: "phx-picker__files" });
  const use = button("Use this file", () => chosen && onPick(chosen), { kind: "primary", className: "phx-picker__use" });

  const showVersion = () => {
    replaceChildren(about, describeModel(version.meta, store.client));
    const list = version.files ?? [];
    if (!list.some((f) => f.ref === chosen)) chosen = (list.find((f) => f.primary) ?? list[0])?.ref ?? null;
    replaceChildren(
      files,
      h("legend", { className: "phx-label", text: "File" }),
      list.length ? list.map((file) => fileOption(file, uid, file.ref === chosen)) : h("div", { className: "phx-note", text: "No files." }),
    );
    use.disabled = !chosen;
  };
  select.addEventListener("change", () => {
    version = versions.find((v) => v.id === select.value) ?? versions[0];
    showVersion();
  });
  files.addEventListener("change", (event) => {
    if (event.target?.name === uid) chosen = event.target.value;
    use.disabled = !chosen;
  });
  replaceChildren(
    box,
    h("div", { className: "phx-row" }, h("label", { className: "phx-label phx-label--inline", htmlFor: select.id, text: "Version" }), select),
    about,
    files,
    use,
  );
  showVersion();
  // Opened from a button that is gone now: the keyboard carries on in the picker.
  if (focus && box.isConnected) select.focus();
}

function fileOption(file, uid, checked) {
  const id = `${uid}-${file.id ?? file.path ?? file.name}`.replace(/[^\w-]/g, "_");
  const details = [file.type, file.format, file.size, file.fp, file.bytes ? formatBytes(file.bytes) : null, file.primary ? "primary" : null].filter(Boolean);
  return h(
    "div",
    { className: "phx-picker__file" },
    h("input", { type: "radio", id, name: uid, value: file.ref, checked }),
    h(
      "label",
      { htmlFor: id },
      h("span", { className: "phx-item__name", text: file.path || file.name, title: file.path || file.name }),
      h("span", { className: "phx-picker__details", text: details.join(" · ") }),
    ),
  );
}

/**
 * A button that opens the picker below itself, for a checked plan whose one reference names a
 * model with versions (CivitAI) or a repository (HuggingFace); null for anything else.
 */
export function choicesOffer(plan, { store, onPick }) {
  const refs = plan?.refs ?? [];
  const files = plan?.files ?? [];
  if (refs.length !== 1 || !files.length || !files.every((f) => f.source === "civitai" || f.source === "huggingface")) return null;
  const box = h("div", { className: "phx-picker-offer" });
  const open = button("Other versions and files", () => {
    open.remove();
    box.append(pickerBlock({ store, ref: refs[0], onPick, focus: true }));
  }, { kind: "quiet", icon: "pi-list", className: "phx-picker__open" });
  box.append(open);
  return box;
}
