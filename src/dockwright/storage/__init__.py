"""Where built stages are kept and found by digest: local storage (and later a registry)."""
