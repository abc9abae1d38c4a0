"""Helpers that tests run inside the local stack's execution environments (through the
``environments`` fixture): each environment is a process, so patches must be made there."""

from __future__ import annotations

import os
from typing import Any


def land_next_commit_then_raise(error: str, token: str) -> None:
    """The next commit of any environment reaches DynamoDB, then ``error`` ("timeout" or
    "conflict") reaches its engine (a lost response); later commits are normal. ``token`` is
    a file: the environment that removes it first is the one that fails (once in all)."""
    from gamification import runtime
    from gamification.dal.store import WriteConflict

    store = runtime.engine().store
    real_commit = store.commit

    def commit_then_raise(tx: Any) -> Any:
        result = real_commit(tx)
        try:
            os.remove(token)
        except FileNotFoundError:
            return result
        store.commit = real_commit
        if error == "timeout":
            raise TimeoutError("Lambda timed out after DynamoDB committed")
        raise WriteConflict(["ConditionalCheckFailed"])

    store.commit = commit_then_raise


def use_rules(rules: Any) -> None:
    """Serve ``rules`` (a parsed Rules) from this environment's engine."""
    from gamification import runtime

    runtime.engine().rules = rules


def set_coin_reward(reason: str, amount: int, window: str) -> None:
    """Add or replace a coin reward in this environment's rules."""
    from gamification import runtime
    from gamification.domain.rules import CoinReward

    engine = runtime.engine()
    rules = engine.rules
    rewards = {**rules.coins.rewards, reason: CoinReward(amount=amount, window=window)}
    engine.rules = rules.model_copy(update={"coins": rules.coins.model_copy(update={"rewards": rewards})})


_calls: list[tuple[str, dict[str, Any]]] = []


def record_calls() -> None:
    """Record every DynamoDB call of this environment's engine from now on."""
    from gamification import runtime

    _calls.clear()

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        _calls.append((model.name, params))

    runtime.engine().store.client.meta.events.register("before-parameter-build.dynamodb", record, unique_id="test-record")


def recorded_calls() -> list[tuple[str, dict[str, Any]]]:
    """The calls recorded so far (and stop recording)."""
    from gamification import runtime

    runtime.engine().store.client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="test-record")
    return list(_calls)


_real_getaddrinfo: Any = None
_real_connect: Any = None


def resolve_names(names: dict[str, list[str] | list[list[str]]] | None) -> None:
    """DNS without network in this environment: each name of ``names`` resolves to its
    addresses (TCP); every other host as usual. A list of lists is a sequence of answers,
    one per lookup of that name in this environment (the last repeats): a name that
    changes its answer (DNS rebinding). ``None`` restores the real resolver.

    The fake addresses that are not loopback are fiction: a connection to one is refused at
    once (ECONNREFUSED), so that no test sends a packet to a real public host."""
    import errno
    import ipaddress
    import socket

    global _real_getaddrinfo, _real_connect
    if _real_getaddrinfo is None:
        _real_getaddrinfo, _real_connect = socket.getaddrinfo, socket.socket.connect
    real, real_connect = _real_getaddrinfo, _real_connect
    if names is None:
        socket.getaddrinfo, socket.socket.connect = real, real_connect
        return
    answers = {n: [a] if isinstance(a[0], str) else list(a) for n, a in names.items()}  # type: ignore[index]
    lookups = dict.fromkeys(answers, 0)
    fiction = {a for seq in answers.values() for answer in seq for a in answer if not ipaddress.ip_address(a).is_loopback}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        seq = answers[host]
        answer, lookups[host] = seq[min(lookups[host], len(seq) - 1)], lookups[host] + 1
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in answer]  # fmt: skip

    def connect(sock: Any, address: Any) -> Any:
        if isinstance(address, tuple) and address[0] in fiction:
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"{address[0]} is a test's fake address: not connected")
        return real_connect(sock, address)

    socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect


def set_variables(variables: dict[str, str | None]) -> None:
    """Set (or, for None, remove) environment variables of this environment, e.g.
    ``SSL_CERT_FILE`` (the CAs that ``ssl``'s default contexts trust, read at each new
    context) or ``GAMIFICATION_WEBHOOK_ALLOW_LOOPBACK`` (read at each delivery). The
    ``environments`` fixture's reset restores the test process's variables."""
    for name, value in variables.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
