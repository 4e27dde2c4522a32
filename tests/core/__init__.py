"""Acceptance tests for the verification core: parsing, keys, algorithms, claims, errors, caching."""
