"""Calendar arithmetic on plain dates (no time zones; DOMAIN.md, "Money and time")."""

from datetime import date, datetime, timedelta, tzinfo

from app.domain.errors import InvalidDate

__all__ = [
    "add_days",
    "add_months",
    "business_date",
    "days_between",
    "days_in_month",
    "days_past_due",
    "monthly_dates",
]


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """Number of days in ``month`` of ``year`` (Gregorian leap years: /4, not /100 unless /400)."""
    if month == 12:
        return 31
    if month == 2 and 1 <= year <= 9999:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    if 1 <= month <= 11 and 1 <= year <= 9999:
        return _DAYS_IN_MONTH[month - 1]  # a table: schedules ask once per installment
    return (date(year, month + 1, 1) - date(year, month, 1)).days


def add_months(d: date, months: int) -> date:
    """Add calendar months; a day that does not exist in the target month becomes its last day.

    DOMAIN.md, "Disaster deferral: the amounts": Jan 31 + 1 month = Feb 28, or Feb 29 in a leap
    year. ``months`` may be negative. Leaving years 1..9999 raises InvalidDate.
    """
    if type(months) is not int and (isinstance(months, bool) or not isinstance(months, int)):
        raise InvalidDate(f"months must be an int, got {months!r}")
    years, month_index = divmod(d.month - 1 + months, 12)
    year = d.year + years
    month = month_index + 1
    if not 1 <= year <= 9999:
        raise InvalidDate(f"{d.isoformat()} + {months} months leaves the calendar")
    day = d.day
    # Every month has at least 28 days: only a later day needs the target month's length.
    return date(year, month, day if day <= 28 else min(day, days_in_month(year, month)))


def monthly_dates(start: date, count: int) -> list[date]:
    """``add_months(start, k)`` for k = 1..count (the due dates of a schedule)."""
    return [add_months(start, months) for months in range(1, count + 1)]


def days_between(start: date, end: date) -> int:
    """Calendar days from ``start`` to ``end`` (``end - start``; negative when end is earlier)."""
    return (end - start).days


def days_past_due(delinquent_since: date | None, on: date) -> int:
    """Days past due at ``on`` = max(0, on - delinquent_since); 0 when the account is current.

    DOMAIN.md, "Data the service keeps about accounts".
    """
    if delinquent_since is None:
        return 0
    return max(0, days_between(delinquent_since, on))


def add_days(d: date, days: int) -> date:
    """Add calendar days (negative allowed); leaving years 1..9999 raises InvalidDate."""
    try:
        return d + timedelta(days=days)
    except OverflowError as error:
        raise InvalidDate(f"{d.isoformat()} + {days} days leaves the calendar") from error


def business_date(now: datetime, zone: tzinfo, pinned: date | None = None) -> date:
    """The bank's calendar day (DOMAIN.md, "The business date"): the pinned date when an admin pinned
    one, else the date of the aware instant ``now`` in the bank's zone (Asia/Shanghai by default: from
    00:00 to 08:00 there the UTC date is still yesterday)."""
    if pinned is not None:
        return pinned
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(zone).date()
