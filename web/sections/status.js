// Status: GPU, VRAM and utilisation, RAM, disks (warning when low), health, and the boot
// report — all from the `status` events the stream sends every few seconds.

import { badge, h, replaceChildren } from "../lib/dom.js";
import { formatBytes, formatSpeed } from "../lib/format.js";

export const statusSection = { id: "status", title: "Status", mount };

const DISK_LABELS = { models: "Models", input: "Input", output: "Output", container: "Container", root: "System" };

function mount(body, { store, scope }) {
  const content = h("div", { className: "phx-status" });
  const health = h("div", { className: "phx-status__group" });
  body.append(content);

  function render(status) {
    if (!status) {
      replaceChildren(content, h("div", { className: "phx-note", text: "Waiting for the first reading…" }));
      return;
    }
    replaceChildren(
      content,
      group("GPU", gpuRows(status.gpu)),
      group("Memory", memoryRows(status.system)),
      group("Disks", diskRows(status.disks)),
      health,
      status.boot ? group("Boot", bootRows(status.boot)) : null,
    );
    renderHealth();
  }

  // Health follows the live job list and the connection, not only the periodic reading.
  function renderHealth() {
    if (!store.status) return;
    replaceChildren(health, h("h4", { className: "phx-status__title", text: "Health" }), healthRows(store.status, store));
  }

  render(store.status);
  scope.subscribe(store, "status", render);
  scope.subscribe(store, "jobs", renderHealth);
  scope.subscribe(store, "connection", renderHealth);
}

function group(title, rows) {
  return h("div", { className: "phx-status__group" }, h("h4", { className: "phx-status__title", text: title }), rows);
}

