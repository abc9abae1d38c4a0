"""The one retry loop of every optimistic read-decide-write (awards, prizes, imports).

A write conditioned on what was read is refused when another writer got there first; the
caller reads and decides again. Attempts are spaced by jittered exponential backoff ("full
jitter": a random sleep up to ``min(cap, base * 2**attempt)`` seconds) so racing writers
spread out, and bounded both in number and in time (the time budget keeps a request well
inside its Lambda timeout).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple


class Retry(NamedTuple):
    """At most ``max_attempts`` attempts within ``budget_s`` seconds (the first attempt
    always runs). ``exhausted`` builds the exception raised when they run out."""

    max_attempts: int
    budget_s: float
    exhausted: Callable[[], Exception]
    base_s: float = 0.002
    cap_s: float = 0.1

    def attempts(self) -> Iterator[int]:
        """Attempt numbers 0, 1, ... with a jittered sleep before each retry; raises
        ``exhausted()`` when the attempts or the time budget run out."""
        deadline = time.monotonic() + self.budget_s
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(random.uniform(0, min(self.cap_s, self.base_s * 2**attempt)))
                if time.monotonic() > deadline:
                    break
            yield attempt
        raise self.exhausted()
