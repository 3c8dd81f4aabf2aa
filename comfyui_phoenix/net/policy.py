"""Which hosts Phoenix downloads from, enforced when a URL is accepted and at connect time.

Allowed by default: HuggingFace and its CDN and storage hosts, CivitAI and its
storage hosts, the hosts of ``HF_ENDPOINT`` and ``PHOENIX_CIVITAI_BASE_URL``, and
``PHOENIX_ALLOWED_HOSTS``. Plain ``http://`` only to hosts named explicitly.
Loopback, private and link-local addresses are refused unless
``PHOENIX_ALLOW_PRIVATE_NETWORKS`` is set, also after DNS resolution (the
resolver below), so a public name that resolves to 127.0.0.1 is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from ..errors import HostNotAllowedError
from ..settings import Settings

DEFAULT_ALLOWED_HOSTS = (
    "huggingface.co",
    "*.huggingface.co",
    "hf.co",
    "*.hf.co",
    "civitai.com",
    "*.civitai.com",
    "*.r2.cloudflarestorage.com",
    "*.backblazeb2.com",
)


def _matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host != pattern[2:]
    return host == pattern


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class HostPolicy:
    """The download allow-list and the private-network rule."""

    def __init__(self, settings: Settings) -> None:
        configured = [
            (urlsplit(settings.hf_endpoint).hostname or "").lower(),
            (urlsplit(settings.civitai_base_url).hostname or "").lower(),
        ]
        self.explicit = tuple(h for h in (*configured, *settings.allowed_hosts) if h)
        self.patterns = DEFAULT_ALLOWED_HOSTS + self.explicit
        self.allow_private = settings.allow_private_networks

    def host_allowed(self, host: str) -> bool:
        return any(_matches(host.lower(), p) for p in self.patterns)

    def check_url(self, url: str) -> None:
        """Refuse a URL whose scheme or host Phoenix may not download from."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise HostNotAllowedError(
                f"Phoenix only downloads over https, not from '{url[:80]}'.",
                hint="Use an https:// link.",
            )
        if not self.host_allowed(host):
            raise HostNotAllowedError(
                f"Downloads from {host} are not allowed.",
                hint=f"Add {host} to PHOENIX_ALLOWED_HOSTS to allow it.",
                url=url,
            )
        if parts.scheme == "http" and not any(_matches(host, p) for p in self.explicit):
            raise HostNotAllowedError(
                f"{host} was reached over plain http, which is refused.",
                hint=f"Use https, or list {host} in PHOENIX_ALLOWED_HOSTS to allow http.",
                url=url,
            )
        if not self.allow_private and _literal_private(host):
            raise _private_error(host)

    def resolver(self) -> AbstractResolver:
        return PolicyResolver(self.allow_private)


def _literal_private(host: str) -> bool:
    try:
        return _is_private(host.strip("[]"))
    except ValueError:
        return host == "localhost" or host.endswith(".localhost")


def _private_error(host: str) -> HostNotAllowedError:
    return HostNotAllowedError(
        f"{host} is a loopback, private or link-local address, which is refused.",
        hint="Set PHOENIX_ALLOW_PRIVATE_NETWORKS=true to download from your own network.",
    )


class PolicyResolver(AbstractResolver):
    """Resolves names, then refuses private addresses unless they are allowed."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = ThreadedResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        public = [r for r in results if not _is_private(r["host"])]
        if not public:
            raise _private_error(host)
        return public

    async def close(self) -> None:
        await self._inner.close()
