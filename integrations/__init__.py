"""Runnable reference apps, one per framework, driven by the integration tests."""
