"""Serve the FastAPI reference app on 127.0.0.1: ``python -m integrations.fastapi_app``.

It starts a local issuer and prints a demo token with ``orders:read``, minted by that throwaway
issuer, so the routes can be tried with curl or Swagger UI (``/docs``, Authorize button).
Everything stays on the loopback interface.
"""

from __future__ import annotations

import argparse

import uvicorn

from integrations.fastapi_app import create_app
from jwt_middleware.testing import LocalIssuer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    options = parser.parse_args(argv)
    with LocalIssuer(audience="orders-api") as issuer:
        app = create_app(issuer.verifier())
        token = issuer.mint(sub="alice", scope="orders:read")
        base = f"http://127.0.0.1:{options.port}"
        print(f"issuer: {issuer.issuer}")
        print(f"try:    curl -H 'Authorization: Bearer {token}' {base}/orders")
        print(f"docs:   {base}/docs")
        uvicorn.run(app, host="127.0.0.1", port=options.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
