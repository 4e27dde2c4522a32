"""Framework adapters: thin layers over the shared core, one module per framework."""
