"""ComfyUI's launch flags in the container: which ones this GPU gets, and which survive.

- :mod:`.arch_profiles`: what each architecture (sm_80 to sm_120) can do that changes
  the flags: fp8 tensor cores, SageAttention 2 kernels.
- :mod:`.choice`: :class:`FlagChoice`, and the flags chosen for one GPU with their
  reasons (and why the expected ones are left out).
- :mod:`.help_filter`: keep only what the installed ComfyUI's ``--help`` knows.
- :mod:`.user_args`: ``COMFYUI_ARGS``, and the chosen flags that give way to it
  (ComfyUI's mutually exclusive groups).

:mod:`bootstrap.comfyui` puts them together into the launch plan.
"""

from .choice import FlagChoice, choose_comfy_flags, explain_omitted_flags
from .help_filter import filter_known_flags, known_flags
from .user_args import parse_user_args, yield_to_user_args

__all__ = [
    "FlagChoice",
    "choose_comfy_flags",
    "explain_omitted_flags",
    "filter_known_flags",
    "known_flags",
    "parse_user_args",
    "yield_to_user_args",
]
