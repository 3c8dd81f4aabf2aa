"""The container image's build inputs, checked without Docker.

What a user of the image would notice if these broke: a build that pulls different
packages from one day to the next, a custom node that replaces NVIDIA's pinned packages,
a README whose versions are not the ones built, a ComfyUI that misses a requirement.
Building and booting the image itself is ``.ci/image/build-and-boot.sh`` (it needs Docker).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from bootstrap.image import constraints, cuda_problem, lock_additions, lock_entries

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "bootstrap" / "requirements-image.lock"
DOCKERFILE = (REPO / "Dockerfile").read_text()
# Read at import: the autouse fixture clears COMFY* variables before each test runs.
COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")

sys.path.insert(0, str(REPO / ".ci" / "image"))
import standins  # noqa: E402 - the stand-in builder lives with the CI scripts


def pins() -> dict[str, Version]:
    """The lock's ``name: version``, names normalized as pip compares them."""
    return {
        name: Version(entry.split("==", 1)[1].split()[0])
        for name, entry in lock_entries(LOCK.read_text())
    }


def dockerfile_args() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for match in re.finditer(r"^ARG (\w+)(?:=(\S*))?$", DOCKERFILE, re.MULTILINE):
        found.setdefault(match.group(1), match.group(2))
    return found


def unsatisfied(requirements: list[str]) -> list[str]:
    """The requirements (for Linux) that no pin of the lock satisfies."""
    locked = pins()
    missing = []
    for line in requirements:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        if req.marker and not req.marker.evaluate({"sys_platform": "linux"}):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        version = locked.get(name)
        if version is None or not req.specifier.contains(version, prereleases=True):
            missing.append(f"{line} (lock: {version})")
    return missing


# -- the lock file ----------------------------------------------------------------------------


def test_every_locked_package_is_pinned_with_its_hashes() -> None:
    entries = list(lock_entries(LOCK.read_text()))
    assert len(entries) > 50
    names = [name for name, _ in entries]
    assert len(names) == len(set(names)), "a package is locked twice"
    for name, entry in entries:
        first = entry.split("\n", 1)[0]
        assert re.match(r"^[A-Za-z0-9._-]+(\[[^\]]+\])?==[^\s;]+", first), first
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{name} has no hash"


def test_the_lock_leaves_the_base_images_torch_stack_alone() -> None:
    stack = re.compile(r"^(torch|torchvision|triton|cuda-.+|nvidia-(?!ml-py$).+)$")
    assert [name for name in pins() if stack.match(name)] == []
    # torchaudio is the exception: ComfyUI imports it at start and NGC does not ship it.
    assert pins()["torchaudio"] >= Version("2.11")


def test_the_lock_satisfies_phoenix_and_the_images_own_requirements() -> None:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    lines += (REPO / "bootstrap" / "requirements-image.txt").read_text().splitlines()
    assert unsatisfied(lines) == []


def test_the_lock_was_made_for_the_pinned_comfyui() -> None:
    recorded = re.search(r"^# comfyui-ref: (\w+)$", LOCK.read_text(), re.MULTILINE)
    assert recorded is not None
    assert recorded.group(1) == dockerfile_args()["COMFYUI_REF"]


@pytest.mark.comfyui
@pytest.mark.skipif(not COMFYUI_DIR, reason="set COMFYUI_DIR to check the lock against it")
def test_the_lock_satisfies_the_pinned_comfyuis_requirements() -> None:
    checkout = Path(COMFYUI_DIR)
    version = re.search(r'"([^"]+)"', (checkout / "comfyui_version.py").read_text())
    locked_for = re.search(r"from ComfyUI (\S+)'s", LOCK.read_text())
    assert version is not None and locked_for is not None
    if version.group(1) != locked_for.group(1):
        pytest.skip(
            f"COMFYUI_DIR is ComfyUI {version.group(1)}, the lock is for {locked_for.group(1)}"
        )
    wanted = [
        line
        for line in (checkout / "requirements.txt").read_text().splitlines()
        if not re.match(r"^\s*(torch|torchvision)\s*([<>=!~;#]|$)", line)
    ]
    assert unsatisfied(wanted) == []


def test_lock_additions_install_only_what_the_base_lacks() -> None:
    lock = (
        "numpy==2.5.5 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via torchaudio\n"
        "aiohttp==3.14.5 \\\n    --hash=sha256:"
        + "b" * 64
        + " \\\n    --hash=sha256:"
        + "c" * 64
        + "\n"
        "colorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:" + "d" * 64 + "\n"
    )
    added, kept = lock_additions(lock, {"numpy": "2.3.1"})
    # The base's numpy stays (its constraints pin it); the others keep every hash line.
    assert kept == ["numpy 2.3.1 (lock: 2.5.5)"]
    assert [entry.split()[0] for entry in added] == ["aiohttp==3.14.5", "colorama==0.4.6"]
    assert added[0].count("--hash=sha256:") == 2
    assert "sys_platform == 'win32'" in added[1]


# -- constraints: NVIDIA's pins stay in force -------------------------------------------------


