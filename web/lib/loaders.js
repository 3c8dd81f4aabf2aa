// How a finished job's file is named in a loader's list. Which loader node loads a file is
// the plan's word (`job.loader`: node type, input, other inputs, the group of files that
// share one node), decided on the server from the folder and what the source knows.

/**
 * The core loader of each model folder, for a Library file dragged onto the canvas (a
 * finished job's loader comes with the job). The same table as the server's
 * `FOLDER_LOADERS` (comfyui_phoenix/loaders.py); tests/test_loaders_table.py keeps them equal.
 */
export const FOLDER_LOADERS = {
  checkpoints: { type: "CheckpointLoaderSimple", widget: "ckpt_name" },
  diffusion_models: { type: "UNETLoader", widget: "unet_name" },
  loras: { type: "LoraLoader", widget: "lora_name" },
  vae: { type: "VAELoader", widget: "vae_name" },
  text_encoders: { type: "CLIPLoader", widget: "clip_name" },
  controlnet: { type: "ControlNetLoader", widget: "control_net_name" },
  upscale_models: { type: "UpscaleModelLoader", widget: "model_name" },
  clip_vision: { type: "CLIPVisionLoader", widget: "clip_name" },
  style_models: { type: "StyleModelLoader", widget: "style_model_name" },
  hypernetworks: { type: "HypernetworkLoader", widget: "hypernetwork_name" },
  gligen: { type: "GLIGENLoader", widget: "gligen_name" },
  photomaker: { type: "PhotoMakerLoader", widget: "photomaker_model_name" },
  model_patches: { type: "ModelPatchLoader", widget: "name" },
  audio_encoders: { type: "AudioEncoderLoader", widget: "audio_encoder_name" },
};

/** The loader for a model folder, or null (embeddings go in prompts, not loaders). */
export function loaderFor(folder) {
  return FOLDER_LOADERS[folder] ?? null;
}

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
