"""The names werf gives a project's own files, for every module of config/ that looks for them
(a leaf: importing it costs nothing, so the fast path of a plain werf.yaml can use it)."""

CONFIG_NAMES = ("werf.yaml", "werf.yml")  # tried in this order without --config
TEMPLATES_DIR = ".werf"  # without --config-templates-dir
GITERMINISM_NAMES = ("werf-giterminism.yaml",)  # werf reads no other name
