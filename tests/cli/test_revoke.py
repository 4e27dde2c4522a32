"""``jwt-middleware revoke``: against a real redis-server, read back by a real mirror."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator

import pytest

from jwt_middleware import RevokedTokenError
from jwt_middleware.cli.parser import moment
from jwt_middleware.revocation import RedisRevocationList
from jwt_middleware.testing import LocalIssuer, LocalRedis

from .conftest import Run


@pytest.fixture
def redis(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRedis]:
    monkeypatch.delenv("JWT_MIDDLEWARE_REDIS_URL", raising=False)
    with LocalRedis() as server:
        yield server


def _refused(url: str, claims: dict[str, object]) -> bool:
    mirror = RedisRevocationList(url)
    try:
        mirror.start_sync()
        mirror.check(claims, time.time())
    except RevokedTokenError:
        return True
    finally:
        mirror.close()
    return False


def test_revoke_a_token_read_from_stdin_and_list_it(cli: Run, redis: LocalRedis, issuer: LocalIssuer) -> None:
    token = issuer.mint(sub="alice", jti="jti-from-cli")
    result = cli("revoke", "token", "-", "--redis", redis.url, stdin=token)
    assert result.code == 0, result.err
    assert result.out.startswith("revoked token")
    assert "jti=jti-from-cli" in result.out
    result.assert_token_not_printed(token)
    assert _refused(redis.url, {"iss": issuer.issuer, "jti": "jti-from-cli", "sub": "alice", "iat": 0})

    listed = cli("revoke", "--list", "--json", "--redis", redis.url)
    assert listed.code == 0, listed.err
    [entry] = listed.json()["entries"]
    assert entry["kind"] == "token"
    assert entry["claim"] == "jti"
    assert (entry["issuer"], entry["value"]) == (issuer.issuer, "jti-from-cli")
    assert entry["until"].endswith("Z")


def test_revoke_origin_and_subject_with_the_url_from_the_environment(
    cli: Run, redis: LocalRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_MIDDLEWARE_REDIS_URL", redis.url)
    iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    assert cli("revoke", "origin", "--issuer", iss, "--origin-jti", "family-1").code == 0
    done = cli(
        "revoke", "subject", "--issuer", iss, "--sub", "bob", "--issued-before", "2030-01-01T00:00:00Z"
    )
    assert done.code == 0, done.err
    assert "issued before 2030-01-01T00:00:00Z" in done.out
    assert _refused(redis.url, {"iss": iss, "jti": "x", "origin_jti": "family-1", "iat": 0})
    assert _refused(redis.url, {"iss": iss, "jti": "y", "sub": "bob", "iat": time.time() - 5})
    listed = cli("revoke", "--list")
    assert listed.code == 0
    assert [line.split()[0] for line in listed.out.splitlines()] == ["origin", "subject"]
    assert "2 live revocation(s)" in listed.err


def test_revoke_by_jti_and_options_before_the_kind(cli: Run, redis: LocalRedis) -> None:
    result = cli(
        "revoke", "--redis", redis.url, "--json", "token", "--issuer", "https://i.test", "--jti", "j-9"
    )
    assert result.code == 0, result.err
    assert result.json()["revoked"]["value"] == "j-9"


def test_usage_errors(cli: Run, redis: LocalRedis, issuer: LocalIssuer) -> None:
    assert cli("revoke", "--list").code == 2  # no URL anywhere
    assert "JWT_MIDDLEWARE_REDIS_URL" in cli("revoke", "--list").err
    assert cli("revoke", "--redis", redis.url).code == 2  # neither --list nor a kind
    assert cli("revoke", "--redis", redis.url, "--list", "subject", "--issuer", "i", "--sub", "s").code == 2
    no_jti = issuer.mint(jti=None)
    refused = cli("revoke", "token", no_jti, "--redis", redis.url)
    assert refused.code == 2
    assert "no 'jti'" in refused.err
    assert cli("revoke", "token", "not-a-token", "--redis", redis.url).code == 2
    assert cli("revoke", "token", "--jti", "j", "--redis", redis.url).code == 2  # --jti needs --issuer
    assert cli("revoke", "--list", "--redis", "http://127.0.0.1:1").code == 2
    assert cli("revoke", "origin", "--issuer", "i", "--origin-jti", "o", "--until", "tomorrow").code == 2


def test_an_unreachable_redis_is_exit_code_3(cli: Run, closed_port: int) -> None:
    result = cli(
        "revoke", "--list", "--redis", f"redis://:hunter2@127.0.0.1:{closed_port}/0", "--timeout", "0.5"
    )
    assert result.code == 3
    assert "could not be reached" in result.err
    assert "hunter2" not in result.err + result.out


def test_a_full_list_is_exit_code_1(cli: Run, redis: LocalRedis) -> None:
    redis.command(
        "EVAL",
        "for i=1,100001 do redis.call('HSET', KEYS[1], i, '1e20') end",
        "1",
        "jwt_middleware:revocation:entries",
    )
    result = cli("revoke", "token", "--issuer", "https://i.test", "--jti", "one-more", "--redis", redis.url)
    assert result.code == 1
    assert "max_entries" in result.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", 1_700_000_000.0),
        ("2023-11-14T22:13:20Z", 1_700_000_000.0),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000.0),
    ],
)
def test_moments(text: str, expected: float) -> None:
    assert moment(text) == expected


@pytest.mark.parametrize("text", ["2023-11-14T22:13:20", "soon", "inf", "nan"])
def test_moments_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        moment(text)


def test_help_lists_revoke(cli: Run) -> None:
    assert "revoke" in cli("--help").out
    help_text = cli("revoke", "--help").out
    assert "JWT_MIDDLEWARE_REDIS_URL" in help_text
    assert "3    Redis could not be reached" in help_text
