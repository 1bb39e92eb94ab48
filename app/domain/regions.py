"""Region matching on GB/T 2260 administrative division codes (DOMAIN.md, "Region matching").

A code ending in ``0000`` covers its province, one ending in ``00`` (not ``0000``) its prefecture,
any other code exactly one county. Codes are compared as strings. Codes change when boundaries
change (Minhe county was ``632122`` until 2013 and is ``630222`` now), so both the customer's and
the event's codes are first followed through the policy's table of code changes.
"""

from collections.abc import Iterable, Mapping

from app.domain.errors import InvalidRegionCode

__all__ = [
    "coverage_prefix",
    "coverage_prefixes",
    "coverage_ranges",
    "covers",
    "current_region_code",
    "find_region_code_cycle",
    "is_covered",
    "is_valid_region_code",
]


def is_valid_region_code(code: str) -> bool:
    """True when ``code`` is exactly 6 ASCII digits."""
    # isascii() and isdigit() is exactly "every char in 0-9" (the only ASCII digits), without a
    # Python-level loop: this runs for every account of a scan.
    return isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()


def coverage_prefix(event_code: str) -> str:
    """The leading digits an event code covers: 2 (province), 4 (prefecture) or all 6 (county).

    Meant for set-based SQL (``region_code LIKE prefix || '%'``); raises InvalidRegionCode for a
    malformed code.
    """
    if not is_valid_region_code(event_code):
        raise InvalidRegionCode(f"region code must be 6 digits: {event_code!r}")
    if event_code.endswith("0000"):
        return event_code[:2]
    if event_code.endswith("00"):
        return event_code[:4]
    return event_code


def covers(event_code: str, customer_code: str) -> bool:
    """True when the event's code covers the customer's code (province, prefecture or exact county).

    "622927" does not cover "622926"; "620000" and "622900" cover "622927". A malformed event code
    raises InvalidRegionCode; a malformed customer code is simply not covered.
    """
    prefix = coverage_prefix(event_code)
    return is_valid_region_code(customer_code) and customer_code.startswith(prefix)


def current_region_code(code: str, changes: Mapping[str, str]) -> str:
    """Follow ``code`` through the old -> new table of code changes to today's code.

    Chains are followed ("632121" -> "630221" -> "630203"); a cycle stops at the last code before
    a code would repeat, so the function always ends.
    """
    seen = {code}
    current = code
    while current in changes:
        following = changes[current]
        if following in seen:
            break
        seen.add(following)
        current = following
    return current


def find_region_code_cycle(changes: Mapping[str, str]) -> tuple[str, ...] | None:
    """Return the codes of one cycle in the change table (for the policy validator), else None."""
    for start in sorted(changes):
        path = [start]
        current = start
        while current in changes:
            current = changes[current]
            if current in path:
                return (*path[path.index(current) :], current)
            path.append(current)
    return None


def is_covered(customer_code: str, event_codes: Iterable[str], changes: Mapping[str, str]) -> bool:
    """True when any event code covers the customer's region, old or current code on either side.

    The customer's code is mapped to its current code first (DOMAIN.md, "Region matching"); an
    event declared with an old code is mapped the same way, and the code as written still counts.
    A malformed event code raises InvalidRegionCode; a malformed customer code is not covered.
    """
    # This runs for every account of a scan: one startswith over a tuple of prefixes per event code
    # instead of a covers() call per pair of codes (the same answer, see `covers`).
    customer_codes = [
        code
        for code in {customer_code, current_region_code(customer_code, changes)}
        if is_valid_region_code(code)
    ]
    for event_code in event_codes:
        prefixes = (coverage_prefix(event_code), coverage_prefix(current_region_code(event_code, changes)))
        if any(code.startswith(prefixes) for code in customer_codes):
            return True
    return False


def coverage_prefixes(event_codes: Iterable[str], changes: Mapping[str, str]) -> tuple[str, ...]:
    """All ``LIKE prefix%`` prefixes selecting exactly the customer codes that :func:`is_covered` accepts.

    The prefixes of the event codes (as written and current) plus every old code in the change
    table whose current code is covered. Sorted, without duplicates; for set-based portfolio scans.
    """
    event_candidates: set[str] = set()
    for event_code in event_codes:
        event_candidates.add(event_code)
        event_candidates.add(current_region_code(event_code, changes))
    prefixes = {coverage_prefix(code) for code in event_candidates}
    for old_code in changes:
        if not is_valid_region_code(old_code):
            continue
        current = current_region_code(old_code, changes)
        if any(covers(event_code, current) for event_code in event_candidates):
            prefixes.add(old_code)
    return tuple(sorted(prefixes))


def coverage_ranges(prefixes: Iterable[str]) -> tuple[tuple[str, str | None], ...]:
    """The digit prefixes as disjoint ``[low, high)`` ranges of codes: a code starts with one of the
    prefixes exactly when ``low <= code < high`` for one range (``high`` None: no upper bound).

    For an index range scan on the region code (``region_code >= '62' AND region_code < '63'``
    selects Gansu). A prefix inside another one is dropped. ``high`` is the prefix plus one as a
    number of the same length (``'6299'`` -> ``'6300'``), so both bounds are digit strings, which
    sort alike under every collation. Sorted by ``low``.
    """
    kept: list[str] = []
    for prefix in sorted(set(prefixes)):
        if not (prefix.isascii() and prefix.isdigit()):
            raise InvalidRegionCode(f"a coverage prefix is digits only: {prefix!r}")
        if kept and prefix.startswith(kept[-1]):
            continue
        kept.append(prefix)
    ranges: list[tuple[str, str | None]] = []
    for prefix in kept:
        following = int(prefix) + 1
        high = str(following).zfill(len(prefix)) if following < 10 ** len(prefix) else None
        ranges.append((prefix, high))
    return tuple(ranges)
