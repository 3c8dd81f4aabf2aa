// This workflow's models: what the open workflow needs (Phoenix nodes' references and the
// workflow's model metadata), which are missing, and one action to fetch them all.

import { badge, button, h, problem, replaceChildren } from "../lib/dom.js";

export const workflowSection = { id: "workflow", title: "This workflow's models", mount };

function mount(body, { store, host, scope, details }) {
  const list = h("ul", { className: "phx-list", attrs: { "aria-label": "Models this workflow needs" } });
  const note = h("div", { className: "phx-note", attrs: { role: "status" } });
  const problems = h("div");
  const fetchAll = button("Fetch all missing", fetchMissing, { kind: "primary", icon: "pi-download" });
  const rescan = button("Rescan", () => scan(), { kind: "quiet", icon: "pi-refresh", title: "Scan the open workflow again" });
  body.append(h("div", { className: "phx-row" }, fetchAll, rescan), note, list, problems);
  // Check results survive reopening the tab; a rescan refreshes them.
  const checks = (store.ui.workflowChecks ??= new Map());
  let entries = [];
  let generation = 0;

  async function scan() {
    const found = host.workflowModels();
    entries = [
      ...found.references.map((r) => ({ kind: "ref", key: `ref:${r.ref}`, label: r.ref, ref: r.ref, node: r.node })),
      ...found.metadata.map((m) => ({
        kind: "meta",
        key: `meta:${m.directory}/${m.name}`,
        label: m.name,
        ref: m.directory ? `${m.url}::${m.directory}` : m.url,
        directory: m.directory,
        name: m.name,
        node: m.node,
      })),
    ];
    replaceChildren(problems);
    const mine = ++generation;
    render();
    if (!entries.length) return;
    await check(mine);
  }

  async function check(mine) {
    const library = store.library ?? (await store.loadLibrary());
    checkMetadata(library);
    await Promise.all(entries.filter((e) => e.kind === "ref").map(checkReference));
    if (mine === generation) render();
  }

  /** Metadata entries are present when the library lists that name in that folder. */
  function checkMetadata(library) {
    for (const entry of entries) {
      if (entry.kind !== "meta") continue;
      const files = library?.folders?.[entry.directory] ?? [];
      checks.set(entry.key, { present: files.some((f) => f.name === entry.name) });
    }
  }

  /** References are present when every file they resolve to is already on disk. */
  async function checkReference(entry) {
    checks.set(entry.key, { checking: true });
    try {
      const plan = await store.client.post("/resolve", { refs: [entry.ref] });
      const files = plan.files ?? [];
      const error = plan.problems?.[0] ?? null;
      checks.set(entry.key, { present: !error && files.length > 0 && files.every((f) => f.present), error });
    } catch (err) {
      checks.set(entry.key, { error: err });
    }
  }

  async function fetchMissing() {
    const refs = entries.filter((e) => checks.get(e.key)?.present === false).map((e) => e.ref);
    replaceChildren(problems);
    if (!refs.length) {
      note.textContent = "Nothing is missing.";
      return;
    }
    try {
      const answer = await store.submit(refs);
      note.textContent = `${(answer.jobs ?? []).length} downloads queued.`;
      for (const p of answer.problems ?? []) problems.append(problem(p, { ref: p.ref }));
    } catch (err) {
      problems.append(problem(err));
    }
  }

  function render() {
    replaceChildren(list, entries.map((entry) => row(entry, checks.get(entry.key))));
    const missing = entries.filter((e) => checks.get(e.key)?.present === false).length;
    fetchAll.hidden = missing === 0;
    if (!entries.length) note.textContent = "The open workflow names no models Phoenix can fetch.";
    else note.textContent = missing ? `${missing} of ${entries.length} missing.` : `${entries.length} models named.`;
  }

  // Scanning resolves references over the network: only while the section is open.
  if (details.open) scan();
  scope.listen(details, "toggle", () => {
    if (details.open) scan();
  });
  // A finished download reloads the library: look again at what was missing.
  scope.subscribe(store, "library", async (library) => {
    if (!entries.length) return;
    const mine = generation;
    checkMetadata(library);
    const missing = entries.filter((e) => e.kind === "ref" && checks.get(e.key)?.present === false);
    await Promise.all(missing.map(checkReference));
    if (mine === generation) render();
  });
}

function row(entry, state) {
  let status;
  if (!state || state.checking) status = badge("checking", "muted");
  else if (state.error) status = badge("problem", "error");
  else status = state.present ? badge("present", "ok") : badge("missing", "warn");
  return h(
    "li",
    { className: "phx-item" },
    h("div", { className: "phx-item__top" }, h("span", { className: "phx-item__name", text: entry.label, title: entry.ref }), status),
    h("div", { className: "phx-item__sub", text: entry.directory ? `${entry.directory} · ${entry.node}` : entry.node }),
    state?.error ? problem(state.error) : null,
  );
}
