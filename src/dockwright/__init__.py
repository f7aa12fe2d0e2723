"""dockwright: build werf Dockerfile images with Buildah, rootless and daemonless."""

__version__ = "0.1.0"
