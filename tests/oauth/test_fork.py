"""A child forked while a token request or an introspection call ran (gunicorn ``--preload``).

No thread survives a fork, so the flight under way never lands in the child: without the repair
the child's callers would wait for it until its time limit, and then fail.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from jwt_middleware.oauth import ClientCredentialsAuth, IntrospectionAuthenticator
from jwt_middleware.testing import Fault, LocalIssuer
from tests.oauth.conftest import AUDIENCE, CLIENT_ID, CLIENT_SECRET, RESOURCE_ID, RESOURCE_SECRET

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def in_a_forked_child(during: Callable[[], bool], work: Callable[[], object], bound: float) -> None:
    """Fork once ``during()`` holds; the child must finish ``work`` within ``bound`` seconds."""
    deadline = time.monotonic() + 5
    while not during() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert during()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, reports through its exit status
        try:
            started = time.monotonic()
            work()
            ok = time.monotonic() - started < bound
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + bound + 5
    while (status := os.waitpid(child, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(child, 9)
            os.waitpid(child, 0)
            raise AssertionError("the forked child waited for its parent's flight")
        time.sleep(0.02)
    assert os.waitstatus_to_exitcode(status[1]) == 0


def test_a_token_request_under_way_at_the_fork(issuer: LocalIssuer) -> None:
    auth = ClientCredentialsAuth(issuer.token_endpoint, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with issuer.server.fault("/token", Fault.delay(0.5)):
        parent = threading.Thread(target=auth.access_token_sync)
        parent.start()
        in_a_forked_child(lambda: auth.tokens.in_flight, auth.access_token_sync, bound=4.0)
        parent.join(10)


def test_an_introspection_call_under_way_at_the_fork(issuer: LocalIssuer) -> None:
    auth = IntrospectionAuthenticator(
        issuer.introspection_endpoint, client_id=RESOURCE_ID, client_secret=RESOURCE_SECRET, audience=AUDIENCE
    )
    token = issuer.mint_opaque()
    with issuer.server.fault("/introspect", Fault.delay(0.5)):
        parent = threading.Thread(target=auth.introspect_sync, args=(token,))
        parent.start()
        in_a_forked_child(lambda: auth.calls == 1, lambda: auth.introspect_sync(token), bound=4.0)
        parent.join(10)
