"""pytest fixtures for testing apps protected by jwt_middleware (registered as a pytest11 plugin)."""
