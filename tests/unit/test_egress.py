"""The webhook egress guard, without network: ``socket.getaddrinfo`` is replaced; deliveries
go to real receiver on loopback."""

from __future__ import annotations

import ipaddress
import socket
import threading

import pytest

from tests.tls_certs import TestCA
from tools.local import lambdas

lambdas.use_layer()

from gamification.dal import egress  # noqa: E402
from gamification.dal.egress import InvalidWebhookUrl, check_webhook_url  # noqa: E402


@pytest.fixture
def dns(monkeypatch):
    """``dns["host"] = ["addr", ...]`` makes ``host`` resolve to those addresses, for the
    code under test (this thread and the lookup threads of gamification.dal.egress). Other
    threads resolve as before: in a whole-suite run the session's stream and queue pollers
    keep polling their local endpoints while this runs, and are no lookups of the test."""
    table: dict[str, list[str]] = {}
    calls: list[tuple[str, int]] = []
    real, test_thread = socket.getaddrinfo, threading.current_thread()

    def fake_getaddrinfo(host, port, *args, **kwargs):
        current = threading.current_thread()
        if current is not test_thread and current.name != "webhook-dns":
            return real(host, port, *args, **kwargs)
        calls.append((host, port))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
             (a, port, 0, 0) if ":" in a else (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    table["calls"] = calls  # type: ignore[assignment]
    return table


REFUSED = [
    "10.0.0.5", "172.16.3.4", "172.31.255.255", "192.168.1.1", "100.64.0.1",  # private, shared
    "127.0.0.1", "127.8.9.10", "::1",  # loopback
    "169.254.169.254", "fe80::1",  # link-local (cloud metadata)
    "224.0.0.1", "ff02::1",  # multicast
    "240.0.0.1", "255.255.255.255",  # reserved, broadcast
    "0.0.0.0", "::",  # unspecified
    "fc00::1", "fd12:3456::1",  # unique local
    "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",  # IPv4-mapped
    "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1",  # NAT64 and 6to4 of 169.254.169.254
    "192.0.2.10", "198.51.100.1", "2001:db8::1",  # documentation ranges
]


@pytest.mark.parametrize("address", REFUSED)
def test_a_host_resolving_to_a_non_public_address_is_refused(dns, address):
    dns["hooks.example.com"] = [address]
    with pytest.raises(InvalidWebhookUrl) as info:
        check_webhook_url("https://hooks.example.com/x", allow_loopback=False)
    assert info.value.status == 400 and info.value.body()["error"]["code"] == "invalid_webhook_url"


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_a_public_https_url_passes(dns, address):
    dns["hooks.example.com"] = [address]
    assert check_webhook_url("https://hooks.example.com:8443/in?x=1", allow_loopback=False) is None
    assert dns["calls"][-1] == ("hooks.example.com", 8443)


def test_one_private_address_among_public_ones_refuses_the_host(dns):
    dns["rebind.example.com"] = ["93.184.215.14", "10.1.2.3"]
    with pytest.raises(InvalidWebhookUrl, match="private"):
        check_webhook_url("https://rebind.example.com/", allow_loopback=False)


def test_ip_literals_are_checked_too(dns):
    dns["169.254.169.254"] = ["169.254.169.254"]
    dns["::1"] = ["::1"]
    with pytest.raises(InvalidWebhookUrl, match="link-local"):
        check_webhook_url("https://169.254.169.254/latest/meta-data/", allow_loopback=False)
    with pytest.raises(InvalidWebhookUrl, match="loopback"):
        check_webhook_url("https://[::1]/", allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.com/", "ftp://hooks.example.com/", "file:///etc/passwd", "gopher://x/", "https:///nohost",
     "https://user:pw@hooks.example.com/", "https://hooks.example.com:99999/", "", "https://" + "a" * 3000 + ".com/",
     "javascript:alert(1)"],
)
def test_bad_schemes_credentials_and_shapes_are_refused(dns, url):
    dns["hooks.example.com"] = ["93.184.215.14"]
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url(url, allow_loopback=False)


def test_an_unresolvable_host_is_refused(dns):
    with pytest.raises(InvalidWebhookUrl, match="does not resolve"):
        check_webhook_url("https://nowhere.invalid/", allow_loopback=False)


def test_locally_loopback_is_allowed_over_http_and_https(dns):
    dns["localhost"] = ["127.0.0.1", "::1"]
    dns["127.0.0.1"] = ["127.0.0.1"]
    check_webhook_url("http://localhost:9000/hook", allow_loopback=True)
    check_webhook_url("http://127.0.0.1:9000/hook", allow_loopback=True)
    check_webhook_url("https://localhost/hook", allow_loopback=True)
    with pytest.raises(InvalidWebhookUrl, match="loopback"):
        check_webhook_url("https://localhost/hook", allow_loopback=False)


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.1", "169.254.169.254", "fe80::1", "0.0.0.0"])
def test_allow_loopback_admits_loopback_only(dns, address):
    dns["lan.example"] = [address]
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url("http://lan.example/", allow_loopback=True)
    with pytest.raises(InvalidWebhookUrl):
        check_webhook_url("https://lan.example/", allow_loopback=True)


def test_http_to_a_public_host_is_refused_even_locally(dns):
    dns["hooks.example.com"] = ["93.184.215.14"]
    with pytest.raises(InvalidWebhookUrl, match="https"):
        check_webhook_url("http://hooks.example.com/", allow_loopback=True)
    check_webhook_url("https://hooks.example.com/", allow_loopback=True)


