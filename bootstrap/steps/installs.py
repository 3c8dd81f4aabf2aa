"""Step ``installs``: ``COMFY_CUSTOM_NODE_GIT_URLS`` and ``EXTRA_PYTHON_PACKAGES`` under the constraints.

Nothing is installed without the image's constraints file, which keeps pip from
replacing torch. Each failure is skipped and reported; the boot goes on.
"""

from __future__ import annotations

from comfyui_phoenix.settings import split_list

from ..context import BootContext
from ..installs import InstallOutcome, install_custom_nodes, install_packages
from .outcome import Outcome


async def run_installs(ctx: BootContext) -> Outcome:
    """Clone the requested custom nodes and pip-install the requested packages."""
    settings = ctx.require_settings()
    packages = split_list(settings.extra_python_packages)
    urls = split_list(settings.comfy_custom_node_git_urls)
    if not packages and not urls:
        return Outcome("skipped", "nothing requested")
    constraints = ctx.paths.constraints
    if not constraints.is_file():
        return Outcome(
            "failed",
            f"{constraints} is missing, so nothing is installed (it keeps pip from replacing torch)",
            "Rebuild the image: the Dockerfile writes the constraints file.",
        )
    outcome = InstallOutcome()
    if urls:
        outcome.merge(
            await install_custom_nodes(
                urls,
                custom_nodes=ctx.paths.custom_nodes,
                python=ctx.paths.comfyui_python,
                constraints=constraints,
                env=ctx.root_env,
            )
        )
    if packages:
        outcome.merge(
            await install_packages(
                packages,
                python=ctx.paths.comfyui_python,
                constraints=constraints,
                env=ctx.root_env,
            )
        )
    ctx.report.set("installs", outcome.to_dict())
    for item, error in outcome.failed:
        ctx.log.fail("installs", f"{item}: {error}")
    done = len(outcome.installed) + len(outcome.present)
    message = f"{done} installed or present, {len(outcome.failed)} failed"
    if outcome.failed:
        return Outcome("failed", message, "Each failure above was skipped; fix or remove it.")
    return Outcome("ok", message)
