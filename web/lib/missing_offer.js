// ComfyUI's missing-models moment, served from the server: when a loaded workflow lacks
// models, ComfyUI's own warning offers downloads to the browser's machine (a pod's user
// gets them in a laptop's Downloads folder). Phoenix offers, beside it, to download them
// onto the server, verified, into the folders ComfyUI loads from; progress shows in the
// panel's "This workflow's models".
//
// Only public frontend API is used: the afterConfigureGraph extension hook (every frontend
// since 1.2), a setting of Phoenix's own to turn the offer off, the settings, toast and
// sidebar APIs. ComfyUI's warning itself is not touched: on frontends where it is a modal
// dialog the offer is a modal <dialog> too, in the top layer above it, so it takes clicks
// and keys; where the frontend has a setting for its warning, the offer lets the user
// turn it off (feature-detected by the setting's presence), so only the server's remains.

import { badge, button, h, problem, replaceChildren } from "./dom.js";
import { formatBytes } from "./format.js";
import { needTitle } from "./workflow_models.js";

export const OFFER_SETTING = "Phoenix.Workflow.OfferServerDownload";
/** ComfyUI's own setting for its missing-models warning, by frontend generation. */
const STOCK_WARNING_SETTINGS = ["Comfy.Workflow.ShowMissingModelsWarning", "Comfy.ErrorSystem.ShowMissingModels"];

/**
 * @param {{store: object, host: object, models: import("./workflow_models.js").WorkflowModels,
 *          reveal: () => void}} deps `reveal` opens the panel at "This workflow's models".
 */
export function createOffer({ store, host, models, reveal }) {
  const declined = new Set();
  let open = null;

  /** A workflow loaded: plan it if the offer is wanted, and offer what is missing. */
  async function workflowLoaded() {
    models.invalidate();
    if (host.setting(OFFER_SETTING, true) === false) return;
    const plan = await models.ensure();
    const missing = (plan?.needs ?? []).filter((need) => need.state === "missing");
    if (!missing.length || open) return;
    const key = missing.map((need) => need.files.map((f) => f.relpath).join("+")).sort().join("|");
    if (declined.has(key)) return;
    show(plan, missing, () => declined.add(key));
  }

  function show(plan, missing, decline) {
    if (typeof HTMLDialogElement !== "function" || !("showModal" in HTMLDialogElement.prototype)) {
      host.toast("info", "Models missing", "Open Phoenix to download this workflow's models on the server.");
      return;
    }
    const titleId = `phx-workflow-offer-${Date.now()}`;
    const files = missing.flatMap((need) => need.files.filter((f) => !f.present).map((f) => ({ need, file: f })));
    const trouble = h("div");
    const download = button("Download on the server", async () => {
      replaceChildren(trouble);
      try {
        const answer = await models.fetchMissing();
        const queued = (answer.jobs ?? []).length;
        close();
        store.ui.open.add("workflow");
        reveal();
        host.toast("info", "Downloading on the server", `${queued} ${queued === 1 ? "file is" : "files are"} on the way; progress is in Phoenix's panel.`);
      } catch (err) {
        trouble.append(problem(err));
      }
    }, { kind: "primary", icon: "pi-download", className: "phx-workflow-offer__download" });
    const inPanel = button("Show in Phoenix", () => {
      close();
      store.ui.open.add("workflow");
      reveal();
    }, { kind: "quiet" });
    const later = button("Not now", () => {
      decline();
      close();
    }, { kind: "quiet" });
    const elsewhere = [...(plan.needs ?? []).filter((n) => n.state === "gated" || n.state === "problem")];
    const stock = stockWarning();
    const dialog = h(
      "dialog",
      { className: "phx-workflow-offer", attrs: { "aria-labelledby": titleId } },
      h(
        "div",
        { className: "phx-panel phx-workflow-offer__body" },
        h("h2", { className: "phx-title", id: titleId, text: "Download this workflow's models on the server?" }),
        h("p", { className: "phx-workflow-offer__text", text: sentence(files.length, plan.missing_bytes) }),
        h(
          "ul",
          { className: "phx-list phx-workflow-offer__files", attrs: { "aria-label": "Missing files" } },
          files.map(({ need, file }) =>
            h(
              "li",
              { className: "phx-subitem" },
              h("span", { text: file.relpath }),
              h("span", { text: formatBytes(file.size) }),
              need.kind === "model" ? null : h("span", { className: "phx-item__sub", text: needTitle(need) }),
            ),
          ),
        ),
        elsewhere.length ? h("p", { className: "phx-note", text: "Phoenix cannot fetch these yet:" }) : null,
        elsewhere.map((need) =>
          h(
            "div",
            { className: "phx-workflow-offer__blocked" },
            h("div", { className: "phx-item__top" }, h("span", { className: "phx-item__name", text: needTitle(need) }), badge(need.state, "error")),
            problem(need.error),
          ),
        ),
        stock ? stock.element : null,
        trouble,
        h("div", { className: "phx-row" }, download, inPanel, later),
      ),
    );
    // Escape answers "Not now" here; ComfyUI's own dialog underneath keeps its own Escape.
    dialog.addEventListener("keydown", (event) => {
      if (event.key === "Escape") event.stopPropagation();
    });
    dialog.addEventListener("cancel", decline);
    dialog.addEventListener("close", () => {
      stock?.apply();
      dialog.remove();
      if (open === dialog) open = null;
    });
    function close() {
      if (dialog.open) dialog.close();
    }
    open = dialog;
    document.body.append(dialog);
    dialog.showModal();
    download.focus();
  }

  /**
   * A choice to hide ComfyUI's own missing-models warning (its downloads go to this browser),
   * where the frontend has that setting; null where it has none.
   */
  function stockWarning() {
    const id = STOCK_WARNING_SETTINGS.find((key) => typeof host.setting(key, undefined) === "boolean");
    if (!id || host.setting(id, true) === false) return null;
    const box = h("input", { type: "checkbox", className: "phx-workflow-offer__stock" });
    const element = h(
      "label",
      { className: "phx-note phx-workflow-offer__choice" },
      box,
      h("span", { text: "From now on, only Phoenix's offer: hide ComfyUI's missing-models warning (its downloads go to this browser)." }),
    );
    return { element, apply: () => (box.checked ? host.setSetting(id, false) : null) };
  }

  /** The command's action: offer the open workflow's missing models now, declined or not. */
  async function offerNow() {
    const plan = await models.check();
    const missing = (plan?.needs ?? []).filter((need) => need.state === "missing");
    if (!missing.length) {
      host.toast("info", "Nothing to download", "Every model this workflow names that Phoenix can fetch is here.");
      return;
    }
    if (!open) show(plan, missing, () => {});
  }

  return { workflowLoaded, offerNow };
}

function sentence(count, bytes) {
  const files = count === 1 ? "1 file this workflow needs is" : `${count} files this workflow needs are`;
  const them = count === 1 ? "it" : "them";
  const size = bytes ? ` (${formatBytes(bytes)})` : "";
  return `${files} not on this server${size}. Phoenix can download ${them} here, verified, into the folders ComfyUI loads from — not into this browser's Downloads folder.`;
}
