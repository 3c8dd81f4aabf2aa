"""What the environment asks Phoenix to fetch at boot (and what ``phoenix plan`` shows).

Sources, in order: ``HF_REPOS_TO_DOWNLOAD``, the four ``CIVITAI_*_TO_DOWNLOAD``
lists (bare numbers are CivitAI model ids there), ``PHOENIX_MODELS_TO_DOWNLOAD``
and the JSON manifest at ``PHOENIX_MANIFEST``. Unset variables fetch nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError
from ..refs import NumberMeaning
from ..settings import Settings, split_list
from .events import EventBus
from .job import Job
from .manager import JobManager

#: Each CivitAI variable and the folder it implies when CivitAI's own type says nothing else.
CIVITAI_VARIABLES = {
    "CIVITAI_CHECKPOINTS_TO_DOWNLOAD": ("civitai_checkpoints_to_download", "checkpoints"),
    "CIVITAI_LORAS_TO_DOWNLOAD": ("civitai_loras_to_download", "loras"),
    "CIVITAI_VAES_TO_DOWNLOAD": ("civitai_vaes_to_download", "vae"),
    "CIVITAI_EMBEDDINGS_TO_DOWNLOAD": ("civitai_embeddings_to_download", "embeddings"),
}


@dataclass(frozen=True)
class PreloadEntry:
    """One reference from the environment, and the variable it came from."""

    text: str
    variable: str
    numbers: NumberMeaning = "error"
    category: str | None = None


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=1, max_length=2048)
    folder: str | None = Field(default=None, max_length=256)

    @field_validator("ref")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class Manifest(BaseModel):
    """``{"version": 1, "models": ["owner/repo/file.safetensors", {"ref": "civitai:1", "folder": "loras/x"}]}``"""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    models: list[ManifestEntry | str] = Field(default_factory=list, max_length=1000)

    def entries(self) -> list[tuple[str, str | None]]:
        out: list[tuple[str, str | None]] = []
        for item in self.models:
            if isinstance(item, str):
                out.append((item.strip(), None))
            else:
                out.append((item.ref, item.folder))
        return out


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; errors name the file and the problem."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"PHOENIX_MANIFEST points to {path}, which does not exist.",
            hint="Fix the path or unset PHOENIX_MANIFEST.",
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"The manifest {path} is not valid JSON ({exc}).",
            hint='Write it as {"version": 1, "models": ["owner/repo/file.safetensors"]}.',
        ) from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"The manifest {path} is invalid at '{where}': {first['msg']}.",
            hint='Each model is a reference string or {"ref": "...", "folder": "loras/sub"}.',
        ) from None


def preload_entries(settings: Settings) -> list[PreloadEntry]:
    """Every reference the environment asks for, in a stable order."""
    entries = [
        PreloadEntry(t, "HF_REPOS_TO_DOWNLOAD") for t in split_list(settings.hf_repos_to_download)
    ]
    for variable, (field, folder) in CIVITAI_VARIABLES.items():
        for text in split_list(getattr(settings, field)):
            entries.append(PreloadEntry(text, variable, "civitai_model", folder))
    entries += [
        PreloadEntry(t, "PHOENIX_MODELS_TO_DOWNLOAD")
        for t in split_list(settings.models_to_download)
    ]
    if settings.manifest is not None:
        for ref, dest in load_manifest(settings.manifest).entries():
            text = f"{ref}::{dest}" if dest and "::" not in ref else ref
            entries.append(PreloadEntry(text, "PHOENIX_MANIFEST"))
    return entries


class PreloadRun:
    """Turns the preload entries into background jobs and reports where each one stands.

    A bad entry is reported and the rest proceed; files already present are not
    fetched again (the job manager skips them).
    """

    def __init__(self, manager: JobManager, events: EventBus, entries: list[PreloadEntry]) -> None:
        self.manager = manager
        self.events = events
        self.items: list[dict[str, Any]] = [
            {"ref": e.text, "variable": e.variable, "status": "pending", "error": None, "jobs": []}
            for e in entries
        ]
        self._entries = entries
        # The jobs themselves: the lists may forget a finished one, the preload does not.
        self._jobs: dict[str, Job] = {}

    async def run(self) -> None:
        for entry, item in zip(self._entries, self.items, strict=True):
            item["status"] = "planning"
            self._publish()
            result = await self.manager.plan_refs([entry.text], numbers=entry.numbers)
            if result.problems:
                item["status"] = "failed"
                item["error"] = result.problems[0].to_dict()
                self._publish()
                continue
            for plan_item in result.items:
                if entry.category and plan_item.file.folder != entry.category:
                    plan_item.file = replace(
                        plan_item.file,
                        folder_reason=f"{plan_item.file.folder_reason} (listed in {entry.variable}, "
                        f"which defaults to {entry.category})",
                    )
                job = self.manager.submit_item(plan_item, origin="preload")
                item["jobs"].append(job.id)
                self._jobs[job.id] = job
            item["status"] = "queued"
            self._publish()

    def snapshot(self) -> dict[str, Any]:
        items = []
        for item in self.items:
            jobs = [self._jobs[j].to_dict() for j in item["jobs"]]
            items.append({**item, "jobs": jobs})
        return {"items": items}

    def _publish(self) -> None:
        self.events.publish("preload", self.snapshot())
