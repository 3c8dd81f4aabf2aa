// The open workflow's models, as Phoenix's server plans them: what each need is, whether
// it is here, missing, gated or unusable, and the jobs that fetch the missing ones.
//
// One plan per open workflow, shared by the panel's section and the missing-models offer.
// It is asked for when a workflow loads (ComfyUI's afterConfigureGraph hook) and someone
// wants it, on Rescan, and after a download of one of its files ends: never on a timer.

const STATES = ["present", "missing", "gated", "problem"];

export class WorkflowModels {
  /**
   * @param {{client: object, host: object, store: import("./store.js").PhoenixStore}} deps
   */
  constructor({ client, host, store }) {
    this.client = client;
    this.host = host;
    this.store = store;
    /** The server's plan: `{needs, problems, missing_bytes, counts}`, or null before one. */
    this.plan = null;
    this.error = null;
    this.checking = false;
    this.pending = null;
    this.generation = 0;
  }

  /** Plan the open workflow now; a later call wins over an earlier one still on its way. */
  check() {
    const mine = ++this.generation;
    this.checking = true;
    this.pending = this.#ask(mine);
    this.#emit();
    return this.pending;
  }

  /** The plan of the open workflow: the one at hand, the one on its way, or a new one. */
  ensure() {
    if (this.checking && this.pending) return this.pending;
    return this.plan ? Promise.resolve(this.plan) : this.check();
  }

  async #ask(mine) {
    let plan = null;
    let error = null;
    try {
      plan = await this.client.post("/workflow/plan", { workflow: this.host.currentWorkflow() });
    } catch (err) {
      error = err;
    }
    if (mine === this.generation) {
      this.plan = plan;
      this.error = error;
      this.checking = false;
      this.pending = null;
      this.#emit();
    }
    return plan;
  }

  /** Another workflow is open: forget the old plan (the section shows the new one). */
  invalidate() {
    this.generation += 1;
    this.plan = null;
    this.error = null;
    this.checking = false;
    this.pending = null;
    this.#emit();
  }

  /** Queue every missing file on the server; the jobs join the download list at once. */
  async fetchMissing() {
    const answer = await this.client.post("/workflow/fetch", { workflow: this.host.currentWorkflow() });
    for (const job of answer.jobs ?? []) this.store.applyJob(job);
    this.generation += 1;
    this.plan = answer;
    this.error = null;
    this.checking = false;
    this.pending = null;
    this.#emit();
    return answer;
  }

  /** The needs in one state. */
  needs(state) {
    return (this.plan?.needs ?? []).filter((need) => need.state === state);
  }

  /** Whether a finished job placed one of this plan's files (then the plan is stale). */
  concerns(job) {
    return (this.plan?.needs ?? []).some((need) => need.files.some((f) => f.relpath === job.relpath));
  }

  #emit() {
    this.store.emit("workflow", this);
  }
}

/** The job fetching `file` (a plan item), if the download list has one. */
export function jobFor(store, file) {
  let found = null;
  for (const job of store.jobs.values()) {
    if (job.relpath === file.relpath && (!found || job.created > found.created)) found = job;
  }
  return found;
}

/** Counts by state, for sentences. */
export function countStates(plan) {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const need of plan?.needs ?? []) counts[need.state] = (counts[need.state] ?? 0) + 1;
  return counts;
}

/** The name a need is shown by: the file the workflow names, or what its reference fetches. */
export function needTitle(need) {
  if (need.kind === "model") return need.name.split("/").pop();
  if (need.files?.length === 1) return need.files[0].filename;
  const body = (need.ref ?? "").split("::")[0].replace(/^(hf|civitai):/, "");
  return body.split("?")[0].split("/").filter(Boolean).pop() || need.ref;
}
