"""Which webhook URLs the engine will call (docs/security.md, "Webhook egress"). One
check, called at registration (:func:`check_webhook_url`) and again before every delivery
(:func:`webhook_target`, which returns the addresses to connect to; DNS answers change):

1. the shape, here: at most 2,048 characters and no whitespace, a host, no user, password or
   fragment, a port other than 0; ``https``, or plain ``http`` to a loopback host
   (``127.0.0.1``, ``localhost``, ``::1``) only when loopback is allowed (the local stack);
2. the addresses, by :func:`gamification.dal.egress.check_webhook_url`: the host is resolved
   (with a bounded wait) and refused when it does not resolve or when any address is
   private, loopback (unless allowed), link-local, unspecified, IPv4-mapped onto one of
   those, or otherwise not public.

Every refusal is :class:`~gamification.dal.egress.InvalidWebhookUrl` (400
``invalid_webhook_url``, field ``url``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from gamification.dal import egress
from gamification.dal.egress import MAX_URL_LENGTH, InvalidWebhookUrl

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_webhook_url(url: str, *, allow_loopback: bool) -> None:
    """None if the engine may deliver to ``url``; raises InvalidWebhookUrl (400, ``url``).

    ``allow_loopback``: the local stack's allowance (``GAMIFICATION_WEBHOOK_ALLOW_LOOPBACK``
    or ``GAMIFICATION_ALLOW_LOOPBACK_EGRESS``); it admits loopback and nothing else private."""
    webhook_target(url, allow_loopback=allow_loopback)


def webhook_target(url: str, *, allow_loopback: bool) -> egress.Target:
    """:func:`check_webhook_url`, returning what passed: the URL's parts and the addresses
    its host resolved to, which a delivery connects to (resolving again could answer a
    private address). Raises InvalidWebhookUrl (400, ``url``)."""

    def bad(why: str) -> InvalidWebhookUrl:
        return InvalidWebhookUrl(f"url: {why}")

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
    if not (parts.scheme == "https" or (parts.scheme == "http" and loopback and allow_loopback)):
        raise bad("must use https" + (" (or http to a loopback host locally)" if allow_loopback else ""))
    try:
        return egress.checked_target(url, allow_loopback=allow_loopback)
    except InvalidWebhookUrl as exc:
        raise bad(exc.message) from None
