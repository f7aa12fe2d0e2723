"""The build engine: Buildah, driven through argv builders and ``dockwright.run``."""
