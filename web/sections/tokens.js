// Tokens: set or replace the HuggingFace and CivitAI tokens, and see whose account each
// belongs to. The server only ever shows them masked; what the user types is sent once and
// cleared from the input. A saved token is checked against its site at once (HuggingFace's
// whoami, CivitAI's key check), and again on "Check tokens".

import { button, h, problem, replaceChildren } from "../lib/dom.js";

export const tokensSection = { id: "tokens", title: "Tokens", mount };

const TOKENS = [
  { name: "huggingface", label: "HuggingFace", help: "For gated and private repositories (read access is enough)." },
  { name: "civitai", label: "CivitAI", help: "For models that need a login to download." },
];

function mount(body, { store, scope, details, uid }) {
  const message = h("div", { attrs: { role: "status" } });
  const rows = TOKENS.map((spec) => tokenRow(spec));
  const checkAll = button("Check tokens", () => check(), {
    kind: "quiet",
    icon: "pi-verified",
    title: "Ask HuggingFace and CivitAI whose accounts the tokens belong to",
  });
  body.append(
    h("p", { className: "phx-note", text: "Kept in memory and in a file only this machine's user can read; never shown again in full." }),
    ...rows.map((r) => r.element),
    h("div", { className: "phx-row" }, checkAll),
    message,
  );

  async function check() {
    try {
      await store.checkTokens();
    } catch (err) {
      replaceChildren(message, problem(err));
    }
  }

  function tokenRow({ name, label, help }) {
    const id = `${uid}-token-${name}`;
    const current = h("span", { className: "phx-token__current" });
    const account = h("div", { className: "phx-token__account", attrs: { role: "status" } });
    const input = h("input", {
      id,
      type: "password",
      className: "phx-input",
      autocomplete: "off",
      spellcheck: false,
      placeholder: "Paste a new token",
    });
    const save = h("button", { type: "submit", className: "phx-button phx-button--primary", text: "Save" });
    const remove = button("Remove", () => send(null), { kind: "quiet", title: `Remove the ${label} token set here` });
    const form = h(
      "form",
      { className: "phx-token", dataset: { token: name } },
      h("div", { className: "phx-row phx-row--between" }, h("label", { className: "phx-label", htmlFor: id, text: label }), current),
      h("div", { className: "phx-row" }, input, save),
      account,
      h("div", { className: "phx-row phx-row--between" }, h("span", { className: "phx-note", text: help }), remove),
    );

    async function send(value) {
      replaceChildren(message);
      try {
        store.setTokens(await store.client.put("/tokens", { [name]: value ?? "" }));
        message.textContent = value ? `${label} token saved.` : `${label} token removed.`;
      } catch (err) {
        replaceChildren(message, problem(err));
        return;
      } finally {
        input.value = "";
      }
      if (value) {
        replaceChildren(account, h("span", { className: "phx-note", text: `Asking ${label} whose token this is…` }));
        await check();
      }
    }

    scope.listen(form, "submit", (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) {
        replaceChildren(message, problem({ detail: `Paste the ${label} token first.`, hint: null }));
        input.focus();
        return;
      }
      save.disabled = true;
      send(value).finally(() => {
        save.disabled = false;
      });
    });

    function show(tokens) {
      const entry = tokens?.[name];
      current.textContent = entry?.value ? `${entry.value}${entry.source ? ` (${entry.source})` : ""}` : "not set";
      current.classList.toggle("phx-token__current--unset", !entry?.value);
      remove.hidden = entry?.source !== "panel";
      const result = store.tokenChecks?.[name];
      if (!entry?.value || !result) replaceChildren(account);
      else if (result.ok) {
        replaceChildren(account, h("span", { className: "phx-token__ok", text: `✓ ${label} account: ${result.account}` }));
      } else replaceChildren(account, problem(result));
    }
    return { element: form, show };
  }

  const show = (tokens) => {
    rows.forEach((r) => r.show(tokens));
    checkAll.hidden = !TOKENS.some(({ name }) => tokens?.[name]?.value);
  };
  show(store.tokens);
  scope.subscribe(store, "tokens", show);
  const load = () => {
    if (!details.open) return;
    store.loadTokens().catch((err) => replaceChildren(message, problem(err)));
  };
  load();
  scope.listen(details, "toggle", load);
}
