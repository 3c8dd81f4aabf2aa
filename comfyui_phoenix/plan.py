"""What a source plans before any byte moves: files, sizes, hashes, destinations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SourceKind = Literal["huggingface", "civitai", "url"]
TokenKind = Literal["huggingface", "civitai"]


@dataclass(frozen=True)
class PlannedFile:
    """One file a reference resolves to, and where it will go.

    ``url`` is the public address shown to users and recorded in journals: it never
    carries a token. Sources turn it into a concrete request with their ``endpoint``.
    """

    ref: str
    source: SourceKind
    url: str
    filename: str
    folder: str
    subfolder: str = ""
    size: int | None = None
    sha256: str | None = None
    blake3: str | None = None
    token: TokenKind | None = None
    folder_reason: str = ""
    revision: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def relpath(self) -> str:
        """``folder/subfolder/filename``: the file's identity under the models root."""
        parts = [self.folder, self.subfolder, self.filename]
        return "/".join(p for p in parts if p)

    @property
    def hash_spec(self) -> tuple[str, str] | None:
        """The strongest hash the source gave: BLAKE3 first (faster), then SHA256."""
        if self.blake3:
            return ("blake3", self.blake3.lower())
        if self.sha256:
            return ("sha256", self.sha256.lower())
        return None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannedFile:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
