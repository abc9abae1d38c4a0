"""Which webhook URLs the engine will call: ``https`` only in the cloud; plain ``http`` to a
loopback host (``127.0.0.1``, ``localhost``, ``::1``) only when loopback is allowed (the
local stack). One function, called at registration and again before every delivery, so a
stricter egress guard (DNS resolution, private ranges) with the same signature, returning
None and raising a 400 error, can take its place by changing only this module."""

from __future__ import annotations

from urllib.parse import urlsplit

from gamification.domain.errors import ValidationFailed

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_URL_LENGTH = 2048


def check_webhook_url(url: str, *, allow_loopback: bool) -> None:
    """None if the engine may deliver to ``url``; raises ValidationFailed (400, ``url``)."""

    def bad(why: str) -> ValidationFailed:
        return ValidationFailed(f"url: {why}", field="url")

    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise bad(f"must be an absolute URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise bad("not a URL") from None
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.fragment:
        raise bad("needs a host, and no user, password or fragment")
    if port == 0:
        raise bad("port 0")
    loopback = host in LOOPBACK_HOSTS
    if loopback and not allow_loopback:
        raise bad("loopback hosts are allowed only in the local stack")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback and allow_loopback):
        return None
    raise bad("must use https" + (" (or http to a loopback host locally)" if allow_loopback else ""))
