"""The revocation mirror as a state machine: entries, expiry, the cap and the verdict; no I/O.

Everything that decides "revoked, not revoked, or cannot tell" lives here and takes the time as
an argument, so the in-process list, the Redis mirror and the tests drive the same code with
explicit timestamps. The shells only feed it (local revocations, pub/sub messages, snapshots) and
tell it when their knowledge was last confirmed.

Two numbers make the request path cheap. ``generation`` changes whenever an entry is added, and a
verified token remembers the generation at which it was last found not revoked; entries only
ever disappear by expiring, which cannot revoke anything, so a token checked at the current
generation needs no lookup at all. ``trusted_until`` is the moment after which the mirror's
knowledge is too old to vouch for anything (``max_stale`` after the last confirmed sync; never for
the in-process list); after it the verdict for an unrevoked token is "cannot tell".
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

from jwt_middleware.errors import ConfigurationError, RevocationListFullError
from jwt_middleware.revocation.entries import EntryKind, RevocationEntry

__all__ = ["DEFAULT_MAX_ENTRIES", "RevocationState"]

#: Live entries one list holds by default (about 25 MiB of mirror at most).
DEFAULT_MAX_ENTRIES: Final = 100_000

_NEVER: Final = -math.inf
_Pair = tuple[str, str]
# (issued_before, until) of each live subject revocation; usually just one.
_SubjectWindows = tuple[tuple[float, float], ...]


class RevocationState:
    """The live entries of one revocation list, indexed for the request path's lookups.

    Reads (``revoked_claim``) take no lock; every change happens under ``_lock`` and bumps
    ``generation`` only after the entry is visible, so a reader that saw the old generation
    either saw the entry or will look again.
    """

    __slots__ = (
        "_complete",
        "_confirmed_until",
        "_expiries",
        "_lock",
        "_origins",
        "_subject_count",
        "_subjects",
        "_tokens",
        "generation",
        "max_entries",
        "trusted_until",
    )

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("max_entries must be a positive integer")
        self.max_entries = max_entries
        self._tokens: dict[_Pair, float] = {}
        self._origins: dict[_Pair, float] = {}
        self._subjects: dict[_Pair, _SubjectWindows] = {}
        self._subject_count = 0
        # (until, kind, issuer, value, issued_before) per entry; stale items are skipped on pop.
        self._expiries: list[tuple[float, str, str, str, float]] = []
        self._lock = threading.Lock()
        self._complete = True
        self._confirmed_until = math.inf  # Until a syncing shell says otherwise.
        #: Bumped on every addition; see the module docstring.
        self.generation = 0
        #: Until when a token found unrevoked may be served as such (``-inf``: cannot tell now).
        self.trusted_until = self._confirmed_until

    # -- the verdict ------------------------------------------------------------------------------

    def revoked_claim(self, claims: Mapping[str, Any], now: float) -> str | None:
        """The claim by which ``claims`` are revoked at ``now`` (``jti``/``origin_jti``/``sub``), or ``None``.

        ``None`` means "not revoked as far as this mirror knows"; whether it knows enough is
        ``now < trusted_until``.
        """
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            return None
        if self._tokens:
            jti = claims.get("jti")
            if isinstance(jti, str):
                until = self._tokens.get((issuer, jti))
                if until is not None and now < until:
                    return EntryKind.TOKEN.value
        if self._origins:
            origin = claims.get("origin_jti")
            if isinstance(origin, str):
                until = self._origins.get((issuer, origin))
                if until is not None and now < until:
                    return EntryKind.ORIGIN.value
        if self._subjects:
            subject = claims.get("sub")
            if isinstance(subject, str):
                windows = self._subjects.get((issuer, subject))
                if windows is not None:
                    issued_at = claims.get("iat")
                    # Without a numeric iat the token cannot show it came after the sign-out.
                    if type(issued_at) is not int and type(issued_at) is not float:
                        issued_at = _NEVER
                    for issued_before, until in windows:
                        if issued_at < issued_before and now < until:
                            return EntryKind.SUBJECT.value
        return None

    def is_current(self, generation: int, now: float) -> bool:
        """Whether a token found unrevoked at ``generation`` is still known to be unrevoked at ``now``."""
        return generation == self.generation and now < self.trusted_until

    # -- changes ----------------------------------------------------------------------------------

    def add(self, entry: RevocationEntry, now: float) -> bool:
        """Add one local revocation; ``False`` if nothing changed (already known, or already over).

        Raises ``RevocationListFullError`` rather than dropping anything: the caller learns that
        this revocation did not happen.
        """
        with self._lock:
            if not self._has_room_for(entry, now):
                raise RevocationListFullError(
                    f"the revocation list holds its maximum of {self.max_entries} live entries; "
                    "raise max_entries or shorten token lifetimes"
                )
            changed = self._put(entry, now)
            if changed:
                self.generation += 1
            return changed

    def absorb(self, entries: Iterable[RevocationEntry], now: float, *, snapshot: bool = False) -> int:
        """Merge entries learnt from elsewhere (messages, a snapshot); the number that were new.

        Never raises: an entry that does not fit makes the mirror incomplete, which is "cannot
        tell" for every unrevoked token (fail closed) until a ``snapshot`` fits again.
        """
        added = 0
        overflowed = False
        with self._lock:
            for entry in entries:
                if not self._has_room_for(entry, now):
                    overflowed = True
                    continue
                if self._put(entry, now):
                    added += 1
            if added:
                self.generation += 1
            if overflowed:
                self._complete = False
            elif snapshot:
                self._complete = True
            self._update_trust()
        return added

    def confirm(self, until: float) -> None:
        """Record that the mirror may vouch for tokens until ``until`` (a sync + ``max_stale``)."""
        with self._lock:
            if until > self._confirmed_until:
                self._confirmed_until = until
                self._update_trust()

    def forget_confirmation(self) -> None:
        """Cannot tell from now on until the next ``confirm`` (a process forked from this one)."""
        with self._lock:
            self._confirmed_until = _NEVER
            self._update_trust()

    def after_fork(self) -> None:
        """In a child process: a fresh lock (the parent's may have been held) and nothing confirmed."""
        self._lock = threading.Lock()
        self.forget_confirmation()

    @property
    def complete(self) -> bool:
        """``False`` after an entry learnt from elsewhere did not fit under ``max_entries``."""
        return self._complete

    def prune(self, now: float) -> int:
        """Drop entries that are over at ``now``; the number dropped. Never changes a verdict's safety."""
        with self._lock:
            return self._prune(now)

    # -- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._tokens) + len(self._origins) + self._subject_count

    def entries(self, now: float | None = None) -> list[RevocationEntry]:
        """Every entry (live at ``now`` if given), ordered by kind, issuer and value."""
        found = [entry for entry in self._iter_entries() if now is None or now < entry.until]
        found.sort(key=lambda e: (e.kind.value, e.issuer, e.value, e.issued_before or 0.0))
        return found

    def missing_from(self, identities: set[tuple[object, ...]], now: float) -> list[RevocationEntry]:
        """The live entries whose ``identity`` is not among ``identities`` (what a store lacks).

        Builds an entry only for what is missing, so comparing a large mirror with a snapshot of
        the same entries costs a set lookup each.
        """
        missing = []
        for kind, issuer, value, until, before in self._iter_raw():
            if now < until and (kind, issuer, value, before) not in identities:
                missing.append(RevocationEntry(kind, issuer, value, until, before))
        return missing

    # -- internals (called with the lock held) ----------------------------------------------------

    def _has_room_for(self, entry: RevocationEntry, now: float) -> bool:
        if len(self) < self.max_entries or self._knows(entry):
            return True
        self._prune(now)
        return len(self) < self.max_entries

    def _prune(self, now: float) -> int:
        dropped = 0
        heap = self._expiries
        while heap and heap[0][0] <= now:
            until, kind, issuer, value, issued_before = heapq.heappop(heap)
            dropped += self._drop(EntryKind(kind), issuer, value, issued_before, until)
        if len(heap) > 2 * len(self) + 1024:
            self._rebuild_heap()
        return dropped

    def _knows(self, entry: RevocationEntry) -> bool:
        pair = (entry.issuer, entry.value)
        if entry.kind is EntryKind.TOKEN:
            return pair in self._tokens
        if entry.kind is EntryKind.ORIGIN:
            return pair in self._origins
        return any(before == entry.issued_before for before, _ in self._subjects.get(pair, ()))

    def _put(self, entry: RevocationEntry, now: float) -> bool:
        if entry.until <= now:
            return False
        pair = (entry.issuer, entry.value)
        if entry.kind is EntryKind.SUBJECT:
            assert entry.issued_before is not None
            windows = self._subjects.get(pair, ())
            kept = []
            for before, until in windows:
                if before == entry.issued_before:
                    if until >= entry.until:
                        return False
                else:
                    kept.append((before, until))
            self._subject_count += len(kept) + 1 - len(windows)
            self._subjects[pair] = (*kept, (entry.issued_before, entry.until))
        else:
            table = self._tokens if entry.kind is EntryKind.TOKEN else self._origins
            known = table.get(pair)
            if known is not None and known >= entry.until:
                return False
            table[pair] = entry.until
        heapq.heappush(
            self._expiries,
            (entry.until, entry.kind.value, entry.issuer, entry.value, entry.issued_before or 0.0),
        )
        return True

    def _drop(self, kind: EntryKind, issuer: str, value: str, issued_before: float, until: float) -> int:
        pair = (issuer, value)
        if kind is EntryKind.SUBJECT:
            windows = self._subjects.get(pair, ())
            kept = tuple(window for window in windows if window != (issued_before, until))
            if len(kept) == len(windows):
                return 0
            self._subject_count -= len(windows) - len(kept)
            if kept:
                self._subjects[pair] = kept
            else:
                del self._subjects[pair]
            return 1
        table = self._tokens if kind is EntryKind.TOKEN else self._origins
        if table.get(pair) != until:
            return 0  # Extended since this heap item was pushed.
        del table[pair]
        return 1

    def _rebuild_heap(self) -> None:
        self._expiries = [
            (e.until, e.kind.value, e.issuer, e.value, e.issued_before or 0.0) for e in self._iter_entries()
        ]
        heapq.heapify(self._expiries)

    def _iter_raw(self) -> Iterator[tuple[EntryKind, str, str, float, float | None]]:
        """(kind, issuer, value, until, issued_before) of every entry, from copies of the tables."""
        for (issuer, value), until in list(self._tokens.items()):
            yield EntryKind.TOKEN, issuer, value, until, None
        for (issuer, value), until in list(self._origins.items()):
            yield EntryKind.ORIGIN, issuer, value, until, None
        for (issuer, value), windows in list(self._subjects.items()):
            for before, until in windows:
                yield EntryKind.SUBJECT, issuer, value, until, before

    def _iter_entries(self) -> Iterator[RevocationEntry]:
        for kind, issuer, value, until, before in self._iter_raw():
            yield RevocationEntry(kind, issuer, value, until, before)

    def _update_trust(self) -> None:
        self.trusted_until = self._confirmed_until if self._complete else _NEVER
