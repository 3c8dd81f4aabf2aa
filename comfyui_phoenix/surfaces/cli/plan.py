"""``phoenix plan``: what the environment variables (and the manifest) would fetch."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from ...jobs.preload import preload_entries
from ...service import Phoenix
from ...settings import Settings
from .context import cli_settings
from .fetch import report_problems
from .progress import print_plan


def run(args: argparse.Namespace) -> int:
    return asyncio.run(plan(cli_settings(args), as_json=args.json))


async def plan(settings: Settings, *, as_json: bool) -> int:
    """Print each variable's plan (JSON with ``as_json``); return the exit status."""
    entries = preload_entries(settings)
    if not entries:
        if as_json:
            print("[]")
        else:
            print(
                "The environment asks for no models (HF_REPOS_TO_DOWNLOAD, CIVITAI_*_TO_DOWNLOAD, "
                "PHOENIX_MODELS_TO_DOWNLOAD and PHOENIX_MANIFEST are unset)."
            )
        return 0
    async with Phoenix(settings, transfers=False) as phoenix:
        results: list[dict[str, Any]] = []
        status = 0
        for entry in entries:
            result = await phoenix.planner.plan([entry.text], numbers=entry.numbers)
            results.append({"ref": entry.text, "variable": entry.variable, **result.to_dict()})
            if not as_json:
                print(f"{entry.variable}: {entry.text}")
                print_plan(result, sys.stdout)
            status = max(status, report_problems(result))
        if as_json:
            print(json.dumps(results, indent=2))
        return status
