"""Forensic cleanup on a pod laid out in a temporary folder: canaries in every category.

Each storage mode is checked against the table in ``comfyui_phoenix/security/cleanup.py``
(and the README): exactly which canaries go and which stay.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import CANARY_CIVITAI, CANARY_HF

from bootstrap.tmpfs import filesystem_type, paranoid_storage
from comfyui_phoenix.errors import ForbiddenError
from comfyui_phoenix.security.cleanup import (
    OVERWRITE_LIMIT,
    CleanupPlan,
    CleanupRoots,
    PlanEntry,
    StorageMode,
    cache_dirs,
    check_allowed,
    execute_plan,
    mark_boot,
    plan_cleanup,
    run_cleanup,
)
from comfyui_phoenix.settings import Settings
from comfyui_phoenix.surfaces.app import PhoenixApp
from comfyui_phoenix.surfaces.comfy import _cleanup_roots
from comfyui_phoenix.surfaces.routes import register

EPHEMERAL = StorageMode()
VOLUME = StorageMode(volume=True)
PARANOID = StorageMode(paranoid=True)
PARANOID_VOLUME = StorageMode(volume=True, paranoid=True)

ALWAYS = {
    "secrets", "boot_report", "panel_tokens", "aria2_conf", "filebrowser_db", "log",
    "bash_history", "python_history", "hf_login", "hf_cache", "pip_cache", "torch_cache",
    "triton_cache", "xdg_pip", "tmp_new_file", "tmp_new_dir", "tmp_new_in_old_dir",
    "comfy_temp", "finished_control",
}  # fmt: skip
USER_DATA = {"input", "output", "workflow", "comfy_db", "journal", "record"}
MODELS = {"lora", "big_model", "partial", "partial_control"}
TMP_OLD = {"tmp_old_file", "tmp_old_in_old_dir"}


@dataclass
class Pod:
    """A container's folders under a temporary root, with one canary file per category."""

    root: Path
    roots: CleanupRoots
    canaries: dict[str, Path]

    def present(self) -> set[str]:
        return {name for name, path in self.canaries.items() if os.path.lexists(path)}


