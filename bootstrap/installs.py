"""Optional installs at boot: ``EXTRA_PYTHON_PACKAGES`` and ``COMFY_CUSTOM_NODE_GIT_URLS``.

Every pip run uses the image's constraints file, which freezes its torch, torchvision,
torchaudio, triton and numpy: a package that wants another torch fails to install
instead of breaking the GPU stack (the most common way RTX 5090 images break). Custom
nodes are cloned in parallel, then their requirements installed one at a time, because
concurrent pip runs into one environment race each other. A failure is reported and
skipped, never fatal.

An entry that carries credentials (``https://user:token@host/…``) or looks like a pip
option is refused: it would be visible in the process list, or change what pip does.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from comfyui_phoenix.security.redact import redact_url

from .process import RunAs, run_command

PIP_TIMEOUT = 900.0
CLONE_TIMEOUT = 300.0
_NODE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class InstallOutcome:
    """What happened to each requested item: installed, already there, or failed (and why)."""

    installed: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: InstallOutcome) -> None:
        self.installed += other.installed
        self.present += other.present
        self.failed += other.failed

    def to_dict(self) -> dict[str, object]:
        return {
            "installed": self.installed,
            "present": self.present,
            "failed": [{"item": item, "error": error} for item, error in self.failed],
        }


def pip_argv(python: str, constraints: Path, *requirement: str) -> list[str]:
    """``pip install`` under the constraints file; ``requirement`` may be ``-r FILE``."""
    return [
        python,
        "-m",
        "pip",
        "install",
        "--no-input",
        "--disable-pip-version-check",
        "--constraint",
        str(constraints),
        *requirement,
    ]


def package_problem(spec: str) -> str | None:
    """Why a package entry is refused, or None when it may go to pip."""
    if spec.startswith("-"):
        return "looks like a pip option; list package names only"
    if _has_credentials(spec):
        return "carries credentials in its URL, which would show in the process list"
    return None


def _has_credentials(text: str) -> bool:
    match = re.search(r"[a-z][a-z0-9+.-]*://([^/\s]*)@", text, re.IGNORECASE)
    return match is not None


async def install_packages(
    packages: Sequence[str],
    *,
    python: str,
    constraints: Path,
    env: Mapping[str, str],
    run_as: RunAs | None = None,
) -> InstallOutcome:
    """Install each package on its own, so one that fails does not block the others."""
    outcome = InstallOutcome()
    for spec in packages:
        problem = package_problem(spec)
        if problem:
            outcome.failed.append((redact_url(spec), problem))
            continue
        result = await run_command(
            pip_argv(python, constraints, spec), env=env, run_as=run_as, timeout=PIP_TIMEOUT
        )
        if result.ok:
            outcome.installed.append(spec)
        else:
            outcome.failed.append((spec, result.tail() or f"pip exited with {result.returncode}"))
    return outcome


@dataclass(frozen=True)
class NodeRepo:
    url: str
    name: str

    @property
    def shown(self) -> str:
        return redact_url(self.url)


def node_problem(url: str) -> str | None:
    """Why a custom-node URL is refused, or None."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("https", "http", "file"):
        return "is not an https:// git URL"
    if _has_credentials(url):
        return "carries credentials in its URL, which would show in the process list"
    return None


def node_repo(url: str) -> NodeRepo:
    """The folder a repository is cloned into: the URL's last path segment, minus ``.git``."""
    tail = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    tail = tail.removesuffix(".git")
    name = _NODE_NAME.sub("-", tail).strip(".-") or "custom-node"
    return NodeRepo(url=url, name=name)


async def install_custom_nodes(
    urls: Sequence[str],
    *,
    custom_nodes: Path,
    python: str,
    constraints: Path,
    env: Mapping[str, str],
) -> InstallOutcome:
    """Clone every repository in parallel, then install their requirements one at a time."""
    outcome = InstallOutcome()
    repos: list[NodeRepo] = []
    for url in urls:
        problem = node_problem(url)
        if problem:
            outcome.failed.append((redact_url(url), problem))
        else:
            repos.append(node_repo(url))
    git_env = {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/false"}
    await asyncio.to_thread(custom_nodes.mkdir, parents=True, exist_ok=True)
    clones = await asyncio.gather(
        *(_clone(repo, custom_nodes / repo.name, git_env) for repo in repos)
    )
    for repo, error in zip(repos, clones, strict=True):
        if error == "present":
            outcome.present.append(repo.name)
        elif error:
            outcome.failed.append((repo.shown, error))
        else:
            outcome.installed.append(repo.name)
    for repo in repos:
        requirements = custom_nodes / repo.name / "requirements.txt"
        if requirements.is_file() and repo.name in outcome.installed + outcome.present:
            result = await run_command(
                pip_argv(python, constraints, "-r", str(requirements)),
                env=env,
                timeout=PIP_TIMEOUT,
            )
            if not result.ok:
                outcome.failed.append((f"{repo.name} requirements", result.tail()))
    return outcome


def _already_cloned(target: Path) -> bool:
    """True when ``target`` holds a clone; a half-made one from an earlier boot is removed."""
    if (target / ".git").exists():
        return True
    if target.exists():
        shutil.rmtree(target)
    return False


async def _clone(repo: NodeRepo, target: Path, env: Mapping[str, str]) -> str | None:
    """Clone ``repo`` into ``target``: None when done, ``"present"``, or the error."""
    if await asyncio.to_thread(_already_cloned, target):
        return "present"
    try:
        result = await run_command(
            ["git", "clone", "--depth", "1", "--quiet", repo.url, str(target)],
            env=env,
            timeout=CLONE_TIMEOUT,
        )
    except asyncio.TimeoutError:
        shutil.rmtree(target, ignore_errors=True)
        return f"git clone took longer than {CLONE_TIMEOUT:.0f} s"
    if result.ok:
        return None
    shutil.rmtree(target, ignore_errors=True)
    return result.tail() or f"git clone exited with {result.returncode}"
