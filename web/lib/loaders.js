// How a finished job's file is named in a loader's list. Which loader node loads a file is
// the plan's word (`job.loader`: node type, input, other inputs, the group of files that
// share one node), decided on the server from the folder and what the source knows.

/** The name ComfyUI lists a file under in its folder: `subfolder/filename`. */
export function modelName(job) {
  return [job.subfolder, job.filename].filter(Boolean).join("/");
}

/** Find `name` among a combo's options, tolerating Windows separators. */
export function matchOption(values, name) {
  if (!Array.isArray(values)) return null;
  const wanted = String(name).replaceAll("\\", "/");
  return values.find((v) => typeof v === "string" && v.replaceAll("\\", "/") === wanted) ?? null;
}
