"""ComfyUI's command line: the container's fixed flags, the GPU's performance flags, ``COMFYUI_ARGS``.

Every flag carries its reason into the boot report, and says whether it is a base flag
(paths, ports, the database: the same on every start) or one chosen for this GPU and
these settings, so the log and its summary name the chosen ones from the plan itself.
Before launch, each one is checked against the installed ComfyUI's ``main.py --help``
and dropped with a warning when unknown, so a ComfyUI commit without, say, ``--fast
fp8_matrix_mult`` still starts. ``COMFYUI_ARGS`` is appended last and kept as given; a
chosen flag it sets or contradicts (same exclusive group) gives way to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from comfyui_phoenix.folders import MODEL_EXTENSIONS
from comfyui_phoenix.gpu_check import DoctorReport
from comfyui_phoenix.settings import Settings, split_list

from .launch_flags import (
    FlagChoice,
    choose_comfy_flags,
    explain_omitted_flags,
    filter_known_flags,
    known_flags,
    parse_user_args,
    yield_to_user_args,
)
from .paths import BootOptions, BootPaths
from .storage import StorageLayout


@dataclass
class LaunchPlan:
    """The command that starts ComfyUI, and everything the boot report says about it."""

    argv: list[str]
    kept: list[FlagChoice]
    dropped: list[FlagChoice] = field(default_factory=list)
    overridden: list[FlagChoice] = field(default_factory=list)
    user_args: list[str] = field(default_factory=list)
    unknown_user_flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fp8_evidence: str | None = None

    @property
    def chosen_flags(self) -> list[FlagChoice]:
        """The kept flags chosen for this GPU and these settings: all but the base flags."""
        return [f for f in self.kept if not f.base]

    def to_dict(self) -> dict[str, object]:
        return {
            "argv": self.argv,
            "flags": [f.to_dict() for f in self.kept],
            "dropped": [f.to_dict() for f in self.dropped],
            "overridden": [f.to_dict() for f in self.overridden],
            "user_args": self.user_args,
            "unknown_user_flags": self.unknown_user_flags,
            "notes": self.notes,
            "fp8_evidence": self.fp8_evidence,
        }


def base_flags(options: BootOptions, paths: BootPaths, layout: StorageLayout) -> list[FlagChoice]:
    """The flags every container start has, whatever the GPU: paths, ports, the database."""
    return [
        _base(
            "--listen", "RunPod's proxy reaches services on the pod's interface.", options.listen
        ),
        _base("--port", "ComfyUI's port in the RunPod template.", str(options.comfyui_port)),
        _base("--disable-auto-launch", "There is no browser in the container."),
        _base(
            "--extra-model-paths-config",
            f"Models live under {layout.models} ({layout.mode} storage).",
            str(paths.extra_model_paths),
        ),
        _base("--input-directory", f"Inputs: {layout.mode} storage.", str(layout.input)),
        _base("--output-directory", f"Outputs: {layout.mode} storage.", str(layout.output)),
        _base(
            "--temp-directory", "Temporary files never go to the volume.", str(layout.temp_parent)
        ),
        _base(
            "--user-directory", f"Workflows and settings: {layout.mode} storage.", str(layout.user)
        ),
        # ComfyUI keeps its database beside its code whatever --user-directory says; it
        # holds user data too, so it follows the user folder (to tmpfs in PARANOID_MODE).
        _base(
            "--database-url",
            f"ComfyUI's database with the workflows: {layout.mode} storage.",
            f"sqlite:///{layout.user / 'comfyui.db'}",
        ),
    ]


def _base(flag: str, reason: str, *values: str) -> FlagChoice:
    return FlagChoice(flag, reason, values, base=True)


def setting_flags(settings: Settings) -> list[FlagChoice]:
    """The flags a setting asks for, whatever the GPU."""
    if settings.paranoid_mode:
        return [
            FlagChoice("--disable-metadata", "PARANOID_MODE=true: no prompt or workflow in images.")
        ]
    return []


def fp8_evidence(settings: Settings, layout: StorageLayout) -> str | None:
    """Why we believe fp8 diffusion weights will be loaded, or None.

    A reference or file name that says ``fp8`` counts: among the preload's references,
    or a model file already in the volume's diffusion model or checkpoint folders.
    CivitAI ids say nothing about precision, so they never count.
    """
    refs = split_list(settings.hf_repos_to_download) + split_list(settings.models_to_download)
    refs += split_list(settings.civitai_checkpoints_to_download)
    for ref in refs:
        if "fp8" in ref.lower():
            return f"the preload fetches {ref}"
    for folder in ("diffusion_models", "checkpoints", "unet"):
        directory = layout.models / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if "fp8" in path.name.lower() and path.suffix.lower() in MODEL_EXTENSIONS:
                return f"{folder}/{path.name} is on the models volume"
    return None


def plan_launch(
    *,
    paths: BootPaths,
    options: BootOptions,
    layout: StorageLayout,
    settings: Settings,
    gpu: DoctorReport,
    help_text: str | None,
) -> LaunchPlan:
    """Choose ComfyUI's flags and build its command line.

    Args:
        help_text: ``main.py --help`` output; None when it could not be read, in which
            case nothing is dropped (ComfyUI will say what it does not know).
    """
    device = gpu.device
    arch = device.arch if device else None
    vram = device.vram_total if device else None
    evidence = fp8_evidence(settings, layout)
    inputs = {
        "sage_available": gpu.torch.sage_available,
        "cpu_mode": settings.cpu_mode,
        "preload_has_fp8": evidence is not None,
    }
    chosen = (
        base_flags(options, paths, layout)
        + setting_flags(settings)
        + choose_comfy_flags(arch, vram, **inputs)
    )
    user_args = parse_user_args(settings.comfyui_args)
    chosen, overridden = yield_to_user_args(chosen, user_args)
    dropped: list[FlagChoice] = []
    unknown: list[str] = []
    if help_text is None:
        kept = chosen
    else:
        kept, dropped = filter_known_flags(chosen, help_text)
        options_known = known_flags(help_text)
        unknown = [
            arg.split("=", 1)[0]
            for arg in user_args
            if arg.startswith("--") and arg.split("=", 1)[0] not in options_known
        ]
    argv = [paths.comfyui_python, "main.py"]
    for choice in kept:
        argv += choice.argv
    argv += user_args
    return LaunchPlan(
        argv=argv,
        kept=kept,
        dropped=dropped,
        overridden=overridden,
        user_args=user_args,
        unknown_user_flags=unknown,
        notes=explain_omitted_flags(arch, vram, **inputs),
        fp8_evidence=evidence,
    )


def help_argv(paths: BootPaths) -> list[str]:
    return [paths.comfyui_python, "main.py", "--help"]


def comfyui_main(paths: BootPaths) -> Path:
    return paths.comfyui_dir / "main.py"