def _write(path: Path, data: bytes | str = b"canary") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def build_pod(base: Path) -> Pod:
    root = base / "pod"
    runtime, home, tmp = root / "dev/shm/phoenix", root / "home/sduser", root / "tmp"
    data, models = root / "var/lib/phoenix", root / "workspace/models"
    c: dict[str, Path] = {}
    # Before boot: the image's own files in /tmp.
    c["tmp_old_file"] = _write(tmp / "image-file.txt")
    c["tmp_old_in_old_dir"] = _write(tmp / "image-dir" / "old.txt")
    time.sleep(0.05)  # change times are kept in clock ticks
    marker = mark_boot(runtime)
    time.sleep(0.05)
    secret_json = json.dumps({"huggingface": CANARY_HF, "civitai": CANARY_CIVITAI})
    c["secrets"] = _write(runtime / "secrets.json", secret_json)
    c["boot_report"] = _write(runtime / "boot-report.json", "{}")
    c["panel_tokens"] = _write(runtime / "panel-tokens.json", secret_json)
    c["aria2_conf"] = _write(runtime / "phoenix-aria2-x" / "aria2.conf", "rpc-secret=s3cret")
    c["filebrowser_db"] = _write(runtime / "filebrowser" / "filebrowser.db", "admin:hash")
    c["log"] = _write(root / "var/log/phoenix/boot.log", "booted")
    c["bash_history"] = _write(home / ".bash_history", f"export HF_TOKEN={CANARY_HF}")
    c["python_history"] = _write(home / ".python_history", "import os")
    c["hf_login"] = _write(home / ".cache/huggingface/token", CANARY_HF)
    c["hf_cache"] = _write(home / ".cache/huggingface/hub/models--a--b/blobs/x", b"w" * 100)
    c["pip_cache"] = _write(home / ".cache/pip/http/a/b", b"wheel")
    c["torch_cache"] = _write(home / ".cache/torch/kernels/k.bin")
    c["triton_cache"] = _write(home / ".triton/cache/abc/kernel.cubin")
    c["xdg_pip"] = _write(root / "xdg-cache/pip/wheels/w.whl")
    c["tmp_new_file"] = _write(tmp / "upload-1234.png")
    c["tmp_new_dir"] = _write(tmp / "torchinductor_sduser" / "fx" / "graph.py")
    c["tmp_new_in_old_dir"] = _write(tmp / "image-dir" / "new.txt")
    c["comfy_temp"] = _write(data / "temp" / "ComfyUI_temp_0001.png")
    c["input"] = _write(data / "input" / "photo.png")
    c["output"] = _write(data / "output" / "ComfyUI_00001_.png")
    c["workflow"] = _write(data / "user/default/workflows/private.json", '{"prompt": "secret"}')
    c["comfy_db"] = _write(root / "opt/ComfyUI/user/comfyui.db")
    c["journal"] = _write(models / ".phoenix/jobs/j1.json", '{"ref": "civitai:1"}')
    c["record"] = _write(models / ".phoenix/records/r1.json", '{"ref": "civitai:1"}')
    c["lora"] = _write(models / "loras/style.safetensors", b"lora")
    c["partial"] = _write(models / "diffusion_models/flux1-dev.safetensors.part", b"half")
    c["partial_control"] = _write(models / "diffusion_models/flux1-dev.safetensors.part.aria2")
    c["finished_control"] = _write(models / "vae/ae.safetensors.part.aria2")
    big = models / "diffusion_models/flux1-dev.safetensors"
    with open(big, "wb") as handle:
        handle.truncate(4 << 30)  # sparse: 4 GB that cost no disk
    c["big_model"] = big
    roots = CleanupRoots(
        runtime_dir=runtime,
        logs_dir=root / "var/log/phoenix",
        homes=(home,),
        caches=cache_dirs((home,), {"XDG_CACHE_HOME": str(root / "xdg-cache")}),
        tmp_dir=tmp,
        boot_marker=marker,
        filebrowser_db=runtime / "filebrowser",
        comfy_input=data / "input",
        comfy_output=data / "output",
        comfy_user=data / "user",
        comfy_temp=data / "temp",
        comfy_database=root / "opt/ComfyUI/user/comfyui.db",
        models_dir=models,
    )
    return Pod(root, roots, c)


@pytest.fixture
def pod(tmp_path: Path) -> Pod:
    return build_pod(tmp_path)


@pytest.mark.parametrize(
    ("mode", "gone"),
    [
        (EPHEMERAL, ALWAYS | USER_DATA | MODELS),
        (VOLUME, ALWAYS),
        (PARANOID, ALWAYS | USER_DATA | MODELS),
        (PARANOID_VOLUME, ALWAYS | USER_DATA),
    ],
    ids=["ephemeral", "volume", "paranoid", "paranoid-volume"],
)
def test_each_storage_mode_removes_exactly_what_the_table_says(
    pod: Pod, mode: StorageMode, gone: set[str]
) -> None:
    every = set(pod.canaries)
    assert every == ALWAYS | USER_DATA | MODELS | TMP_OLD, "every category has a canary"
    plan = plan_cleanup(pod.roots, mode, container=True)
    report = execute_plan(plan)
    assert report.failed == []
    assert pod.present() == every - gone
    # The folders the services use stay (emptied), so a running ComfyUI keeps working.
    for folder in (pod.roots.runtime_dir, pod.roots.comfy_output, pod.roots.comfy_temp):
        assert folder is not None and folder.is_dir()
    kept = {Path(k["path"]) for k in report.kept}
    if mode.volume:
        assert pod.roots.models_dir in kept
        reasons = " ".join(k["reason"] for k in report.kept)
        assert "USE_VOLUME=true" in reasons or "PARANOID_MODE" in reasons
    if mode == VOLUME:
        assert pod.roots.comfy_user in kept and pod.roots.models_dir / ".phoenix" in kept


