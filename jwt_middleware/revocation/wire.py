"""How revocation entries are laid out in Redis, and the one script that writes them; no I/O.

Layout, under the store's key prefix (``jwt_middleware:revocation`` by default):

* ``{prefix}:entries``, a hash from each entry's *field* to its ``until`` (the entry's identity
  is the field: a JSON array of the claim name, the issuer, the value and, for a subject, the
  ``issued_before`` moment);
* ``{prefix}:expiry``, a sorted set of the same fields scored by ``until``, so that expired
  entries are found without a scan;
* ``{prefix}:events``, the pub/sub channel on which each write is announced as
  ``"<until> <field>"``.

Writing, pruning and announcing happen in one Lua script, so a mirror that sees a message also
finds the entry in the next snapshot, and the cap is checked against the live entries atomically.
Timestamps travel as Python's ``repr`` of a float, which round-trips exactly; the script only
compares them (Lua's cjson would round them to 14 digits, so it is not used).
"""

from __future__ import annotations

import json
from typing import Final

from jwt_middleware.revocation.entries import EntryKind, RevocationEntry

__all__ = [
    "FULL_ERROR",
    "WRITE_SCRIPT",
    "Layout",
    "decode_entry",
    "decode_message",
    "encode_field",
    "encode_time",
]

#: The script's error reply when a write would exceed the cap.
FULL_ERROR: Final = "JWT_MIDDLEWARE_REVOCATIONS_FULL"

#: KEYS: entries hash, expiry set. ARGV: now, max entries, channel, then (field, until) pairs.
#: Prunes up to 1000 expired entries, refuses the whole write if it would exceed the cap, keeps
#: the later ``until`` of an entry written twice, and announces every entry it was given.
WRITE_SCRIPT: Final = f"""
local now = tonumber(ARGV[1])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
end
local new = 0
for i = 4, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then new = new + 1 end
end
if new > 0 and redis.call('HLEN', KEYS[1]) + new > tonumber(ARGV[2]) then
  return redis.error_reply('{FULL_ERROR}')
end
for i = 4, #ARGV, 2 do
  local field, till = ARGV[i], ARGV[i + 1]
  local known = redis.call('HGET', KEYS[1], field)
  if (not known) or tonumber(known) < tonumber(till) then
    redis.call('HSET', KEYS[1], field, till)
    redis.call('ZADD', KEYS[2], till, field)
    known = till
  end
  if tonumber(known) > now then
    redis.call('PUBLISH', ARGV[3], known .. ' ' .. field)
  end
end
return new
"""


class Layout:
    """The key and channel names of one revocation list inside a store."""

    __slots__ = ("channel", "entries", "expiry")

    def __init__(self, prefix: str) -> None:
        self.entries = f"{prefix}:entries"
        self.expiry = f"{prefix}:expiry"
        self.channel = f"{prefix}:events"


def encode_time(moment: float) -> str:
    return repr(float(moment))


def encode_field(entry: RevocationEntry) -> str:
    parts: list[object] = [entry.kind.value, entry.issuer, entry.value]
    if entry.issued_before is not None:
        parts.append(float(entry.issued_before))
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=False)


def decode_entry(field: bytes | str, until: bytes | str) -> RevocationEntry:
    """The entry stored as ``field`` -> ``until``; ``ValueError`` for anything we did not write."""
    try:
        parts = json.loads(field)
        moment = float(until)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise ValueError("not a revocation entry") from None
    if not isinstance(parts, list) or len(parts) not in (3, 4):
        raise ValueError("not a revocation entry")
    try:
        kind = EntryKind(parts[0])
    except ValueError:
        raise ValueError("unknown revocation kind") from None
    issued_before = parts[3] if len(parts) == 4 else None
    if issued_before is not None and type(issued_before) not in (int, float):
        raise ValueError("issued_before is not a number")
    try:
        return RevocationEntry(kind, parts[1], parts[2], moment, issued_before)
    except ValueError:  # ConfigurationError, from the entry's own checks
        raise ValueError("not a valid revocation entry") from None


def decode_message(data: bytes | str) -> RevocationEntry:
    """The entry announced by one pub/sub message (``"<until> <field>"``)."""
    text = data.decode("utf-8", "strict") if isinstance(data, bytes) else data
    until, separator, field = text.partition(" ")
    if not separator:
        raise ValueError("not a revocation message")
    return decode_entry(field, until)
