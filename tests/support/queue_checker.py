"""The "nothing lost, nothing duplicated" checker of RELIABILITY.md B2, after Jepsen's total-queue.

attempts: the logical messages an oracle says must arrive (here: what was enqueued);
deliveries: what the receiver recorded, as (idempotency key, body sha256, logical id).
lost = attempts - delivered; unexpected = delivered - attempts; a key seen with two bodies, or a
logical message delivered under two keys, is a failure; the same key and body more than once is
allowed (at-least-once) and counted as `duplicated` (Jepsen's "recovered" deliveries).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass
class Verdict:
    lost: set = field(default_factory=set)
    unexpected: set = field(default_factory=set)
    key_with_two_bodies: set = field(default_factory=set)
    logical_under_two_keys: set = field(default_factory=set)
    duplicated: int = 0

    @property
    def valid(self) -> bool:
        return not (self.lost or self.unexpected or self.key_with_two_bodies or self.logical_under_two_keys)


def check(attempts: Iterable, deliveries: Iterable[tuple[str, bytes]], logical: Callable[[bytes], object]) -> Verdict:
    """`deliveries` are (idempotency key, body) in arrival order; `logical` names a body's message."""
    expected = set(attempts)
    bodies_of_key: dict[str, set[str]] = defaultdict(set)
    keys_of_logical: dict[object, set[str]] = defaultdict(set)
    seen: Counter = Counter()
    for key, body in deliveries:
        digest = hashlib.sha256(body).hexdigest()
        bodies_of_key[key].add(digest)
        keys_of_logical[logical(body)].add(key)
        seen[(key, digest)] += 1
    delivered = set(keys_of_logical)
    return Verdict(lost=expected - delivered, unexpected=delivered - expected,
                   key_with_two_bodies={k for k, b in bodies_of_key.items() if len(b) > 1},
                   logical_under_two_keys={m for m, k in keys_of_logical.items() if len(k) > 1},
                   duplicated=sum(n - 1 for n in seen.values()))
