"""The FLUX catalog: ``catalog.json`` read and checked, with its links resolved.

The data lives in ``catalog.json`` beside this file (or in the file
``PHOENIX_FLUX_CATALOG`` names instead): roles (folder and loader), licences,
repositories (gated, pinned revision), files (path, size, sha256) and members
(which file plays which role, in which precisions). This module only reads it:
a broken catalog is a :class:`~comfyui_phoenix.errors.ConfigError` that names
the file and the entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ....errors import ConfigError

SHIPPED = Path(__file__).with_name("catalog.json")

Role = Literal["transformer", "vae", "clip_l", "t5", "text_encoder", "clip_vision", "style_model"]
#: Variant names: the precisions PHOENIX_FLUX_PRECISION picks from, and T5's own two.
Variant = Literal["bf16", "fp8", "nvfp4", "fp16"]
Precision = Literal["bf16", "fp8", "nvfp4"]

_SHA256 = r"^[0-9a-f]{64}$"
_COMMIT = r"^[0-9a-f]{40}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSpec(_Strict):
    folder: str
    loader: str
    what: str
    #: The core loader node, for the panel's "Add loader node" (sources' ``meta["loader"]``).
    node: dict[str, Any] = Field(default_factory=dict)


class RepoSpec(_Strict):
    gated: bool
    revision: str | None = Field(default=None, pattern=_COMMIT)
    source: str = ""


class FileSpec(_Strict):
    repo: str
    path: str
    size: int | None = Field(default=None, gt=0)
    sha256: str | None = Field(default=None, pattern=_SHA256)
    gb: float = Field(gt=0)
    source: str = ""


class PartSpec(_Strict):
    role: Role
    file: str | None = None
    variants: dict[Variant, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way(self) -> PartSpec:
        if (self.file is None) == (not self.variants):
            raise ValueError(f"a {self.role} part names either 'file' or 'variants'")
        return self


class MemberSpec(_Strict):
    key: str
    name: str
    repo: str
    licence: str
    aliases: dict[str, Precision] = Field(default_factory=dict)
    parts: list[PartSpec]


class CatalogSpec(_Strict):
    about: str = ""
    roles: dict[Role, RoleSpec]
    licences: dict[str, str]
    repos: dict[str, RepoSpec]
    files: dict[str, FileSpec]
    members: list[MemberSpec]


@dataclass(frozen=True)
class Pin:
    """One published file, as the catalog pins it."""

    repo: str
    path: str
    revision: str | None
    gated: bool
    size: int | None
    sha256: str | None
    gb: float


@dataclass(frozen=True)
class Part:
    """One file a member needs: its role, where it goes, and each published precision."""

    role: Role
    folder: str
    loader: str
    what: str
    variants: dict[Variant, Pin]
    node: dict[str, Any] = field(default_factory=dict)

    @property
    def single(self) -> Pin | None:
        """The one file of a part published in one precision only."""
        return next(iter(self.variants.values())) if len(self.variants) == 1 else None


@dataclass(frozen=True)
class Member:
    """One FLUX model as ComfyUI runs it."""

    key: str
    name: str
    repo: str
    revision: str | None
    licence: str
    aliases: dict[str, Precision]
    parts: tuple[Part, ...]

    def part(self, role: Role) -> Part | None:
        return next((p for p in self.parts if p.role == role), None)


class Catalog:
    """Members by the repository references that mean them."""

    def __init__(self, members: list[Member]) -> None:
        self.members = members
        self._by_repo: dict[str, tuple[Member, Precision | None]] = {}
        for member in members:
            self._by_repo[member.repo.lower()] = (member, None)
            for alias, precision in member.aliases.items():
                self._by_repo[alias.lower()] = (member, precision)

    def lookup(self, repo_id: str) -> tuple[Member, Precision | None] | None:
        """The member a whole-repository reference stands for, and a precision its name fixes."""
        return self._by_repo.get(repo_id.lower())

    def member(self, key: str) -> Member:
        return next(m for m in self.members if m.key == key)


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog in ``path`` (``PHOENIX_FLUX_CATALOG``), or the one Phoenix ships.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or breaks the format.
    """
    return _load(path or SHIPPED)


@cache
def _load(path: Path) -> Catalog:
    where = "Phoenix's FLUX catalog" if path == SHIPPED else f"PHOENIX_FLUX_CATALOG ({path})"
    try:
        spec = CatalogSpec.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror}.", hint=_HINT) from None
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"{where} is not a valid catalog: {_first(exc)}.", hint=_HINT) from None
    return Catalog([_member(spec, m, where) for m in spec.members])


_HINT = "Fix the file (its format is Phoenix's own catalog.json), or unset PHOENIX_FLUX_CATALOG."


def _first(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        place = ".".join(str(p) for p in error["loc"])
        return f"{place}: {error['msg']}" if place else str(error["msg"])
    return str(exc).split("\n")[0]


def _member(spec: CatalogSpec, member: MemberSpec, where: str) -> Member:
    if member.licence not in spec.licences:
        raise ConfigError(f"{where}: {member.key} names an unknown licence '{member.licence}'.")
    home = spec.repos.get(member.repo)
    if home is None:
        raise ConfigError(f"{where}: {member.key}'s repository {member.repo} is not listed.")
    parts = []
    for part in member.parts:
        role = spec.roles.get(part.role)
        if role is None:
            raise ConfigError(f"{where}: the role '{part.role}' has no folder and loader.")
        names: dict[Variant, str] = part.variants or {"bf16": part.file or ""}
        variants = {
            v: _pin(spec, name, f"{member.key}.{part.role}", where) for v, name in names.items()
        }
        parts.append(Part(part.role, role.folder, role.loader, role.what, variants, role.node))
    return Member(
        member.key,
        member.name,
        member.repo,
        home.revision,
        spec.licences[member.licence],
        dict(member.aliases),
        tuple(parts),
    )


def _pin(spec: CatalogSpec, name: str, used_by: str, where: str) -> Pin:
    file = spec.files.get(name)
    if file is None:
        raise ConfigError(f"{where}: {used_by} names an unknown file '{name}'.")
    repo = spec.repos.get(file.repo)
    if repo is None:
        raise ConfigError(f"{where}: the file '{name}' is in an unlisted repository {file.repo}.")
    return Pin(file.repo, file.path, repo.revision, repo.gated, file.size, file.sha256, file.gb)
