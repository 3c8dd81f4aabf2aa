"""What a source plans before any byte moves: files, sizes, hashes, destinations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from .errors import HashMismatchError

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

    def expecting_sha256(self, digest: str, origin: str) -> PlannedFile:
        """This file, held to a SHA256 that ``origin`` (a workflow's entry) expects.

        A source that lists no SHA256 takes it; one that lists another is refused.

        Raises:
            HashMismatchError: the source lists a different SHA256 for the file.
        """
        wanted = digest.lower()
        if self.sha256 is None:
            return replace(self, sha256=wanted, meta={**self.meta, "sha256_from": origin})
        if self.sha256.lower() != wanted:
            raise HashMismatchError(
                f"{origin} expects {self.filename} to have SHA256 {wanted[:12]}…, but its "
                f"source lists {self.sha256.lower()[:12]}…: one of them is out of date.",
                hint="Update the workflow's models entry (or its link) to the file you want.",
                ref=self.ref,
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannedFile:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
