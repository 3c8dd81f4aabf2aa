#!/usr/bin/env python3
"""Boot Phoenix's image on the CPU and check what a RunPod user relies on; print the figures.

    python3 .ci/image/check_boot.py IMAGE [--docker docker] [--json figures.json]

It starts the image with ``PHOENIX_CPU_MODE=true`` and canary tokens, then checks:

* the boot log: no step marked failed (❌), the report's state ``running``;
* the login gate: anonymous requests are refused, a login gets a session that passes;
* FileBrowser answers on 8080 and takes its login;
* Docker's HEALTHCHECK turns ``healthy``;
* ComfyUI and FileBrowser run as ``sduser``, not root;
* no child process holds a token in its environment or command line;
* ``docker stop`` ends it within Docker's 10 s, cleanup done, exit status 0.

Figures: boot-to-ready (``docker start`` to the first gated answer with a session) and
stop time. Any failed check exits 1 and says which.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

NAME = "phoenix-ci-boot"
CANARIES = {
    "HF_TOKEN": "hf_canaryTokenThatMustNeverLeak0001",
    "CIVITAI_TOKEN": "civitai-canary-token-never-leak-0002",
    "PHOENIX_API_TOKEN": "phx-canary-api-token-never-leak-0003",
    "FB_PASSWORD": "canary filebrowser password 0004",
    "COMFY_PASSWORD": "canary comfy password 0005",
}
COMFY_USER = "pod-owner"


@dataclass
class Checks:
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> bool:
        print(f"{'✅' if ok else '❌'} {what}", flush=True)
        if not ok:
            self.failures.append(what)
        return ok


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Docker:
    def __init__(self, command: str) -> None:
        self.command = command

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [self.command, *args], capture_output=True, text=True, check=False, timeout=120
        )
        if check and done.returncode != 0:
            raise SystemExit(f"docker {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def logs(self, *extra: str) -> str:
        """The container's stdout and stderr (the bootstrap logs to one, ComfyUI to the other)."""
        done = subprocess.run(
            [self.command, "logs", *extra, NAME], capture_output=True, text=True, check=False
        )
        return done.stdout + done.stderr

    def exec(self, *args: str) -> str:
        return self.run("exec", NAME, *args, check=False)

    def report(self) -> dict[str, Any]:
        text = self.exec("cat", "/dev/shm/phoenix/boot-report.json")  # noqa: S108 - inside the container
        try:
            data: dict[str, Any] = json.loads(text)
        except ValueError:
            return {}
        return data


