"""Keep only the flags the installed ComfyUI's ``main.py --help`` knows.

A different ComfyUI commit (one without ``--fast fp8_matrix_mult``, say) then still
starts: argparse refuses an unknown flag, and the boot report says which were dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .choice import FlagChoice

_LONG_OPTION = re.compile(r"(?<![\w-])(--[A-Za-z0-9][\w-]*)")


def known_flags(help_text: str) -> set[str]:
    """Every long option named in a ``--help`` output."""
    return set(_LONG_OPTION.findall(help_text))


def filter_known_flags(
    flags: Sequence[FlagChoice], help_text: str
) -> tuple[list[FlagChoice], list[FlagChoice]]:
    """Split ``flags`` into those this ComfyUI's ``--help`` knows and those it does not.

    A flag whose values are choices (``--fast fp8_matrix_mult``) is kept only when each
    value is named in the help too: argparse rejects an unknown one and ComfyUI would
    not start.
    """
    options = known_flags(help_text)
    words = set(re.findall(r"[\w.-]+", help_text))
    kept: list[FlagChoice] = []
    dropped: list[FlagChoice] = []
    for choice in flags:
        known = choice.flag in options and (
            not choice.values_are_choices or all(v in words for v in choice.values)
        )
        (kept if known else dropped).append(choice)
    return kept, dropped