def test_refusal_reasons_cover_mapped_addresses():
    import ipaddress

    assert egress.refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    assert egress.refusal(ipaddress.ip_address("::ffff:10.0.0.1"), allow_loopback=True) == "private"
    assert egress.refusal(ipaddress.ip_address("8.8.8.8"), allow_loopback=False) is None


def test_a_resolver_that_does_not_answer_is_refused_within_the_bound(monkeypatch):
    """Registration waits for DNS as delivery does, at most RESOLVE_TIMEOUT_S: a resolver that
    hangs makes a refusal, not a request that runs into the function's timeout."""
    release = threading.Event()

    def hanging_getaddrinfo(*args, **kwargs):
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    monkeypatch.setattr(egress, "RESOLVE_TIMEOUT_S", 0.2)
    try:  # without the bound the lookup would end 10 s later as "does not resolve"
        with pytest.raises(InvalidWebhookUrl, match="did not resolve within") as info:
            check_webhook_url("https://slow.example.com/h", allow_loopback=False)
    finally:
        release.set()
    assert info.value.body()["error"]["code"] == "invalid_webhook_url"


# ---- delivery: the checked address only, no redirects, TLS names (egress.post) ----------


def post(target):
    return egress.post(target, b'{"x":1}', {"content-type": "application/json"}, timeout_s=5)


def test_the_target_keeps_what_passed_the_check(dns):
    dns["hooks.example.com"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14"]
    target = egress.checked_target("https://Hooks.Example.com:8443/in?x=1", allow_loopback=False)
    assert (target.scheme, target.host, target.port, target.path) == ("https", "hooks.example.com", 8443, "/in?x=1")
    assert [str(a) for a in target.addresses] == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert target.host_header == "hooks.example.com:8443"
    dns["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] = ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    literal = egress.checked_target("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]", allow_loopback=False)
    assert (literal.host_header, literal.port, literal.path) == ("[2606:2800:21f:cb07:6820:80da:af6b:8b2c]", 443, "/")


def test_delivery_connects_to_the_checked_address_without_resolving_the_name_again(dns, receiver):
    hook = receiver()
    dns["hooks.example.com"] = ["127.0.0.1"]
    dns["127.0.0.1"] = ["127.0.0.1"]  # the HTTP client passes the IP literal through getaddrinfo
    target = egress.checked_target(f"http://hooks.example.com:{hook.port}/in?x=1", allow_loopback=True)
    dns["hooks.example.com"] = ["10.0.0.1"]  # rebinding: a second lookup would answer a private address
    lookups = len(dns["calls"])
    assert post(target) == (200, None)
    assert [host for host, _ in dns["calls"][lookups:]] == ["127.0.0.1"]
    [call] = hook.calls
    assert (call["method"], call["path"], call["body"]) == ("POST", "/in?x=1", '{"x":1}')
    assert call["headers"]["host"] == f"hooks.example.com:{hook.port}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_answered_as_a_failure_and_not_followed(dns, receiver, status):
    elsewhere = receiver()
    hook = receiver(plan=[status], location=elsewhere.url)
    dns["127.0.0.1"] = ["127.0.0.1"]
    target = egress.checked_target(hook.url, allow_loopback=True)
    assert post(target) == (status, f"HTTP {status} (redirects are not followed)")
    assert len(hook.calls) == 1 and elsewhere.connections == 0


def test_a_refused_connection_tries_the_next_checked_address(dns, receiver):
    hook = receiver()  # on 127.0.0.1 only: 127.0.0.2 refuses the connection
    dns["127.0.0.1"], dns["127.0.0.2"] = ["127.0.0.1"], ["127.0.0.2"]
    target = egress.checked_target(hook.url, allow_loopback=True)
    second = target._replace(addresses=tuple(map(ipaddress.ip_address, ["127.0.0.2", "127.0.0.1"])))
    assert post(second) == (200, None) and len(hook.calls) == 1
    status, error = post(target._replace(addresses=(ipaddress.ip_address("127.0.0.2"),)))
    assert status is None and error.startswith("connecting to 127.0.0.2: ") and "refused" in error.lower()


def test_https_names_the_url_host_in_tls_and_verifies_the_certificate_against_it(dns, receiver, tmp_path, monkeypatch):
    """The connection goes to the IP, yet SNI and the certificate check use the URL's host."""
    ca = TestCA(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.pem))  # read by every new default TLS context
    good, wrong = receiver(tls=ca.issue("hooks.example.com")), receiver(tls=ca.issue("other.example.com"))
    dns["hooks.example.com"] = ["127.0.0.1"]
    dns["127.0.0.1"] = ["127.0.0.1"]
    ok = egress.checked_target(f"https://hooks.example.com:{good.port}/in", allow_loopback=True)
    assert post(ok) == (200, None)
    assert good.sni == ["hooks.example.com"] and good.calls[0]["headers"]["host"] == f"hooks.example.com:{good.port}"
    status, error = post(egress.checked_target(f"https://hooks.example.com:{wrong.port}/in", allow_loopback=True))
    assert status is None and error.startswith("TLS with 127.0.0.1: ") and "hooks.example.com" in error
    assert wrong.sni == ["hooks.example.com"] and wrong.calls == []
    monkeypatch.delenv("SSL_CERT_FILE")  # an unknown CA: refused as well
    status, error = post(ok)
    assert status is None and "certificate verify failed" in error and len(good.calls) == 1
