"""How revocation entries are laid out in Redis, and the one script that writes them; no I/O.

Layout, under the store's key prefix (``jwt_middleware:revocation`` by default):

* ``{prefix}:entries``, a hash from each entry's *field* to its ``until`` (the entry's identity
  is the field: a JSON array of the claim name, the issuer, the value and, for a subject, the
  ``issued_before`` moment);
* ``{prefix}:expiry``, a sorted set of the same fields scored by ``until``, so that expired
  entries are found without a scan;
* ``{prefix}:version``, a counter that every write increments;
* ``{prefix}:events``, the pub/sub channel on which each entry written is announced as
  ``"<version> <until> <field>"``.

Writing, pruning, counting and announcing happen in one Lua script, so a mirror that sees a
message also finds the entry in the next snapshot, the cap is checked against the live entries
atomically, and versions reach the channel in order: a mirror that receives version ``n + 2``
after ``n`` knows it missed a message, and one whose last version equals the counter knows it
missed none, without reading the entries again.
Timestamps travel as Python's ``repr`` of a float, which round-trips exactly; the script only
compares them (Lua's cjson would round them to 14 digits, so it is not used).
"""

from __future__ import annotations

import json
from typing import Final

from jwt_middleware.revocation.entries import EntryKind, RevocationEntry

_decode_json: Final = json.JSONDecoder().decode

__all__ = [
    "FULL_ERROR",
    "WRITE_SCRIPT",
    "Layout",
    "decode_entry",
    "decode_message",
    "decode_version",
    "encode_field",
    "encode_time",
]

#: The script's error reply when a write would exceed the cap.
FULL_ERROR: Final = "JWT_MIDDLEWARE_REVOCATIONS_FULL"

#: KEYS: entries hash, expiry set, version. ARGV: now, max entries, channel, then (field, until)
#: pairs. Prunes up to 1000 expired entries, refuses the whole write if it would exceed the cap,
#: keeps the later ``until`` of an entry written twice, and announces every live entry it was
#: given, each under a version of its own.
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
    local version = redis.call('INCR', KEYS[3])
    redis.call('PUBLISH', ARGV[3], version .. ' ' .. known .. ' ' .. field)
  end
end
return new
"""


class Layout:
    """The key and channel names of one revocation list inside a store."""

    __slots__ = ("channel", "entries", "expiry", "version")

    def __init__(self, prefix: str) -> None:
        self.entries = f"{prefix}:entries"
        self.expiry = f"{prefix}:expiry"
        self.version = f"{prefix}:version"
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
        # Decoded first: json.loads would otherwise sniff the encoding of every field.
        parts = _decode_json(field.decode() if isinstance(field, bytes) else field)
        moment = float(until)
    except (TypeError, ValueError, UnicodeDecodeError, RecursionError):
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


def decode_message(data: bytes | str) -> tuple[int, RevocationEntry]:
    """The version and the entry announced by one pub/sub message (``"<version> <until> <field>"``)."""
    text = data.decode("utf-8", "strict") if isinstance(data, bytes) else data
    parts = text.split(" ", 2)
    if len(parts) != 3 or not parts[0].isdigit():
        raise ValueError("not a revocation message")
    return int(parts[0]), decode_entry(parts[2], parts[1])


def decode_version(value: bytes | str | None) -> int:
    """The counter as stored (absent: 0, as after a restart that lost it)."""
    if value is None:
        return 0
    text = value.decode() if isinstance(value, bytes) else value
    if not text.isdigit():
        raise ValueError("the version counter is not a number")
    return int(text)
