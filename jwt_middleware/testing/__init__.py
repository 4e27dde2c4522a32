"""The test kit: keys, a local issuer on loopback, and pytest fixtures for users' own suites."""

from jwt_middleware.testing.keys import SigningKey, encode_compact

__all__ = ["SigningKey", "encode_compact"]