/** A labelled gauge; turns amber above 85% and red above 95% (or when `alert`). */
export function gauge(label, fraction, text, { alert = false } = {}) {
  const known = Number.isFinite(fraction);
  const pct = known ? Math.max(0, Math.min(1, fraction)) * 100 : 0;
  const level = alert || pct >= 95 ? "error" : pct >= 85 ? "warn" : "ok";
  return h(
    "div",
    { className: `phx-gauge phx-gauge--${level}` },
    h("div", { className: "phx-gauge__label" }, h("span", { text: label }), h("span", { className: "phx-gauge__value", text })),
    h(
      "div",
      {
        className: "phx-gauge__track",
        attrs: { role: "meter", "aria-label": label, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": known ? pct.toFixed(0) : false, "aria-valuetext": text },
      },
      h("div", { className: "phx-gauge__fill", style: `width:${pct.toFixed(1)}%` }),
    ),
  );
}

function gpuRows(gpu) {
  if (!gpu?.available || !gpu.gpus?.length) {
    return h("div", { className: "phx-note", text: gpu?.reason || "No GPU reading." });
  }
  return gpu.gpus.map((g) => {
    const vram = g.vram_total ? g.vram_used / g.vram_total : NaN;
    const extras = [
      g.temperature_c !== null && g.temperature_c !== undefined ? `${g.temperature_c} °C` : null,
      g.power_w ? `${Math.round(g.power_w)} W${g.power_limit_w ? ` of ${Math.round(g.power_limit_w)} W` : ""}` : null,
      g.sm,
    ].filter(Boolean);
    return h(
      "div",
      { className: "phx-gpu" },
      h("div", { className: "phx-gpu__name", text: g.name || `GPU ${g.index}` }),
      gauge("VRAM", vram, g.vram_total ? `${formatBytes(g.vram_used)} of ${formatBytes(g.vram_total)}` : "?"),
      gauge("Utilisation", (g.utilization_gpu ?? NaN) / 100, g.utilization_gpu !== null && g.utilization_gpu !== undefined ? `${g.utilization_gpu}%` : "?"),
      extras.length ? h("div", { className: "phx-note", text: extras.join(" · ") }) : null,
    );
  });
}

function memoryRows(system) {
  const memory = system?.memory;
  if (!memory?.total) return h("div", { className: "phx-note", text: "No reading." });
  return gauge("RAM", memory.used / memory.total, `${formatBytes(memory.used)} of ${formatBytes(memory.total)}`);
}

function diskRows(disks) {
  const entries = Object.entries(disks ?? {}).filter(([, d]) => d.exists !== false);
  if (!entries.length) return h("div", { className: "phx-note", text: "No reading." });
  // Several names often share one filesystem: show it once, under all its names.
  const byFs = new Map();
  for (const [name, disk] of entries) {
    const key = disk.error ? `${name}:error` : `${disk.total}:${disk.used}`;
    const seen = byFs.get(key);
    if (seen) seen.names.push(name);
    else byFs.set(key, { names: [name], disk });
  }
  return [...byFs.values()].map(({ names, disk }) => {
    const label = names.map((n) => DISK_LABELS[n] ?? n).join(", ");
    if (disk.error) return h("div", { className: "phx-note", text: `${label}: ${disk.error}` });
    const row = gauge(label, disk.used / disk.total, `${formatBytes(disk.free)} free of ${formatBytes(disk.total)}`, { alert: disk.low });
    row.title = disk.path;
    if (disk.low) {
      row.append(
        h("div", { className: "phx-warning", attrs: { role: "alert" }, text: `Low disk space: only ${formatBytes(disk.free)} left. Delete models you no longer need.` }),
      );
    }
    return row;
  });
}

function healthRows(status, store) {
  // Job counts from the live list: the status reading can be a couple of seconds old.
  const jobs = [...store.jobs.values()];
  const active = jobs.filter((j) => j.state === "downloading");
  const speed = active.reduce((sum, j) => sum + (j.speed || 0), 0);
  const failures = jobs.filter((j) => j.state === "failed").length;
  const facts = [
    ["Phoenix", `${status.version ?? "?"}${status.engine ? ` · ${status.engine} engine` : ""}`],
    ["Events", store.connection.state === "open" ? "live" : store.connection.state],
    ["Downloads", active.length ? `${active.length} active${speed ? ` · ${formatSpeed(speed)}` : ""}` : "idle"],
    ["Finished", String(jobs.filter((j) => j.state === "done").length)],
  ];
  return [
    h("dl", { className: "phx-facts" }, facts.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])),
    failures ? h("div", { className: "phx-warning", text: `${failures} failed ${failures === 1 ? "download" : "downloads"}: see Downloads.` }) : null,
  ];
}

/** The bootstrap's report: an error, or steps/checks with an outcome each, and chosen flags. */
function bootRows(boot) {
  if (boot.error) return h("div", { className: "phx-warning", text: String(boot.error) });
  const rows = [];
  for (const key of ["steps", "checks"]) {
    if (!Array.isArray(boot[key])) continue;
    rows.push(
      h(
        "ul",
        { className: "phx-list phx-boot" },
        boot[key].map((item) => {
          const ok = item.ok ?? (item.status ? ["ok", "done", "passed", "skipped"].includes(item.status) : undefined);
          return h(
            "li",
            { className: "phx-boot__item" },
            h("span", { text: item.name ?? item.step ?? item.check ?? "?" }),
            ok === undefined ? null : badge(item.status ?? (ok ? "ok" : "failed"), ok ? "ok" : "error"),
            item.detail || item.reason || item.message ? h("div", { className: "phx-item__why", text: item.detail || item.reason || item.message }) : null,
          );
        }),
      ),
    );
  }
  const flags = boot.flags ?? boot.comfyui_args ?? boot.args;
  if (flags) {
    const text = Array.isArray(flags)
      ? flags.map((f) => (typeof f === "string" ? f : [f.flag ?? f.name, f.reason ?? f.why].filter(Boolean).join(": "))).join("\n")
      : typeof flags === "object"
        ? Object.entries(flags).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n")
        : String(flags);
    rows.push(h("pre", { className: "phx-pre", text }));
  }
  return rows.length ? rows : h("div", { className: "phx-note", text: "The boot report is empty." });
}
