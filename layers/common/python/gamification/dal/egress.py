"""Outbound HTTP guard (server-side request forgery): where a webhook may be delivered.

:func:`check_webhook_url` is called when a tenant registers a webhook URL and again before
every delivery, because DNS answers change (a name that resolved to a public address at
registration may resolve to ``169.254.169.254`` later: DNS rebinding). It resolves the host
itself (``socket.getaddrinfo``, waiting at most :data:`RESOLVE_TIMEOUT_S`; this is I/O, hence the
data-access layer) and refuses the URL when *any* address it resolves to is not a public
unicast address, or when the host does not resolve in time.

Rules (docs in docs/security.md, "Webhook egress"):

- scheme ``https`` only; ``http`` only when ``allow_loopback`` (the local stack) and every
  address is loopback;
- no user info (``user:pass@host``), a host is required, the port must be valid;
- refused addresses, IPv4 and IPv6 alike (IPv4-mapped ``::ffff:a.b.c.d`` and NAT64/6to4
  forms are judged by the IPv4 address they carry): private (10/8, 172.16/12, 192.168/16,
  100.64/10 shared, fc00::/7), loopback (127/8, ::1), link-local (169.254/16 with the cloud
  metadata endpoint, fe80::/10), multicast, reserved, unspecified (0.0.0.0, ::), and every
  other non-global range of the IANA special-purpose registries (``ipaddress.is_global``);
- ``allow_loopback`` admits loopback addresses only (never private or link-local ones).

Delivery (:func:`post`) connects to an address that passed the check, never resolving the
name again (a second answer may be private: DNS rebinding), sends the URL's host in the
``Host`` header and, over https, in TLS (SNI) and verifies the certificate against it; it
never follows a redirect (a ``Location`` may name any address).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, SSLError

from gamification.domain.errors import ValidationFailed

#: Longest URL accepted (bytes of the text as given).
MAX_URL_LENGTH = 2048
#: Longest wait for the host's addresses (seconds), at registration and at delivery alike:
#: the system resolver's own retries can take tens of seconds, past the function's timeout.
RESOLVE_TIMEOUT_S = 3.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Target(NamedTuple):
    """A webhook URL that passed :func:`checked_target`, with the addresses that passed:
    delivery connects to these and to nothing else."""

    scheme: str  # "https", or "http" (loopback, the local stack only)
    host: str  # the URL's host, lower case, IDNA (ASCII), no brackets: SNI and certificate name
    port: int  # the URL's port, or the scheme's default
    explicit_port: bool  # the URL names its port (then the Host header does too)
    path: str  # request target: path (at least "/") and "?query"
    addresses: tuple[IPAddress, ...]  # every address the host resolved to, in resolver order

    @property
    def host_header(self) -> str:
        """``Host`` as the URL names it: ``host[:port]``, an IPv6 literal in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host


class InvalidWebhookUrl(ValidationFailed):
    """400 ``invalid_webhook_url``: a webhook URL that the engine will not deliver to (shape,
    scheme, host or address). A ValidationFailed (``field`` and ``errors`` name ``url``) with
    a code of its own (docs/api.md)."""

    code = "invalid_webhook_url"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: IPv4-mapped, 6to4, or NAT64 (64:ff9b::/96)."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _unwrap(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        return _embedded_ipv4(address) or address
    return address


def refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why ``address`` may not be a delivery target, or None if it may."""
    a = _unwrap(address)
    if a.is_loopback:
        return None if allow_loopback else "loopback"
    for kind in ("unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(a, f"is_{kind}"):
            return kind.replace("_", "-")
    if isinstance(a, ipaddress.IPv4Address) and a in ipaddress.IPv4Network("100.64.0.0/10"):
        return "shared (carrier-grade NAT)"
    if not a.is_global:
        return "not globally routable"
    return None


def _getaddrinfo(host: str, port: int, timeout: float) -> list[Any]:
    """``socket.getaddrinfo`` (TCP) waiting at most ``timeout`` seconds. The lookup runs in a
    daemon thread (getaddrinfo takes no timeout); one that is still waiting is left to finish
    on its own. Raises OSError (unresolvable) or TimeoutError."""
    outcome: dict[str, Any] = {}

    def lookup() -> None:
        try:
            outcome["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (UnicodeError, OSError) as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=lookup, name="webhook-dns", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["infos"]


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (TCP), waiting at most :data:`RESOLVE_TIMEOUT_S`.
    Raises InvalidWebhookUrl if none, or none in time."""
    try:
        infos = _getaddrinfo(host, port, RESOLVE_TIMEOUT_S)
    except TimeoutError as exc:
        raise InvalidWebhookUrl(f"webhook host {host!r} did not resolve within the time allowed") from exc
    except (UnicodeError, OSError) as exc:
        raise InvalidWebhookUrl(f"webhook host {host!r} does not resolve") from exc
    out: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        try:
            out.append(ipaddress.ip_address(text))
        except ValueError:
            continue
    if not out:
        raise InvalidWebhookUrl(f"webhook host {host!r} does not resolve")
    return out


