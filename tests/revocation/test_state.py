"""The revocation core with explicit timestamps: verdicts, expiry, the cap, trust, generations."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime

import pytest

from jwt_middleware.errors import ConfigurationError, RevocationListFullError
from jwt_middleware.revocation import EntryKind, RevocationEntry, RevocationState
from jwt_middleware.revocation.entries import origin_entry, subject_entry, token_entry

ISSUER = "https://issuer.test"
OTHER = "https://other.test"
NOW = 1_800_000_000.0


def claims(**values: object) -> dict[str, object]:
    base: dict[str, object] = {"iss": ISSUER, "sub": "alice", "jti": "t-1", "iat": NOW - 60, "exp": NOW + 600}
    base.update(values)
    return {name: value for name, value in base.items() if value is not None}


def token(jti: str = "t-1", until: float = NOW + 600, issuer: str = ISSUER) -> RevocationEntry:
    return RevocationEntry(EntryKind.TOKEN, issuer, jti, until)


def subject(sub: str = "alice", before: float = NOW, until: float = NOW + 3600) -> RevocationEntry:
    return RevocationEntry(EntryKind.SUBJECT, ISSUER, sub, until, before)


def test_an_unrevoked_token_passes_and_a_revoked_one_names_its_claim() -> None:
    state = RevocationState()
    assert state.revoked_claim(claims(), NOW) is None
    state.add(token(), NOW)
    assert state.revoked_claim(claims(), NOW) == "jti"
    assert state.revoked_claim(claims(jti="t-2"), NOW) is None


def test_entries_are_per_issuer() -> None:
    state = RevocationState()
    state.add(token(issuer=OTHER), NOW)
    state.add(RevocationEntry(EntryKind.SUBJECT, OTHER, "alice", NOW + 60, NOW), NOW)
    assert state.revoked_claim(claims(), NOW) is None
    assert state.revoked_claim(claims(iss=OTHER), NOW) == "jti"


def test_origin_revokes_every_token_of_the_refresh_token_family() -> None:
    state = RevocationState()
    state.add(RevocationEntry(EntryKind.ORIGIN, ISSUER, "refresh-1", NOW + 60), NOW)
    assert state.revoked_claim(claims(jti="a", origin_jti="refresh-1"), NOW) == "origin_jti"
    assert state.revoked_claim(claims(jti="b", origin_jti="refresh-1"), NOW) == "origin_jti"
    assert state.revoked_claim(claims(jti="c", origin_jti="refresh-2"), NOW) is None
    assert state.revoked_claim(claims(jti="d"), NOW) is None


def test_subject_revocation_refuses_only_tokens_issued_before_the_moment() -> None:
    state = RevocationState()
    state.add(subject(before=NOW), NOW)
    assert state.revoked_claim(claims(iat=NOW - 1), NOW) == "sub"
    assert state.revoked_claim(claims(iat=NOW), NOW) is None  # a new sign-in at that very second
    assert state.revoked_claim(claims(iat=NOW + 5), NOW + 10) is None
    assert state.revoked_claim(claims(sub="bob", iat=NOW - 1), NOW) is None


@pytest.mark.parametrize("iat", [None, "yesterday", True, [1]])
def test_a_token_without_a_numeric_iat_cannot_show_it_is_newer(iat: object) -> None:
    state = RevocationState()
    state.add(subject(), NOW)
    payload = claims(iat=None)
    if iat is not None:
        payload["iat"] = iat
    assert state.revoked_claim(payload, NOW) == "sub"


@pytest.mark.parametrize("value", [1, None, ["t-1"], {"x": 1}])
def test_non_string_identifiers_never_match_and_never_raise(value: object) -> None:
    state = RevocationState()
    state.add(token(), NOW)
    state.add(RevocationEntry(EntryKind.ORIGIN, ISSUER, "o", NOW + 60), NOW)
    payload = claims(jti=None)
    payload.update(jti=value, origin_jti=value, iss=value)
    assert state.revoked_claim(payload, NOW) is None


def test_entries_stop_mattering_at_until_and_are_dropped_by_prune() -> None:
    state = RevocationState()
    state.add(token(until=NOW + 10), NOW)
    state.add(RevocationEntry(EntryKind.ORIGIN, ISSUER, "o", NOW + 20), NOW)
    state.add(subject(until=NOW + 30), NOW)
    assert len(state) == 3
    assert state.revoked_claim(claims(sub="bob"), NOW + 9.9) == "jti"
    assert state.revoked_claim(claims(sub="bob"), NOW + 10) is None  # over even before pruning
    assert state.revoked_claim(claims(jti="t-2"), NOW + 29.9) == "sub"
    assert state.prune(NOW + 10) == 1
    assert state.prune(NOW + 30) == 2
    assert len(state) == 0
    assert state.revoked_claim(claims(origin_jti="o"), NOW + 30) is None


def test_an_entry_already_over_is_not_added() -> None:
    state = RevocationState()
    assert state.add(token(until=NOW), NOW) is False
    assert len(state) == 0


def test_the_same_entry_twice_keeps_the_later_until() -> None:
    state = RevocationState()
    assert state.add(token(until=NOW + 100), NOW)
    assert state.add(token(until=NOW + 50), NOW) is False
    assert state.add(token(until=NOW + 200), NOW)
    assert len(state) == 1
    state.prune(NOW + 150)  # the first heap item is stale and must not drop the extended entry
    assert state.revoked_claim(claims(), NOW + 150) == "jti"
    assert state.prune(NOW + 200) == 1


def test_several_sign_outs_of_one_subject_each_keep_their_own_window() -> None:
    state = RevocationState()
    state.add(subject(before=NOW, until=NOW + 100), NOW)
    state.add(subject(before=NOW + 50, until=NOW + 60), NOW + 50)
    assert len(state) == 2
    token_between = claims(iat=NOW + 10)
    assert state.revoked_claim(token_between, NOW + 55) == "sub"
    # The later, shorter window is over; the earlier one never covered a token issued after NOW.
    state.prune(NOW + 60)
    assert len(state) == 1
    assert state.revoked_claim(token_between, NOW + 61) is None
    assert state.revoked_claim(claims(iat=NOW - 1), NOW + 61) == "sub"


def test_generation_changes_on_every_addition_and_only_then() -> None:
    state = RevocationState()
    first = state.generation
    state.add(token(until=NOW + 10), NOW)
    assert state.generation != first
    second = state.generation
    state.add(token(until=NOW + 5), NOW)  # nothing new
    state.prune(NOW + 20)  # expiry can only un-revoke, so it needs no new generation
    assert state.generation == second
    assert state.is_current(second, NOW + 20)
    state.add(token("t-9"), NOW + 20)
    assert not state.is_current(second, NOW + 20)


def test_the_cap_refuses_a_new_entry_rather_than_dropping_one() -> None:
    state = RevocationState(max_entries=2)
    state.add(token("a", until=NOW + 10), NOW)
    state.add(token("b"), NOW)
    with pytest.raises(RevocationListFullError, match="max_entries"):
        state.add(token("c"), NOW)
    assert state.revoked_claim(claims(jti="a"), NOW) == "jti"
    state.add(token("b", until=NOW + 900), NOW)  # extending a known entry needs no room
    state.add(token("c"), NOW + 10)  # "a" is over by now: its room is reused
    assert {entry.value for entry in state.entries()} == {"b", "c"}


def test_an_entry_learnt_from_elsewhere_that_does_not_fit_makes_the_mirror_unable_to_tell() -> None:
    state = RevocationState(max_entries=2)
    state.forget_confirmation()
    state.confirm(NOW + 30)
    assert state.absorb([token("a", until=NOW + 10), token("b"), token("c")], NOW) == 2
    assert not state.complete
    assert state.trusted_until == -math.inf
    state.confirm(NOW + 60)
    assert state.trusted_until == -math.inf  # a confirmation does not fill the gap
    # "a" expired, so a later snapshot fits, and the mirror can vouch again.
    state.absorb([token("b"), token("c")], NOW + 10, snapshot=True)
    assert state.complete
    assert state.trusted_until == NOW + 60


def test_trust_comes_from_confirmations_and_is_forgotten_after_a_fork() -> None:
    state = RevocationState()
    assert state.trusted_until == math.inf  # in-process: nothing to sync with
    state.forget_confirmation()
    assert not state.is_current(state.generation, NOW)
    state.confirm(NOW + 30)
    assert state.is_current(state.generation, NOW + 29.9)
    assert not state.is_current(state.generation, NOW + 30)
    state.confirm(NOW + 10)  # older news never shortens the trust
    assert state.trusted_until == NOW + 30
    state.after_fork()
    assert state.trusted_until == -math.inf


def test_memory_is_bounded_by_the_live_entries() -> None:
    state = RevocationState(max_entries=1000)
    for round_number in range(50):
        moment = NOW + round_number * 10
        state.prune(moment)
        for index in range(900):
            state.add(token(f"{round_number}-{index}", until=moment + 5), moment)
        state.add(token("steady", until=moment + 11), moment)  # re-extended every round
    assert len(state) <= 901
    assert len(state._expiries) <= 2 * 1000 + 1024  # stale heap items are compacted away


def test_concurrent_readers_never_see_a_broken_state() -> None:
    state = RevocationState(max_entries=100_000)
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                state.revoked_claim(claims(jti="w-1", origin_jti="o", sub="s"), NOW)
        except BaseException as exc:  # pragma: no cover - the assertion reports it
            failures.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    for index in range(20_000):
        state.add(token(f"w-{index}", until=NOW + 1 + index % 7), NOW)
        state.add(subject(f"s-{index % 50}", before=NOW + index, until=NOW + 3 + index % 5), NOW)
        if index % 500 == 0:
            state.prune(NOW + 2 + index % 5)
    stop.set()
    for reader in readers:
        reader.join()
    assert failures == []


# -- building entries --------------------------------------------------------------------------------


def test_a_token_entry_lasts_until_exp_plus_the_margin() -> None:
    entry = token_entry(claims(), NOW, margin=300)
    assert (entry.kind, entry.issuer, entry.value, entry.until) == (EntryKind.TOKEN, ISSUER, "t-1", NOW + 900)
    assert token_entry(claims(exp=None), NOW, lifetime=3600).until == NOW + 3600
    assert token_entry(claims(), NOW, until=datetime.fromtimestamp(NOW + 5, UTC)).until == NOW + 5


@pytest.mark.parametrize("payload", [claims(jti=None), claims(jti=""), claims(jti=7), claims(iss=None)])
def test_a_token_without_jti_or_iss_cannot_be_revoked_alone(payload: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        token_entry(payload, NOW)


def test_origin_and_subject_entries_default_to_one_token_lifetime() -> None:
    assert origin_entry(ISSUER, "o", NOW, lifetime=3600).until == NOW + 3600
    entry = subject_entry(ISSUER, "alice", NOW, lifetime=3600)
    assert (entry.issued_before, entry.until) == (NOW, NOW + 3600)
    entry = subject_entry(ISSUER, "alice", NOW, issued_before=NOW - 100, lifetime=3600)
    assert (entry.issued_before, entry.until) == (NOW - 100, NOW + 3500)


@pytest.mark.parametrize(
    "build",
    [
        lambda: origin_entry(ISSUER, "", NOW, lifetime=1),
        lambda: origin_entry("", "o", NOW, lifetime=1),
        lambda: origin_entry(ISSUER, "o", NOW, until=math.inf, lifetime=1),
        lambda: origin_entry(ISSUER, "o", NOW, until="tomorrow", lifetime=1),
        lambda: subject_entry(ISSUER, "a", NOW, issued_before=datetime(2030, 1, 1), lifetime=1),
        lambda: RevocationEntry(EntryKind.TOKEN, ISSUER, "t", NOW, issued_before=NOW),
        lambda: RevocationEntry(EntryKind.SUBJECT, ISSUER, "a", NOW),
    ],
)
def test_malformed_revocations_are_refused(build: object) -> None:
    with pytest.raises(ConfigurationError):
        build()  # type: ignore[operator]


def test_an_entry_repr_carries_no_identifier() -> None:
    entry = token_entry(claims(jti="secret-jti-value", sub="alice@example.com"), NOW)
    assert "secret-jti-value" not in repr(entry)


def test_what_a_store_lacks_is_found_by_identity_alone() -> None:
    state = RevocationState()
    kept, lost = token("kept"), token("lost", until=NOW + 900)
    signed_out = subject(before=NOW - 5)
    for entry in (kept, lost, signed_out, token("over", until=NOW + 1)):
        state.add(entry, NOW)
    held = {kept.identity, RevocationEntry(EntryKind.SUBJECT, ISSUER, "alice", NOW + 1, NOW - 5).identity}
    # An identity ignores until: the store's copy of the subject entry counts even if shorter.
    assert state.missing_from(held, NOW + 2) == [lost]
