"""``ClaimMapping``: validated once, filled once, read lazily once per ``Claims`` object."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from jwt_middleware import ClaimMapping, Claims, ConfigurationError, InsufficientScopeError
from jwt_middleware.claim_mapping import DEFAULT_CLAIM_MAPPING
from jwt_middleware.policy import GrantCheck, ScopesCheck
from tests.core.support import Keyring, claims, token, verifier

KEYCLOAK = ClaimMapping(
    scopes="scope",
    roles=("realm_access.roles", "resource_access.{client_id}.roles"),
    client_id="orders.app",  # dots in a client id stay inside one segment
)


def test_the_default_keeps_todays_claims_and_adds_roles_and_permissions() -> None:
    mapping = ClaimMapping()
    assert mapping == DEFAULT_CLAIM_MAPPING
    assert mapping.scopes == ("scope", "scp")
    assert mapping.groups == ("cognito:groups", "groups")
    assert mapping.roles == ("roles",)
    assert mapping.permissions == ("permissions",)
    token_claims = Claims(
        {"scope": "a b", "scp": ["c"], "groups": ["g"], "roles": ["r"], "permissions": ["p:read"]}
    )
    assert token_claims.scopes == {"a", "b", "c"}
    assert token_claims.groups == {"g"}
    assert token_claims.roles == {"r"}
    assert token_claims.permissions == {"p:read"}


def test_dotted_paths_reach_into_objects_and_placeholders_fill_whole_segments() -> None:
    payload = {
        "realm_access": {"roles": ["realm-admin"]},
        "resource_access": {"orders.app": {"roles": ["clerk"]}, "other": {"roles": ["root"]}},
        "orders": {"app": {"roles": ["never"]}},  # what a naive "fill, then split" would read
    }
    assert Claims(payload, claim_mapping=KEYCLOAK).roles == {"realm-admin", "clerk"}


def test_a_claim_named_like_the_whole_path_is_read_first() -> None:
    mapping = ClaimMapping(roles="https://example.com/roles")
    assert Claims({"https://example.com/roles": ["editor"]}, claim_mapping=mapping).roles == {"editor"}
    nested = ClaimMapping(roles="a.b")
    assert Claims({"a.b": ["top"], "a": {"b": ["deep"]}}, claim_mapping=nested).roles == {"top"}
    assert Claims({"a": {"b": ["deep"]}}, claim_mapping=nested).roles == {"deep"}


@pytest.mark.parametrize(
    "value", [None, 1, True, 2.5, {"admin": True}, [1, None, {"a": 1}, ["admin"], True], "", [""]]
)
def test_values_of_other_shapes_grant_nothing_and_are_never_an_error(value: Any) -> None:
    assert Claims({"roles": value}).roles == frozenset()
    assert Claims({"realm_access": value}, claim_mapping=KEYCLOAK).roles == frozenset()
    assert Claims({"realm_access": {"roles": value}}, claim_mapping=KEYCLOAK).roles == frozenset()


def test_strings_split_on_spaces_only_for_delimited_kinds() -> None:
    payload = {"scope": "a  b\tc", "roles": "Sales Managers", "permissions": "read write"}
    default = Claims(payload)
    assert default.scopes == {"a", "b\tc"}  # RFC 6749: spaces only
    assert default.roles == {"Sales Managers"}  # a role with a space never grants "Sales"
    assert default.permissions == {"read write"}
    split = Claims(payload, claim_mapping=ClaimMapping(space_delimited=("scopes", "permissions")))
    assert split.permissions == {"read", "write"}
    assert split.roles == {"Sales Managers"}


def test_an_empty_tuple_reads_nothing() -> None:
    assert Claims({"groups": ["g"]}, claim_mapping=ClaimMapping(groups=())).groups == frozenset()


@pytest.mark.parametrize(
    "options",
    [
        {"roles": ""},
        {"roles": [""]},
        {"roles": ["a..b"]},
        {"roles": [".a"]},
        {"roles": ["a."]},
        {"roles": [3]},
        {"roles": 3},
        {"roles": ["resource_access.{client}.roles"]},
        {"roles": ["resource_access.{client_id.roles"]},
        {"roles": ["resource_access.client_id}.roles"]},
        {"roles": ["{{client_id}}"]},
        {"client_id": ""},
        {"audience": 5},
        {"space_delimited": ["scopes", "everything"]},
    ],
)
def test_bad_mappings_fail_at_configuration(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ClaimMapping(**options)


def test_bind_fills_only_what_is_unset_and_require_bound_names_the_rest() -> None:
    mapping = ClaimMapping(roles=("resource_access.{client_id}.roles", "aud_roles.{audience}"))
    assert mapping.placeholders == {"client_id", "audience"}
    assert mapping.unbound == {"client_id", "audience"}
    with pytest.raises(ConfigurationError, match=r"\{audience\} and \{client_id\}"):
        mapping.require_bound()
    bound = mapping.bind(client_id="web", audience="api")
    assert bound.unbound == frozenset()
    assert bound.require_bound() is bound
    assert bound.bind(client_id="other").client_id == "web"  # the more specific value wins
    assert DEFAULT_CLAIM_MAPPING.bind(audience="api") is DEFAULT_CLAIM_MAPPING  # uses no placeholder


def test_verifier_fills_audience_once_and_refuses_what_it_cannot_fill(keyring: Keyring) -> None:
    mapping = ClaimMapping(roles="resource_access.{audience}.roles")
    checked = verifier(keyring.jwks("ES256"), claim_mapping=mapping)
    assert checked.claim_mapping.audience == "api://orders"
    payload = claims(resource_access={"api://orders": {"roles": ["clerk"]}})
    assert checked.verify_sync(token(keyring["ES256"], payload)).roles == {"clerk"}
    for audience in (None, ["a", "b"]):
        with pytest.raises(ConfigurationError, match="audience"):
            verifier(keyring.jwks("ES256"), claim_mapping=mapping, audience=audience)
    with pytest.raises(ConfigurationError, match="client_id"):
        verifier(keyring.jwks("ES256"), claim_mapping=ClaimMapping(roles="x.{client_id}"))
    with pytest.raises(ConfigurationError):
        verifier(keyring.jwks("ES256"), claim_mapping={"roles": "roles"})


def test_grants_are_read_once_per_claims_object_and_shared_by_the_token_cache(keyring: Keyring) -> None:
    calls: list[str] = []

    class Counting(ClaimMapping):
        __slots__ = ()

        def read(self, kind: Any, claims: Any) -> frozenset[str]:
            calls.append(kind)
            return super().read(kind, claims)

    check = verifier(keyring.jwks("ES256"), claim_mapping=Counting())
    signed = token(keyring["ES256"], claims(roles=["clerk"], permissions=["p"]))
    first = check.verify_sync(signed)
    for _ in range(3):
        again = check.verify_sync(signed)
        assert again is first  # the token cache hands out the same object...
        assert again.roles == {"clerk"}
        assert again.permissions == {"p"}
    assert calls.count("roles") == calls.count("permissions") == 1  # ...so it is read once


def test_mapping_value_semantics_and_pickling() -> None:
    assert KEYCLOAK == copy.deepcopy(KEYCLOAK) == pickle.loads(pickle.dumps(KEYCLOAK))  # noqa: S301
    assert hash(KEYCLOAK) == hash(KEYCLOAK.replace())
    assert KEYCLOAK.replace(groups="groups") != KEYCLOAK
    with pytest.raises(AttributeError):
        KEYCLOAK.roles = ("x",)  # type: ignore[misc]
    with pytest.raises(TypeError):
        KEYCLOAK.replace(rolez=())
    assert "realm_access.roles" in repr(KEYCLOAK)
    shared = Claims({"realm_access": {"roles": ["a"]}}, claim_mapping=KEYCLOAK)
    restored = pickle.loads(pickle.dumps(shared))  # noqa: S301
    assert restored.claim_mapping == KEYCLOAK
    assert restored.roles == {"a"}


def test_grant_checks_read_the_tokens_mapping_unless_told_the_claims() -> None:
    token_claims = Claims({"scp": ["x"], "scope": "y"}, claim_mapping=ClaimMapping(scopes="scope"))
    ScopesCheck(frozenset({"y"}))({}, token_claims, 0)
    with pytest.raises(InsufficientScopeError):
        ScopesCheck(frozenset({"x"}))({}, token_claims, 0)
    ScopesCheck(frozenset({"x"}), claim_names=("scope", "scp"))({}, token_claims, 0)  # API Gateway
    with pytest.raises(InsufficientScopeError) as caught:
        GrantCheck("permissions", frozenset({"refund"}))({}, {"permissions": ["read"]}, 0)
    assert caught.value.claim == "permissions"
    assert caught.value.code == "permissions.missing"
    assert caught.value.scopes == ()  # no scope attribute in the challenge for a permission