def checked_target(url: str, *, allow_loopback: bool) -> Target:
    """Check a webhook URL (see the module docstring) and return it with the addresses its
    host resolved to, every one of them allowed.

    ``allow_loopback``: True only for the local stack (``http://127.0.0.1:...`` receivers in
    development). Raises :class:`InvalidWebhookUrl` (400 ``invalid_webhook_url``).
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"webhook url must be 1 to {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl("webhook url is malformed") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise InvalidWebhookUrl("webhook url must use https")
    if scheme == "http" and not allow_loopback:
        raise InvalidWebhookUrl("webhook url must use https")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("webhook url must not carry credentials")
    host = parts.hostname
    if not host:
        raise InvalidWebhookUrl("webhook url has no host")
    default_port = 443 if scheme == "https" else 80
    addresses = resolve(host, port or default_port)
    for address in addresses:
        why = refusal(address, allow_loopback=allow_loopback)
        if why:
            raise InvalidWebhookUrl(f"webhook host {host!r} resolves to a {why} address ({address}); refused")
        if scheme == "http" and not _unwrap(address).is_loopback:
            raise InvalidWebhookUrl("webhook url must use https (http only for loopback receivers)")
    try:  # the name as TLS and the Host header carry it (it resolved, so it encodes)
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:  # pragma: no cover - getaddrinfo refuses these first
        raise InvalidWebhookUrl(f"webhook host {host!r} is not a valid name") from exc
    return Target(
        scheme=scheme, host=ascii_host, port=port or default_port, explicit_port=port is not None,
        path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        addresses=tuple(dict.fromkeys(addresses)),
    )  # fmt: skip


def check_webhook_url(url: str, *, allow_loopback: bool) -> None:
    """:func:`checked_target` when only the verdict matters (registration): None, or raises
    :class:`InvalidWebhookUrl`."""
    checked_target(url, allow_loopback=allow_loopback)


def _pool(target: Target, address: IPAddress, timeout_s: float) -> urllib3.HTTPConnectionPool:
    """A one-connection pool to ``address`` itself (no name to resolve again). Over https the
    TLS name (SNI) and the name the certificate must be valid for are the URL's host."""
    timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(address), target.port, timeout=timeout, retries=False, maxsize=1,
            cert_reqs="CERT_REQUIRED", server_hostname=target.host, assert_hostname=target.host,
        )  # fmt: skip
    return urllib3.HTTPConnectionPool(str(address), target.port, timeout=timeout, retries=False, maxsize=1)


def post(target: Target, body: bytes, headers: Mapping[str, str], *, timeout_s: float) -> tuple[int | None, str | None]:
    """POST ``body`` with ``headers`` (plus ``Host``) to ``target``'s path, at its checked
    addresses in turn until one accepts the connection (a refused or timed-out connection
    sent nothing; any later failure ends the attempt). ``timeout_s``: seconds allowed for
    connecting and for each read of the answer.

    Returns (status, None) for a 2xx answer, (status, "HTTP <status>") for any other, a 3xx
    included (redirects are never followed), and (None, why) when there was no answer. The
    answer's body is not read."""
    error = "no address to connect to"
    for address in target.addresses:
        pool = _pool(target, address, timeout_s)
        try:
            response = pool.urlopen(
                "POST", target.path, body=body, headers={**headers, "Host": target.host_header},
                redirect=False, retries=False, preload_content=False,
            )  # fmt: skip
        except ConnectTimeoutError as exc:  # NewConnectionError too: nothing sent, the next address
            cause = exc.__cause__ if isinstance(exc, NewConnectionError) and exc.__cause__ else exc
            error = f"connecting to {address}: {cause}"[:200]
            continue
        except SSLError as exc:  # the handshake, the certificate or its name
            return None, f"TLS with {address}: {exc}"[:200]
        except (HTTPError, OSError) as exc:  # read timeout, protocol errors
            return None, f"{address}: {exc}"[:200]
        else:
            status = response.status
            response.close()  # and its connection: one request per attempt
        finally:
            pool.close()
        if 200 <= status < 300:
            return status, None
        return status, f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
    return None, error
