"""werf.yaml: loading (``load``) into frozen objects (``model``)."""

from dockwright.config.load import load_project
from dockwright.config.model import Dependency, Image, Import, Project, Secret

__all__ = ["Dependency", "Image", "Import", "Project", "Secret", "load_project"]
