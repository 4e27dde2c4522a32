"""Token times and durations worded for people, for the command line's reports and explanations.

A token's times are NumericDates (seconds since the epoch, UTC). The command line shows each one
twice: as an ISO-8601 UTC instant, which is exact and can be compared with logs, and relative to
now ("expired 3 min ago"), which answers the question a developer actually has. Everything here is
a pure function of (value, now) so that the wording is tested at exact boundaries without a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from jwt_middleware.policy import MAX_NUMERIC_DATE

__all__ = ["describe_time", "duration", "iso_utc", "relative"]

_MINUTE: Final = 60
_HOUR: Final = 3600
_DAY: Final = 86_400


def iso_utc(timestamp: float) -> str:
    """``2026-11-24T10:03:00Z``; fractional seconds only when the value has them.

    Raises ``ValueError`` outside year 1970..9999, which is also what the verifier accepts.
    """
    if not 0 <= timestamp <= MAX_NUMERIC_DATE:
        raise ValueError("not a NumericDate the verifier accepts")
    moment = datetime.fromtimestamp(timestamp, UTC)
    text = moment.isoformat(timespec="milliseconds" if timestamp % 1 else "seconds")
    return text.replace("+00:00", "Z")


def duration(seconds: float) -> str:
    """A rounded, unsigned span: ``45 s``, ``14 min``, ``3 h 5 min``, ``12 days``.

    Rounded to the unit shown, because "14 min" is what a reader needs; the exact instant is always
    printed next to it.
    """
    seconds = abs(seconds)
    if seconds < _MINUTE:
        return f"{round(seconds)} s"
    if seconds < _HOUR - 30:
        return f"{round(seconds / _MINUTE)} min"
    if seconds < 2 * _DAY:
        minutes = round(seconds / _MINUTE)
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = round(seconds / _DAY)
    return f"{days} days"


def relative(timestamp: float, now: float) -> str:
    """``3 min ago``, ``in 3 min``, or ``now`` within half a second."""
    delta = timestamp - now
    if abs(delta) < 0.5:
        return "now"
    return f"in {duration(delta)}" if delta > 0 else f"{duration(delta)} ago"


def describe_time(name: str, timestamp: float, now: float) -> str:
    """What a time claim means right now, in the words of a person reading the token.

    ``exp`` in the past reads "expired 3 min ago", in the future "valid for another 52 min"; ``nbf``,
    ``iat`` and ``auth_time`` likewise get the phrase that matches their role.
    """
    past = timestamp <= now
    if abs(timestamp - now) < 1:
        words = {
            "exp": "expires now",
            "nbf": "valid from now",
            "iat": "issued just now",
            "auth_time": "signed in just now",
        }
        return words.get(name, "now")
    span = duration(timestamp - now)
    if name == "exp":
        return f"expired {span} ago" if past else f"valid for another {span}"
    if name == "nbf":
        return f"valid since {span} ago" if past else f"not valid for another {span}"
    if name == "iat":
        return f"issued {span} ago" if past else f"issued {span} in the future"
    if name == "auth_time":
        return f"signed in {span} ago" if past else f"signed in {span} in the future"
    return relative(timestamp, now)
