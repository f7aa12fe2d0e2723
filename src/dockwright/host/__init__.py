"""The host: what it offers (read through ``HostView``), functional probes, and the choice of
mode, runtime and storage driver (``resolve``)."""
