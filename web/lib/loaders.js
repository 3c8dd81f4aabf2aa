// Which core ComfyUI loader node loads a file from each model folder, and by which widget.

export const LOADERS = {
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

/** The loader for a finished job's folder, or null (embeddings go in prompts, not loaders). */
export function loaderFor(folder) {
  return LOADERS[folder] ?? null;
}

/** The name ComfyUI lists a file under in its folder: `subfolder/filename`. */
export function modelName(job) {
  return [job.subfolder, job.filename].filter(Boolean).join("/");
}

/** Find `name` among a combo's options, tolerating Windows separators. */
export function matchOption(values, name) {
  if (!Array.isArray(values)) return null;
  const wanted = name.replaceAll("\\", "/");
  return values.find((v) => typeof v === "string" && v.replaceAll("\\", "/") === wanted) ?? null;
}
