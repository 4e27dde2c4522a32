"""``Claims``: read-only all the way down, yet a dict for serialisation, equality, pickle and copy."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from jwt_middleware import Claims, InvalidClaimError
from jwt_middleware.safe_json import FrozenDict, FrozenList
from tests.core.support import NOW, Keyring, claims, token, verifier

PAYLOAD = claims(
    scope="orders/read  orders/write openid",
    scp=["profile", "email"],
    client_id="client-1",
    token_use="access",
    username="alice",
    **{"cognito:groups": ["admins", "ops"]},
    nested={"roles": ["reader"], "org": {"id": 7}},
    amr=["pwd", "mfa"],
)


@pytest.fixture(scope="module")
def verified(keyring: Keyring) -> Claims:
    return verifier(keyring.jwks("EdDSA")).verify_sync(token(keyring["EdDSA"], PAYLOAD, typ="at+jwt"))


MUTATIONS: dict[str, Callable[[Claims], Any]] = {
    "setitem": lambda c: c.__setitem__("sub", "admin"),
    "setitem-new": lambda c: c.__setitem__("admin", True),
    "delitem": lambda c: c.__delitem__("sub"),
    "update": lambda c: c.update(sub="admin"),
    "ior": lambda c: c.__ior__({"sub": "admin"}),
    "pop": lambda c: c.pop("sub"),
    "popitem": lambda c: c.popitem(),
    "setdefault": lambda c: c.setdefault("admin", True),
    "clear": lambda c: c.clear(),
    "setattr-header": lambda c: setattr(c, "header", {}),
    "setattr-new": lambda c: setattr(c, "anything", 1),
    "delattr-header": lambda c: delattr(c, "header"),
    "delattr-cache": lambda c: delattr(c, "_scopes"),
    "nested-setitem": lambda c: c["nested"].__setitem__("org", None),
    "nested-update": lambda c: c["nested"]["org"].update(id=1),
    "nested-pop": lambda c: c["nested"].pop("roles"),
    "list-append": lambda c: c["amr"].append("none"),
    "list-setitem": lambda c: c["amr"].__setitem__(0, "x"),
    "list-delitem": lambda c: c["amr"].__delitem__(0),
    "list-extend": lambda c: c["amr"].extend(["x"]),
    "list-insert": lambda c: c["amr"].insert(0, "x"),
    "list-pop": lambda c: c["amr"].pop(),
    "list-remove": lambda c: c["amr"].remove("pwd"),
    "list-clear": lambda c: c["amr"].clear(),
    "list-sort": lambda c: c["amr"].sort(),
    "list-reverse": lambda c: c["amr"].reverse(),
    "list-iadd": lambda c: c["amr"].__iadd__(["x"]),
    "list-imul": lambda c: c["amr"].__imul__(2),
    "deep-list": lambda c: c["nested"]["roles"].append("admin"),
    "groups-list": lambda c: c["cognito:groups"].append("root"),
    "header-setitem": lambda c: c.header.__setitem__("alg", "none"),
    "header-update": lambda c: c.header.update(kid="x"),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_claims_refuse_every_mutation(verified: Claims, mutation: str) -> None:
    before = json.dumps(verified, sort_keys=True), dict(verified.header)
    with pytest.raises(TypeError):
        MUTATIONS[mutation](verified)
    assert (json.dumps(verified, sort_keys=True), dict(verified.header)) == before
    assert verified.header["typ"] == "at+jwt"


def test_claims_serialise_as_json_and_equal_the_plain_payload(verified: Claims) -> None:
    assert json.loads(json.dumps(verified)) == PAYLOAD
    assert verified == PAYLOAD
    assert dict(verified) == PAYLOAD
    assert isinstance(verified, dict)


def test_claims_survive_pickle_frozen(verified: Claims) -> None:
    restored = pickle.loads(pickle.dumps(verified))  # noqa: S301 - our own object
    assert type(restored) is Claims
    assert restored == verified
    assert restored.header == verified.header
    assert type(restored["nested"]) is FrozenDict
    assert type(restored["amr"]) is FrozenList
    with pytest.raises(TypeError):
        restored["amr"].append("x")
    with pytest.raises(TypeError):
        restored["sub"] = "admin"


def test_claims_survive_copy_and_deepcopy(verified: Claims) -> None:
    for duplicate in (copy.copy(verified), copy.deepcopy(verified)):
        assert duplicate == verified
        assert duplicate.header == verified.header
        with pytest.raises(TypeError):
            duplicate["sub"] = "admin"


def test_mutable_copies_are_independent(verified: Claims) -> None:
    mutable = dict(verified)
    mutable["sub"] = "admin"
    assert verified["sub"] == "user-1"


def test_typed_accessors(verified: Claims) -> None:
    assert verified.subject == verified.sub == "user-1"
    assert verified.issuer == PAYLOAD["iss"]
    assert verified.audience == frozenset({PAYLOAD["aud"]})
    assert verified.scopes == frozenset({"orders/read", "orders/write", "openid", "profile", "email"})
    assert verified.groups == frozenset({"admins", "ops"})
    assert verified.client_id == "client-1"
    assert verified.token_use == "access"
    assert verified.username == "alice"
    assert verified.header == {"alg": "EdDSA", "kid": "eddsa-key", "typ": "at+jwt"}
    expires_at = verified.expires_at
    assert expires_at is not None
    assert expires_at.tzinfo is not None
    assert expires_at == datetime.fromtimestamp(PAYLOAD["exp"], UTC)
    assert verified.issued_at == datetime.fromtimestamp(NOW - 10, UTC)
    assert verified.not_before is None


def test_grant_accessors_ignore_values_of_the_wrong_type() -> None:
    odd = Claims(
        {"sub": "u", "scope": ["a b"], "scp": 3, "cognito:groups": "one", "groups": [1, "two"], "azp": "c"}
    )
    assert odd.scopes == frozenset({"a b"})
    assert odd.groups == frozenset({"one", "two"})
    assert odd.roles == odd.permissions == frozenset()
    assert odd.client_id == "c"
    assert odd.expires_at is None
    assert odd.token_use is None
    assert odd.header == {}


@pytest.mark.parametrize("value", [5, 0, True, False, None, "", [], ["u"], {}, {"id": "u"}, 1.5])
@pytest.mark.parametrize(
    ("claim", "accessor"),
    [
        ("sub", "subject"),
        ("iss", "issuer"),
        ("client_id", "client_id"),
        ("azp", "client_id"),
        ("token_use", "token_use"),
        ("username", "username"),
        ("cognito:username", "username"),
        ("preferred_username", "username"),
    ],
)
def test_identity_accessors_refuse_a_present_value_that_is_not_a_string(
    claim: str, accessor: str, value: object
) -> None:
    """Never ``None`` or ``""`` for a present identity claim: that would merge distinct users."""
    odd = Claims({claim: value})
    with pytest.raises(InvalidClaimError) as caught:
        getattr(odd, accessor)
    assert caught.value.claim == claim
    assert caught.value.code == "identity.invalid"
    assert Claims({}).__getattribute__(accessor) is None
