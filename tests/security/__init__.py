"""The adversarial suite: attacks on the verifier, as a published catalogue (see SECURITY.md)."""
