"""What aria2c is told: the daemon's global options and each download's own.

Global options all go into the private configuration file; per-download ones
(where to write, which headers to send) travel over RPC, so secrets in headers
never touch the disk or the command line.
"""

from __future__ import annotations

from typing import Any

from ...errors import SourceError
from ...net.endpoint import Endpoint
from ...net.http import USER_AGENT
from ...security.redact import SECRETS
from ..base import TransferRequest

#: Headers whose values are secrets; registered for redaction before aria2 sees them.
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def daemon_options(
    port: int,
    secret: str,
    *,
    connections: int,
    min_split_size: int,
    max_rate: int | None,
    max_tries: int,
    retry_wait: int,
) -> dict[str, str]:
    """Global options, all in the configuration file; per-download ones go over RPC.

    The owner (``--stop-with-process``) is on the command line instead: see
    :func:`.daemon.command`.
    """
    return {
        "enable-rpc": "true",
        "rpc-listen-all": "false",
        "rpc-listen-port": str(port),
        "rpc-secret": secret,
        # Phoenix names, resumes and replaces files itself.
        "auto-file-renaming": "false",
        "allow-overwrite": "true",
        "continue": "true",
        # A server that ignores Range means starting over, not failing.
        "always-resume": "false",
        "max-resume-failure-tries": "0",
        # 'falloc' was about 15% faster on local ext4, but aria2 aborts (error 17)
        # where fallocate is unsupported, as on some FUSE network volumes.
        "file-allocation": "none",
        "max-connection-per-server": str(connections),
        "split": str(connections),
        "min-split-size": str(min_split_size),
        # Lowest pieces first, so the contiguous prefix the hasher follows keeps growing.
        "stream-piece-selector": "inorder",
        # Fixed, so control files written by another aria2 version still match.
        "piece-length": "1M",
        "max-overall-download-limit": str(max_rate or 0),
        "max-concurrent-downloads": "64",
        "max-tries": str(max_tries),
        "retry-wait": str(retry_wait),
        "connect-timeout": "20",
        "timeout": "60",
        # Bounds what a SIGKILL loses; each save also flushes the data written so far.
        "auto-save-interval": "1",
        "check-certificate": "true",
        "user-agent": USER_AGENT,
        # Only the bytes asked for: no torrents or metalinks behind a link, no netrc.
        "follow-torrent": "false",
        "follow-metalink": "false",
        "no-netrc": "true",
        "console-log-level": "warn",
        "summary-interval": "0",
        "show-console-readout": "false",
        "enable-color": "false",
        "download-result": "hide",
    }


def download_options(gid: str, request: TransferRequest, endpoint: Endpoint) -> dict[str, Any]:
    """The options of one download: its GID, where its part file goes, what to send.

    Raises:
        SourceError: a header contained a line break.
    """
    options: dict[str, Any] = {
        "gid": gid,
        "dir": str(request.part_path.parent),
        "out": request.part_path.name,
        "header": _headers(endpoint),
    }
    if request.max_rate:
        options["max-download-limit"] = str(request.max_rate)
    return options


def _headers(endpoint: Endpoint) -> list[str]:
    """``Name: value`` lines for aria2's ``header`` option; secrets registered for redaction."""
    lines = []
    for name, value in endpoint.headers.items():
        if any(c in name + value for c in "\r\n"):
            raise SourceError("A request header contained a line break.", hint="Report this bug.")
        if name.lower() in SENSITIVE_HEADERS:
            SECRETS.add(value, value.partition(" ")[2])
        lines.append(f"{name}: {value}")
    return lines
