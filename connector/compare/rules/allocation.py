"""N:M allocation of quantities between two sides, and unit conversion at customs precision.

One movement may be covered by several declaration lines and one line by many movements. The
allocation is a deterministic greedy fill in the order the caller gives (sorted by time, then key),
so the same inputs always give the same pairs and the same remainders on each side.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from connector.compare.settings import CompareSection

ZERO = Decimal(0)


@dataclass
class Allocation:
    pairs: list[tuple[Hashable, Hashable, Decimal]] = field(default_factory=list)
    left: dict[Hashable, Decimal] = field(default_factory=dict)  # what stays uncovered, per left key
    right: dict[Hashable, Decimal] = field(default_factory=dict)  # what stays unused, per right key

    def covered(self, key: Hashable) -> Decimal:
        return sum((q for a, b, q in self.pairs if key in (a, b)), ZERO)


def allocate(left: Sequence[tuple[Hashable, Decimal]], right: Sequence[tuple[Hashable, Decimal]],
             fits: Callable[[Hashable, Hashable], bool] | None = None,
             near: Callable[[Hashable], Sequence[tuple[Hashable, Decimal]]] | None = None) -> Allocation:
    """Fill each left quantity from the right ones in order; `fits(l, r)` limits which pairs may meet.
    `near(l)`: the part of `right`, in its order, outside of which `fits` is never true (a time
    window), so a long history is not scanned whole for every left key."""
    result = Allocation(right={k: q for k, q in right})
    for lkey, qty in left:
        need = qty
        for rkey, _ in (right if near is None else near(lkey)):
            if need <= 0:
                break
            free = result.right[rkey]
            if free > 0 and (fits is None or fits(lkey, rkey)):
                take = min(need, free)
                result.pairs.append((lkey, rkey, take))
                result.right[rkey] = free - take
                need -= take
        result.left[lkey] = need
    return result


def remainders(alloc: Allocation) -> tuple[dict, dict]:
    """Only the non-zero remainders of each side."""
    return ({k: q for k, q in alloc.left.items() if q != 0}, {k: q for k, q in alloc.right.items() if q != 0})


def convert(qty: Decimal, factor: Decimal, settings: CompareSection) -> tuple[Decimal, Decimal]:
    """`qty × factor` at the declared precision with the configured rounding, and the residue
    (exact − rounded) so a caller can show what rounding changed instead of hiding it."""
    exact = qty * factor
    rounded = settings.quantize(exact)
    return rounded, exact - rounded


def to_units(qty: Decimal, factors: dict[str, Decimal], settings: CompareSection) -> dict[str, dict[str, str]]:
    """A WMS quantity in each customs unit it maps to (declared, legal, second legal): value + residue."""
    out = {}
    for unit, factor in sorted(factors.items()):
        value, residue = convert(qty, factor, settings)
        out[unit] = {"qty": format(value, "f"), "rounding_residue": format(residue, "f")}
    return out