def test_the_dry_run_lists_every_entry_with_action_and_reason(pod: Pod) -> None:
    plan = plan_cleanup(pod.roots, PARANOID_VOLUME, container=True)
    listed = plan.to_dict()
    assert pod.present() == set(pod.canaries), "planning removes nothing"
    actions = {Path(i["path"]): i["action"] for i in listed["items"]}
    runtime = pod.roots.runtime_dir
    assert runtime is not None
    assert actions[runtime] == "overwrite+empty"
    assert actions[pod.canaries["bash_history"]] == "overwrite+unlink"
    assert actions[pod.canaries["hf_login"]] == "overwrite+unlink"
    assert actions[pod.canaries["finished_control"]] == "unlink"
    assert all(i["reason"] for i in listed["items"])
    assert {Path(k["path"]) for k in listed["kept"]} == {pod.roots.models_dir}
    assert listed["storage"] == {"mode": "volume", "use_volume": True, "paranoid": True}
    assert listed["total_files"] >= len(ALWAYS | USER_DATA)
    text = "\n".join(plan.lines())
    assert str(pod.canaries["bash_history"]) in text and "keep" in text
    json.dumps(listed)


def test_small_sensitive_files_are_zeroed_before_unlink(pod: Pod) -> None:
    big_output = _write(pod.roots.comfy_output / "huge.png", b"\x89PNG" * (OVERWRITE_LIMIT // 2))  # type: ignore[operator]
    watched = {
        name: os.open(pod.canaries[name], os.O_RDONLY)
        for name in ("secrets", "bash_history", "workflow", "filebrowser_db", "hf_login", "pip_cache")
    }  # fmt: skip
    watched["big_output"] = os.open(big_output, os.O_RDONLY)
    sizes = {name: os.fstat(fd).st_size for name, fd in watched.items()}
    try:
        report = execute_plan(plan_cleanup(pod.roots, EPHEMERAL, container=True))
        seen = {name: os.pread(fd, sizes[name], 0) for name, fd in watched.items()}
        links = {name: os.fstat(fd).st_nlink for name, fd in watched.items()}
    finally:
        for fd in watched.values():
            os.close(fd)
    assert all(count == 0 for count in links.values()), "every one was unlinked"
    for name in ("secrets", "bash_history", "workflow", "filebrowser_db", "hf_login"):
        assert seen[name] == bytes(sizes[name]), f"{name} was not zeroed before unlink"
    assert CANARY_HF.encode() not in seen["secrets"]
    # Public cache data and files over the limit are only unlinked (no time spent on them).
    assert seen["pip_cache"] == b"wheel"
    assert seen["big_output"].startswith(b"\x89PNG")
    assert report.overwritten >= 5


def test_links_never_lead_cleanup_outside_its_roots(pod: Pod, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    precious = _write(outside / "precious.txt", "keep me")
    _write(outside / "dir" / "inner.txt", "keep me too")
    hard = _write(outside / "hard.txt", "hard-linked")
    output = pod.roots.comfy_output
    assert output is not None
    (output / "link-to-file").symlink_to(precious)
    (output / "link-to-dir").symlink_to(outside / "dir", target_is_directory=True)
    os.link(hard, output / "hard.txt")
    (pod.roots.homes[0] / ".zsh_history").symlink_to(precious)
    # A whole root that is a link: only the link goes.
    logs = pod.root / "var/log/phoenix"
    for child in logs.iterdir():
        child.unlink()
    logs.rmdir()
    logs.symlink_to(outside, target_is_directory=True)
    (pod.roots.tmp_dir / "escape").symlink_to(outside, target_is_directory=True)  # type: ignore[operator]
    report = execute_plan(plan_cleanup(pod.roots, EPHEMERAL, container=True))
    assert report.failed == []
    assert precious.read_text() == "keep me"
    assert (outside / "dir" / "inner.txt").read_text() == "keep me too"
    assert hard.read_text() == "hard-linked", "a file with another hard link is not overwritten"
    for link in (output / "link-to-file", output / "link-to-dir", logs, output / "hard.txt"):
        assert not os.path.lexists(link)
    assert not os.path.lexists(pod.roots.homes[0] / ".zsh_history")


def test_a_plan_entry_outside_every_root_is_refused(pod: Pod, tmp_path: Path) -> None:
    victim = _write(tmp_path / "elsewhere" / "victim.txt", "keep")
    plan = plan_cleanup(pod.roots, VOLUME, container=True)
    forged = CleanupPlan(
        [PlanEntry(victim, "logs", "overwrite+unlink", "forged")],
        plan.mode,
        plan.container,
        plan.scope,
        plan.bases,
    )
    report = execute_plan(forged)
    assert victim.read_text() == "keep"
    assert report.failed == [{"path": str(victim), "error": "outside every known root"}]
    assert not report.ok


def _swap_for_link(folder: Path, outside: Path) -> None:
    """What another user who owns ``folder``'s parent can do: move it away, link elsewhere."""
    folder.rename(folder.with_name(folder.name + "-moved"))
    folder.symlink_to(outside, target_is_directory=True)


def test_a_folder_swapped_for_a_link_after_the_plan_is_refused(pod: Pod, tmp_path: Path) -> None:
    canary = _write(tmp_path / "outside" / "new.txt", "keep me")
    plan = plan_cleanup(pod.roots, EPHEMERAL, container=True)
    entry = pod.canaries["tmp_new_in_old_dir"]
    assert entry in {e.path for e in plan.removals}
    _swap_for_link(entry.parent, canary.parent)
    report = execute_plan(plan)
    assert canary.read_text() == "keep me", "the file outside every root was touched"
    assert [f["path"] for f in report.failed] == [str(entry)]
    assert report.failed[0]["error"]
    assert (entry.parent.with_name("image-dir-moved") / entry.name).exists(), "left alone"
    # The two canaries under the swapped folder now name the link's target; the rest went.
    assert pod.present() - {"tmp_new_in_old_dir", "tmp_old_in_old_dir"} == {"tmp_old_file"}


@pytest.mark.skipif(sys.version_info < (3, 11), reason="acts by folder descriptor on 3.11+")
def test_a_folder_swapped_for_a_link_between_check_and_action_is_refused(
    pod: Pod, tmp_path: Path
) -> None:
    canary = _write(tmp_path / "outside" / "new.txt", "keep me")
    plan = plan_cleanup(pod.roots, EPHEMERAL, container=True)
    entry = pod.canaries["tmp_new_in_old_dir"]
    (planned,) = [e for e in plan.removals if e.path == entry]
    assert planned.action == "overwrite+unlink"
    one = CleanupPlan([planned], plan.mode, plan.container, plan.scope, plan.bases)
    calls = iter(range(3))

    def clock() -> float:
        # The budget is read after the root check and before acting: swap exactly there.
        if next(calls) == 1:
            _swap_for_link(entry.parent, canary.parent)
        return 0.0

    report = execute_plan(one, budget=60, clock=clock)
    assert entry.parent.is_symlink(), "the swap happened"
    assert canary.read_text() == "keep me", "the file outside every root was zeroed or removed"
    assert report.removed == []
    assert report.failed == [
        {
            "path": str(entry),
            "error": "a folder on its way changed after the plan (now a link or not a folder); left alone",
        }
    ]


def test_cleanup_refuses_outside_the_container(pod: Pod) -> None:
    with pytest.raises(ForbiddenError) as refused:
        plan_cleanup(pod.roots, EPHEMERAL, container=False)
    assert "PHOENIX_CONTAINER=1" in refused.value.detail
    assert "--force --scope" in (refused.value.hint or "")
    with pytest.raises(ForbiddenError):
        check_allowed(container=False, force=True, scope=None)
    with pytest.raises(ForbiddenError):
        check_allowed(container=False, force=False, scope=pod.root)
    assert pod.present() == set(pod.canaries)


def test_forced_local_cleanup_touches_only_phoenix_files_under_the_scope(pod: Pod) -> None:
    models = pod.roots.models_dir
    assert models is not None
    report = run_cleanup(pod.roots, EPHEMERAL, container=False, scope=models)
    gone = {"journal", "record", "finished_control"}
    assert pod.present() == set(pod.canaries) - gone, "a local user's files are never touched"
    assert report.failed == []
    # A scope that holds none of Phoenix's files removes nothing.
    elsewhere = pod.root / "home"
    plan = plan_cleanup(pod.roots, EPHEMERAL, container=False, scope=elsewhere)
    assert plan.removals == []


def test_a_scope_confines_the_container_plan_too(pod: Pod) -> None:
    output = pod.roots.comfy_output
    assert output is not None
    plan = plan_cleanup(pod.roots, EPHEMERAL, container=True, scope=output)
    assert [e.path for e in plan.removals] == [output]
    assert any("outside the scope" in e.reason for e in plan.kept)
    execute_plan(plan)
    assert pod.present() == set(pod.canaries) - {"output"}


def test_without_a_boot_marker_tmp_is_left_alone(pod: Pod) -> None:
    roots = replace(pod.roots, boot_marker=pod.root / "missing-marker")
    plan = plan_cleanup(roots, VOLUME, container=True)
    (tmp_entry,) = [e for e in plan.entries if e.category == "tmp"]
    assert tmp_entry.action == "keep" and "no boot marker" in tmp_entry.reason


def test_roots_come_from_the_container_environment(tmp_path: Path) -> None:
    environ = {
        "HOME": str(tmp_path / "home"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "HF_HOME": str(tmp_path / "home/.cache/huggingface"),
        "TMPDIR": str(tmp_path / "tmp"),
        "PHOENIX_INPUT_DIR": str(tmp_path / "in"),
        "PHOENIX_OUTPUT_DIR": str(tmp_path / "out"),
        "PHOENIX_USER_DIR": str(tmp_path / "user"),
        "PHOENIX_TEMP_DIR": str(tmp_path / "temp"),
        "PHOENIX_MODELS_DIR": str(tmp_path / "models"),
        "PHOENIX_COMFYUI_DIR": str(tmp_path / "ComfyUI"),
        "PHOENIX_STORAGE_MODE": "ephemeral",
    }
    settings = Settings(PHOENIX_CONTAINER=True, USE_VOLUME=True, PARANOID_MODE=True)
    roots = CleanupRoots.from_environment(environ, settings)
    assert roots.runtime_dir == Path("/dev/shm/phoenix")
    assert roots.boot_marker == Path("/dev/shm/phoenix/boot-marker")
    assert roots.filebrowser_db == Path("/dev/shm/phoenix/filebrowser")
    assert roots.comfy_output == tmp_path / "out" and roots.models_dir == tmp_path / "models"
    assert roots.comfy_database == tmp_path / "ComfyUI/user/comfyui.db"
    assert roots.tmp_dir == tmp_path / "tmp"
    hf = [c for c in roots.caches if c.name == "huggingface"]
    assert len(hf) == 2 and (tmp_path / "xdg/pip") in roots.caches, "HF_HOME counted once"
    mode = StorageMode.from_environment(environ, settings)
    assert mode == StorageMode(volume=False, paranoid=True), "no volume mounted: ephemeral"
    assert StorageMode.from_environment({}, settings).volume is True


def test_a_models_folder_the_bootstrap_keeps_is_never_a_root(tmp_path: Path) -> None:
    environ = {"PHOENIX_MODELS_DIR": str(tmp_path / "mnt/models")}
    settings = Settings(PHOENIX_CONTAINER=True)
    kept = {**environ, "PHOENIX_MODELS_CLEANABLE": "0"}
    assert CleanupRoots.from_environment(kept, settings).models_dir is None
    # Not even when the caller names the folder (the CLI and ComfyUI always do).
    named = CleanupRoots.from_environment(kept, settings, models_dir=tmp_path / "mnt/models")
    assert named.models_dir is None
    for value in ("1", ""):
        roots = CleanupRoots.from_environment({**environ, "PHOENIX_MODELS_CLEANABLE": value}, settings)  # fmt: skip
        assert roots.models_dir == tmp_path / "mnt/models", value


def test_cleanup_of_a_large_pod_is_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pod = build_pod(tmp_path)
    assert pod.roots.comfy_output is not None and pod.roots.comfy_user is not None
    for n in range(1500):
        _write(pod.roots.comfy_output / f"batch{n % 30}" / f"img{n}.png", os.urandom(2048))
    for n in range(1000):
        _write(pod.roots.comfy_user / "default/workflows" / f"w{n}.json", '{"nodes": []}')
    for n in range(2500):
        _write(pod.roots.homes[0] / ".cache/pip/http" / f"{n % 50}" / f"{n}", b"c" * 512)
    started = time.perf_counter()
    plan = plan_cleanup(pod.roots, EPHEMERAL, container=True)
    planned = time.perf_counter()
    report = execute_plan(plan)
    done = time.perf_counter()
    assert report.failed == [] and pod.present() == TMP_OLD
    assert report.overwritten >= 2500
    with capsys.disabled():
        print(
            f"\ncleanup of {plan.to_dict()['total_files']} files and a 4 GB sparse model: "
            f"plan {planned - started:.2f} s, run {done - planned:.2f} s "
            f"({report.overwritten} overwritten)"
        )
    assert done - started < 60, "far beyond any stop grace period"


def test_a_time_budget_skips_overwriting_but_still_removes(pod: Pod) -> None:
    ticks = iter(range(0, 10_000, 5))
    report = execute_plan(
        plan_cleanup(pod.roots, EPHEMERAL, container=True),
        budget=1,
        clock=lambda: float(next(ticks)),
    )
    assert report.overwrite_skipped > 0 and report.failed == []
    assert pod.present() == TMP_OLD


def test_the_report_has_removed_kept_and_failed_with_reasons(pod: Pod) -> None:
    report = execute_plan(plan_cleanup(pod.roots, VOLUME, container=True)).to_dict()
    assert set(report) >= {"ok", "removed", "kept", "failed", "seconds", "bytes_removed", "storage"}
    assert report["ok"] is True and report["failed"] == []
    assert all({"path", "category", "action"} <= set(r) for r in report["removed"])
    assert all(k["reason"] for k in report["kept"])
    assert report["storage"]["mode"] == "volume"
    json.dumps(report)


# -- PARANOID_MODE's tmpfs ------------------------------------------------------------------------
def test_paranoid_storage_uses_shm_only_when_it_is_large_enough(tmp_path: Path) -> None:
    shm = tmp_path / "shm"
    shm.mkdir()
    ok, dirs, message = paranoid_storage(shm, need_bytes=1 << 20, check_tmpfs=False)
    assert ok and set(dirs) == {"input", "output", "temp", "user"}
    assert all(shm in path.parents for path in dirs.values())
    assert "never reach a disk" in message
    free = os.statvfs(shm).f_bavail * os.statvfs(shm).f_frsize
    ok, dirs, message = paranoid_storage(shm, need_bytes=free * 4, check_tmpfs=False)
    assert not ok and dirs == {}
    assert "PARANOID_MODE=true, but" in message and "needed" in message and "SSDs" in message
    missing = paranoid_storage(tmp_path / "nope", need_bytes=1, check_tmpfs=False)
    assert not missing.ok and "does not exist" in missing.message


def test_paranoid_storage_checks_the_filesystem_is_memory(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if filesystem_type(shm) == "tmpfs":
        assert paranoid_storage(shm, need_bytes=1).ok
    if filesystem_type(tmp_path) not in ("tmpfs", "ramfs"):
        refused = paranoid_storage(tmp_path, need_bytes=1)
        assert not refused.ok and "is not tmpfs" in refused.message


# -- the routes -------------------------------------------------------------------------------------
ClientMaker = Callable[..., Any]


@pytest.fixture
def serve(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> ClientMaker:
    monkeypatch.setenv("PHOENIX_RUNTIME_ENV", str(tmp_path / "no-runtime.env"))

    async def start(pod: Pod, **overrides: Any) -> TestClient[Any, Any]:
        app = web.Application()
        routes = web.RouteTableDef()
        register(routes)
        app.add_routes(routes)
        settings = make_settings(
            engine="python", runtime_dir_setting=pod.roots.runtime_dir, **overrides
        )
        PhoenixApp(
            settings,
            tokens_file=tmp_path / "tokens.json",
            preload=False,
            cleanup_roots=lambda: pod.roots,
        ).attach(app)
        client: TestClient[Any, Any] = await aiohttp_client(app)
        return client

    return start


async def test_the_panel_routes_plan_then_clean_and_status_serves_the_report(
    serve: ClientMaker, pod: Pod
) -> None:
    client = await serve(pod, container=True, use_volume=True)
    plan = await client.get("/phoenix/cleanup/plan")
    assert plan.status == 200
    listed = await plan.json()
    assert listed["storage"]["mode"] == "volume" and listed["items"]
    assert pod.present() == set(pod.canaries)
    unconfirmed = await client.post("/phoenix/cleanup", json={})
    assert unconfirmed.status == 400 and pod.present() == set(pod.canaries)
    forwarded = await client.post(
        "/phoenix/cleanup", json={"confirm": True}, headers={"X-Forwarded-For": "203.0.113.5"}
    )
    assert forwarded.status == 403, "destructive: only this machine, the token or a login"
    done = await client.post("/phoenix/cleanup", json={"confirm": True})
    report = await done.json()
    assert done.status == 200 and report["ok"] is True
    assert pod.present() == set(pod.canaries) - ALWAYS
    status = await (await client.get("/phoenix/status")).json()
    assert status["cleanup"]["removed"] == report["removed"]
    assert CANARY_HF not in json.dumps(status)


async def test_the_panel_routes_refuse_outside_the_container(serve: ClientMaker, pod: Pod) -> None:
    client = await serve(pod)
    for response in (
        await client.get("/phoenix/cleanup/plan"),
        await client.post("/phoenix/cleanup", json={"confirm": True}),
    ):
        assert response.status == 403
        assert "PHOENIX_CONTAINER" in (await response.json())["detail"]
    assert pod.present() == set(pod.canaries)


# -- the command line -------------------------------------------------------------------------------
def _phoenix(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "comfyui_phoenix.surfaces.cli", "cleanup", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def cli_env(pod: Pod, tmp_path: Path) -> Iterator[dict[str, str]]:
    roots = pod.roots
    runtime_env = tmp_path / "runtime.env"
    runtime_env.write_text(
        "\n".join(
            [
                "PHOENIX_STORAGE_MODE=ephemeral",
                f"PHOENIX_MODELS_DIR={roots.models_dir}",
                f"PHOENIX_INPUT_DIR={roots.comfy_input}",
                f"PHOENIX_OUTPUT_DIR={roots.comfy_output}",
                f"PHOENIX_USER_DIR={roots.comfy_user}",
                f"PHOENIX_TEMP_DIR={roots.comfy_temp}",
                f"PHOENIX_LOG_DIR={roots.logs_dir}",
                f"PHOENIX_COMFYUI_DIR={pod.root / 'opt/ComfyUI'}",
            ]
        )
    )
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PHOENIX_", "HF_", "CIVITAI_", "XDG_", "TMPDIR"))
    }
    yield {
        **base,
        "HOME": str(roots.homes[0]),
        "XDG_CACHE_HOME": str(pod.root / "xdg-cache"),
        "TMPDIR": str(roots.tmp_dir),
        "PHOENIX_RUNTIME_DIR": str(roots.runtime_dir),
        "PHOENIX_RUNTIME_ENV": str(runtime_env),
    }


def test_the_cli_refuses_outside_the_container(pod: Pod, cli_env: dict[str, str]) -> None:
    for args in ((), ("--dry-run",), ("--force",), ("--scope", str(pod.root))):
        result = _phoenix(*args, env=cli_env)
        assert result.returncode == 1, args
        assert "PHOENIX_CONTAINER=1" in result.stderr and "--force --scope" in result.stderr
    assert pod.present() == set(pod.canaries)
    forced = _phoenix("--force", "--scope", str(pod.roots.models_dir), env=cli_env)
    assert forced.returncode == 0, forced.stderr
    assert pod.present() == set(pod.canaries) - {"journal", "record", "finished_control"}


def test_the_cli_lists_then_cleans_the_container(pod: Pod, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "PHOENIX_CONTAINER": "1"}
    listed = _phoenix("--dry-run", env=env)
    assert listed.returncode == 0, listed.stderr
    assert str(pod.canaries["bash_history"]) in listed.stdout
    assert "overwrite+unlink" in listed.stdout and "Storage: ephemeral" in listed.stdout
    as_json = json.loads(_phoenix("--dry-run", "--json", env=env).stdout)
    assert {i["category"] for i in as_json["items"]} >= {"secrets", "histories", "models", "tmp"}
    assert pod.present() == set(pod.canaries)
    done = _phoenix("--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["removed"]
    assert pod.present() == TMP_OLD
    assert CANARY_HF not in done.stdout + done.stderr + listed.stdout


def _keep_models(cli_env: dict[str, str]) -> None:
    """What the bootstrap writes for a PHOENIX_MODELS_DIR outside the data root."""
    with open(cli_env["PHOENIX_RUNTIME_ENV"], "a") as handle:
        handle.write("\nPHOENIX_MODELS_CLEANABLE=0\n")


def _in_models(pod: Pod) -> set[str]:
    models = pod.roots.models_dir
    assert models is not None
    return {name for name, path in pod.canaries.items() if models in path.parents}


def test_the_cli_leaves_a_models_folder_the_bootstrap_keeps(
    pod: Pod, cli_env: dict[str, str]
) -> None:
    _keep_models(cli_env)
    env = {**cli_env, "PHOENIX_CONTAINER": "1"}
    listed = json.loads(_phoenix("--dry-run", "--json", env=env).stdout)
    assert "models" not in {i["category"] for i in listed["items"]}
    done = _phoenix("--json", env=env)
    assert done.returncode == 0, done.stderr
    assert _in_models(pod) >= MODELS
    assert pod.present() == TMP_OLD | _in_models(pod)


async def test_the_panel_in_comfyui_leaves_a_models_folder_the_bootstrap_keeps(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    pod: Pod,
    cli_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _keep_models(cli_env)
    # ComfyUI's process: the bootstrap's environment, and ComfyUI's own folder_paths.
    for name in ("HOME", "XDG_CACHE_HOME", "TMPDIR", "PHOENIX_RUNTIME_ENV"):
        monkeypatch.setenv(name, cli_env[name])
    roots = pod.roots
    folder_paths = types.ModuleType("folder_paths")
    for name, path in (
        ("input", roots.comfy_input),
        ("output", roots.comfy_output),
        ("user", roots.comfy_user),
        ("temp", roots.comfy_temp),
    ):
        setattr(folder_paths, f"get_{name}_directory", lambda path=path: str(path))
    monkeypatch.setitem(sys.modules, "folder_paths", folder_paths)
    settings = make_settings(
        engine="python",
        container=True,
        runtime_dir_setting=roots.runtime_dir,
        models_dir=roots.models_dir,
    )
    phoenix = PhoenixApp(
        settings,
        tokens_file=tmp_path / "tokens.json",
        preload=False,
        cleanup_roots=lambda: _cleanup_roots(phoenix),
    )
    app = web.Application()
    routes = web.RouteTableDef()
    register(routes)
    app.add_routes(routes)
    phoenix.attach(app)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    plan = await (await client.get("/phoenix/cleanup/plan")).json()
    assert plan["items"] and "models" not in {i["category"] for i in plan["items"]}
    done = await client.post("/phoenix/cleanup", json={"confirm": True})
    assert done.status == 200 and (await done.json())["ok"] is True
    assert pod.present() >= MODELS
    assert "output" not in pod.present() and "secrets" not in pod.present()