def request(
    url: str,
    *,
    body: dict[str, str] | None = None,
    opener: urllib.request.OpenerDirector | None = None,
) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - loopback only
    try:
        with (opener or urllib.request.build_opener()).open(req, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()
    except OSError:
        return 0, b""


def wait_for(what: str, test: Any, timeout: float, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(every)
    raise SystemExit(f"❌ timed out after {timeout:.0f} s waiting for {what}")


def start(docker: Docker, image: str, comfy_port: int, fb_port: int) -> float:
    docker.run("rm", "-f", NAME, check=False)
    env = {**CANARIES, "PHOENIX_CPU_MODE": "true", "HF_REPOS_TO_DOWNLOAD": ""}
    env |= {"COMFY_USERNAME": COMFY_USER, "FB_USERNAME": "admin"}
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    docker.run(
        "create", "--name", NAME, "-p", f"127.0.0.1:{comfy_port}:7860",
        "-p", f"127.0.0.1:{fb_port}:8080", *flags, image,
    )  # fmt: skip
    started = time.monotonic()
    docker.run("start", NAME)
    return started


def check_gate(checks: Checks, base: str) -> None:
    status, _ = request(f"{base}/system_stats")
    checks.check(status == 401, f"gate: an anonymous /system_stats is refused ({status})")
    status, _ = request(f"{base}/phoenix/health")
    checks.check(status == 200, f"gate: /phoenix/health is open ({status})")
    wrong = {"username": COMFY_USER, "password": "not the password"}
    status, _ = request(f"{base}/phoenix/login", body=wrong)
    checks.check(status == 401, f"gate: a wrong password is refused ({status})")
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = {"username": COMFY_USER, "password": CANARIES["COMFY_PASSWORD"]}
    status, _ = request(f"{base}/phoenix/login", body=login, opener=opener)
    checks.check(status == 200 and len(jar) == 1, f"gate: the login works ({status})")
    status, body = request(f"{base}/system_stats", opener=opener)
    stats = json.loads(body) if status == 200 else {}
    checks.check("--cpu" in stats.get("system", {}).get("argv", []), "gate: the session passes")
    status, _ = request(f"{base}/api/phoenix/status", opener=opener)
    checks.check(status == 200, f"gate: Phoenix's status answers a session ({status})")


def check_filebrowser(checks: Checks, base: str) -> None:
    status, _ = request(f"{base}/health")
    checks.check(status == 200, f"filebrowser: answers on 8080 ({status})")
    login = {"username": "admin", "password": CANARIES["FB_PASSWORD"]}
    status, _ = request(f"{base}/api/login", body=login)
    checks.check(status == 200, f"filebrowser: takes FB_USERNAME / FB_PASSWORD ({status})")


#: Run inside the container (it may have no ps): every other process's user, argv, environ.
#: Without CAP_SYS_PTRACE only a process's own user may read its environ, so this runs
#: once as root and once as sduser; a process neither could read is reported, not skipped.
PROC_DUMP = """
import json, os, pwd
rows = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) == os.getpid():
        continue
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        argv = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace").split("\\0")
    except OSError:
        continue
    try:
        environ = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
    except OSError:
        environ = None
    rows.append({"pid": int(pid), "user": pwd.getpwuid(uid).pw_name, "argv": argv, "environ": environ})
print(json.dumps(rows))
"""


def processes(docker: Docker) -> list[dict[str, Any]]:
    """Every process but the probes, each with the environ that root or sduser could read."""
    merged: dict[int, dict[str, Any]] = {}
    for user in ("root", "sduser"):
        text = docker.run("exec", "-u", user, NAME, "python3", "-c", PROC_DUMP, check=False)
        for row in json.loads(text or "[]"):
            if row["argv"][:2] == ["python3", "-c"]:
                continue  # the other probe
            if row["environ"] is not None or row["pid"] not in merged:
                merged[row["pid"]] = row
    return list(merged.values())


def check_processes(checks: Checks, docker: Docker, report: dict[str, Any]) -> None:
    rows = processes(docker)
    users = {row["pid"]: row["user"] for row in rows}
    for name in ("comfyui", "filebrowser"):
        pid = report.get("services", {}).get(name, {}).get("pid")
        checks.check(
            users.get(pid) == "sduser", f"users: {name} (pid {pid}) runs as {users.get(pid)}"
        )
    # tini (PID 1) and the bootstrap start with the tokens; nothing they start may hold one.
    bootstrap = next(
        row["pid"] for row in rows if "bootstrap" in row["argv"] and "-m" in row["argv"]
    )
    children = [row for row in rows if row["pid"] not in (1, bootstrap)]
    tini = next((row for row in rows if row["pid"] == 1), {"environ": None})
    seen = any(v in (tini["environ"] or "") for v in CANARIES.values())
    checks.check(seen, "secrets: the probe sees the tokens where Docker put them (PID 1)")
    unread = [row["pid"] for row in children if row["environ"] is None]
    checks.check(not unread, f"secrets: every child's environment could be read {unread}")
    leaked = [
        f"{row['pid']} {' '.join(row['argv'])[:60]}"
        for row in children
        if any(
            v in (row["environ"] or "") or v in "\0".join(row["argv"]) for v in CANARIES.values()
        )
    ]
    shown = ", ".join(sorted({os.path.basename(row["argv"][0]) for row in children}))
    checks.check(
        not leaked,
        f"secrets: none in the environ or argv of {len(children)} children ({shown}) {leaked}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("image")
    parser.add_argument("--docker", default="docker")
    parser.add_argument("--json", help="write the figures there")
    parser.add_argument("--log", help="write the container's log there")
    args = parser.parse_args()
    docker, checks = Docker(args.docker), Checks()
    comfy_port, fb_port = free_port(), free_port()
    base = f"http://127.0.0.1:{comfy_port}"
    started = start(docker, args.image, comfy_port, fb_port)
    try:
        wait_for(
            "ComfyUI behind the gate", lambda: request(f"{base}/phoenix/health")[0] == 200, 600, 0.2
        )
        ready_s = time.monotonic() - started
        report = wait_for(
            "the boot report", lambda: (r := docker.report()).get("gate") is not None and r, 120
        )
        checks.check(report.get("state") == "running", f"boot: state {report.get('state')}")
        log = docker.logs()
        marks = [line for line in log.splitlines() if "❌" in line]
        checks.check(not marks, f"boot: no step failed {marks}")
        checks.check("Phoenix boot report" in log, "boot: the report was printed")
        check_gate(checks, base)
        check_filebrowser(checks, f"http://127.0.0.1:{fb_port}")
        check_processes(checks, docker, report)
        health = wait_for(
            "Docker's health check",
            lambda: (
                docker.run("inspect", "-f", "{{.State.Health.Status}}", NAME).strip() == "healthy"
            ),
            120,
            1.0,
        )
        checks.check(bool(health), "healthcheck: healthy")
        began = time.monotonic()
        docker.run("stop", "-t", "10", NAME)
        stop_s = time.monotonic() - began
        code = docker.run("inspect", "-f", "{{.State.ExitCode}}", NAME).strip()
        tail = docker.logs("--tail", "5")
        checks.check(stop_s < 10 and code == "0", f"stop: {stop_s:.2f} s, exit status {code}")
        checks.check("children stopped and the pod cleaned" in tail, "stop: cleanup ran")
    finally:
        log = docker.logs()
        leaked_in_log = [k for k, v in CANARIES.items() if v in log]
        if args.log:
            with open(args.log, "w") as out:
                out.write(log)
        checks.check(not leaked_in_log, f"secrets: none in the container log {leaked_in_log}")
        docker.run("rm", "-f", NAME, check=False)
    figures = {"boot_to_ready_s": round(ready_s, 1), "stop_s": round(stop_s, 2)}
    print(json.dumps(figures))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out)
    if checks.failures:
        print(f"{len(checks.failures)} checks failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
