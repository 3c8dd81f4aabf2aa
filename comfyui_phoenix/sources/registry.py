"""Pick the source for a reference or a planned file."""

from __future__ import annotations

from ..plan import PlannedFile
from ..refs import CivitaiRef, HFRef, NumberMeaning, Reference, parse_reference
from ..status.gpu_facts import GpuFacts
from .base import Source, SourceContext


class Sources:
    """The three sources, sharing one context."""

    def __init__(self, ctx: SourceContext, *, gpu: GpuFacts | None = None) -> None:
        from .civitai import CivitaiSource
        from .direct import DirectSource
        from .hf import HuggingFaceSource

        self.ctx = ctx
        self.huggingface: Source = HuggingFaceSource(ctx, gpu=gpu)
        self.civitai: Source = CivitaiSource(ctx)
        self.url: Source = DirectSource(ctx)

    def parse(self, text: str, *, numbers: NumberMeaning = "error") -> Reference:
        settings = self.ctx.settings
        return parse_reference(
            text,
            hf_endpoint=settings.hf_endpoint,
            civitai_base_url=settings.civitai_base_url,
            numbers=numbers,
        )

    def for_ref(self, ref: Reference) -> Source:
        if isinstance(ref, HFRef):
            return self.huggingface
        if isinstance(ref, CivitaiRef):
            return self.civitai
        return self.url

    def for_file(self, file: PlannedFile) -> Source:
        return {"huggingface": self.huggingface, "civitai": self.civitai}.get(file.source, self.url)

    async def plan(self, ref: Reference) -> list[PlannedFile]:
        return await self.for_ref(ref).plan(ref)