def pip_dry_run(constraint: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--quiet"]
    return subprocess.run(
        [*pip, "--constraint", str(constraint), requirement],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_constraints_keep_the_base_images_own_pins(tmp_path: Path) -> None:
    # A base image that pins pytest to a version other than the one installed here: any
    # pip run under Phoenix's constraints must then refuse to keep or install another.
    base = tmp_path / "constraint.txt"
    base.write_text("pytest==0.0.1\n")
    ours = tmp_path / "constraints.txt"
    ours.write_text(constraints(["packaging"], include=base))
    assert ours.read_text().splitlines()[0] == f"-c {base}"
    refused = pip_dry_run(ours, "pytest")
    assert refused.returncode != 0
    assert "pytest" in refused.stderr
    # Without the base's file, the same run is satisfied by what is installed.
    plain = tmp_path / "plain.txt"
    plain.write_text(constraints(["packaging"], include=tmp_path / "no-such-file"))
    assert not plain.read_text().startswith("-c")
    assert pip_dry_run(plain, "pytest").returncode == 0


def test_check_base_refuses_a_pytorch_older_than_cuda_13(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 12.8\n")
    fake.chmod(0o755)
    assert cuda_problem("13.0", python=str(fake)) == (
        "its PyTorch is built with CUDA 12.8, older than 13.0"
    )
    fake.write_text("#!/bin/sh\necho 13.4\n")
    assert cuda_problem("13.0", python=str(fake)) is None


# -- the Dockerfile's build arguments ---------------------------------------------------------


def test_build_arguments_exist_with_their_defaults() -> None:
    args = dockerfile_args()
    assert re.fullmatch(
        r"nvcr\.io/nvidia/pytorch:(2[6-9])\.(0[1-9]|1[0-2])-py3", args["BASE_IMAGE"] or ""
    )
    assert re.fullmatch(r"[0-9a-f]{40}", args["COMFYUI_REF"] or "")
    assert re.fullmatch(r"v\d+\.\d+\.\d+", args["FILEBROWSER_VERSION"] or "")
    assert re.fullmatch(r"[0-9a-f]{64}", args["FILEBROWSER_SHA256"] or "")
    # Every download can be pointed at a mirror, and follows the pinned version by default.
    assert args["COMFYUI_ARCHIVE_URL"] == (
        "https://github.com/Comfy-Org/ComfyUI/archive/${COMFYUI_REF}.tar.gz"
    )
    assert "/download/${FILEBROWSER_VERSION}/linux-amd64-filebrowser.tar.gz" in (
        args["FILEBROWSER_URL"] or ""
    )
    assert (
        args["XFORMERS_GIT_URL"]
        == "https://github.com/facebookresearch/xformers.git@${XFORMERS_REF}"
    )
    assert args["SAGEATTENTION_GIT_URL"] == (
        "https://github.com/thu-ml/SageAttention.git@${SAGEATTENTION_REF}"
    )
    assert "PIP_INDEX_URL" in args and args["PIP_INDEX_URL"] is None
    assert args["WITH_XFORMERS"] == args["WITH_SAGEATTENTION"] == "0"


def test_the_dockerfile_pulls_no_frontend_and_holds_no_secret() -> None:
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE, re.MULTILINE | re.IGNORECASE)
    secretish = re.compile(r"TOKEN|SECRET|PASSWORD|API_?KEY", re.IGNORECASE)
    assert [name for name in dockerfile_args() if secretish.search(name)] == []
    # Packages come from the lock, from wheels, hash-checked; .pyc are compiled at build.
    assert "--only-binary=:all: --require-hashes" in DOCKERFILE
    assert DOCKERFILE.count("--invalidation-mode checked-hash") == 3


def test_the_readme_names_the_versions_the_dockerfile_builds() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Building the image") :]
    args = dockerfile_args()
    for name in ("BASE_IMAGE", "FILEBROWSER_VERSION", "FILEBROWSER_SHA256", "COMFYUI_REF"):
        assert str(args[name]) in section, f"the README's build section lacks {name}'s default"


def test_the_template_asks_for_a_driver_that_runs_cuda_13() -> None:
    template = json.loads((REPO / "runpod-template.json").read_text())
    assert "R580" in template["phoenix"]["driverFloor"]
    assert all(Version(v) >= Version("13.0") for v in template["phoenix"]["allowedCudaVersions"])
    assert "R580" in template["readme"]


# -- the stand-ins the image is built through on machines without GitHub ---------------------


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
    }
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_comfyui_stand_in_is_shaped_like_githubs_archive(tmp_path: Path) -> None:
    repo = tmp_path / "ComfyUI"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "main.py").write_text("print('hi')\n")
    (repo / "run.sh").write_text("#!/bin/sh\n")
    (repo / "run.sh").chmod(0o755)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    ref = git("rev-parse", "HEAD", cwd=repo)
    archive, skipped = standins.comfyui_archive(repo / ".git", ref)
    assert skipped == []
    read = subprocess.run(
        ["git", "get-tar-commit-id"],
        input=gzip.decompress(archive),
        capture_output=True,
        check=True,
    )
    assert read.stdout.decode().strip() == ref
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {f"ComfyUI-{ref}/main.py", f"ComfyUI-{ref}/run.sh"}
    assert members[f"ComfyUI-{ref}/run.sh"].mode == 0o755
    assert standins.comfyui_archive(repo / ".git", ref)[0] == archive, "not reproducible"


def test_the_filebrowser_stand_in_is_one_executable_that_answers(tmp_path: Path) -> None:
    archive = standins.filebrowser_archive()
    assert (
        hashlib.sha256(archive).digest() == hashlib.sha256(standins.filebrowser_archive()).digest()
    )
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert tar.getnames() == ["filebrowser"]
        member = tar.getmember("filebrowser")
        body = tar.extractfile(member)
        assert body is not None and member.isfile()
        (tmp_path / "filebrowser").write_bytes(body.read())
    # The mode the archive carries, as the image's ``tar -x`` applies it.
    (tmp_path / "filebrowser").chmod(member.mode)
    done = subprocess.run(
        [str(tmp_path / "filebrowser"), "version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "File Browser" in done.stdout
