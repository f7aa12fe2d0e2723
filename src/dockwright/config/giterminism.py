"""werf-giterminism.yaml: what a build may read besides the commit, with werf's keys.

Only ``config.goTemplateRendering.allowEnvVariables`` changes what dockwright does today
(the template function ``env``); every other key werf knows is read and checked, so that a
typo is an error with file:line rather than a rule silently not applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dockwright.config.names import GITERMINISM_NAMES
from dockwright.config.yamlnodes import (
    BOOL,
    FLOAT,
    INT,
    STR,
    TRUE,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlSyntaxError,
    compose_all,
)
from dockwright.errors import ConfigError

# Every key werf's schema has: a mapping is a dict of its keys, a leaf the type it holds.
SCHEMA: dict[str, object] = {
    "giterminismConfigVersion": "version",
    "configVersion": "version",  # accepted as a synonym
    "cli": {"allowCustomTags": "bool"},
    "config": {
        "allowUncommitted": "bool",
        "allowUncommittedTemplates": "list",
        "goTemplateRendering": {"allowEnvVariables": "list", "allowUncommittedFiles": "list"},
        "secrets": {"allowEnvVariables": "list", "allowFiles": "list", "allowValueIds": "list"},
        "stapel": {"allowFromLatest": "bool", "git": {"allowBranch": "bool"},
                   "mount": {"allowBuildDir": "bool", "allowFromPaths": "list"}},
        "dockerfile": {"allowUncommitted": "list", "allowUncommittedDockerignoreFiles": "list",
                       "allowContextAddFiles": "list"},
    },
    "helm": {"allowUncommittedFiles": "list"},
    "includes": {"allowIncludesUpdate": "bool"},
}


@dataclass(frozen=True)
class Giterminism:
    path: Path | None = None  # None: the project has no werf-giterminism.yaml
    values: tuple[tuple[str, object], ...] = ()  # dotted key -> bool or tuple of strings

    def get_list(self, key: str) -> tuple[str, ...]:
        value = dict(self.values).get(key, ())
        return value if isinstance(value, tuple) else ()

    def get_bool(self, key: str) -> bool:
        return dict(self.values).get(key) is True

    def env_allowed(self, name: str) -> bool:
        """Whether templates may read environment variable ``name`` (names or /regex/)."""
        for pattern in self.get_list("config.goTemplateRendering.allowEnvVariables"):
            if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
                # werf wraps the text in ^...$ as it is: /A|B/ allows A... or ...B
                if re.search(f"^{pattern[1:-1]}$", name):
                    return True
            elif pattern == name:
                return True
        return False


def load(project_dir: Path, cache: Path | None = None, custom: str | None = None
         ) -> Giterminism:
    """The project's werf-giterminism.yaml (or ``custom``, relative to the project
    directory), or the empty one when there is none."""
    path: Path | None
    if custom:
        path = project_dir / custom
        if not path.is_file():
            raise ConfigError(f"giterminism config {custom} does not exist",
                              "give --giterminism-config (WERF_GITERMINISM_CONFIG) a file that "
                              "exists, relative to the project directory")
    else:
        path = next((project_dir / n for n in GITERMINISM_NAMES if (project_dir / n).is_file()),
                    None)
    if path is None:
        return Giterminism()
    display = str(path.relative_to(project_dir)) if path.is_relative_to(project_dir) \
        else str(path)
    try:
        docs = [d for d in compose_all(path.read_text(encoding="utf-8", errors="replace"),
                                       cache) if d is not None]
    except YamlSyntaxError as exc:
        line = f":{exc.line + 1}" if exc.line is not None else ""
        raise ConfigError(f"invalid YAML: {exc.problem}", "fix the YAML syntax at that line",
                          where=f"{display}{line}") from None
    if len(docs) != 1 or not isinstance(docs[0], MappingNode):
        raise ConfigError("werf-giterminism.yaml must be one mapping",
                          "see werf's reference of werf-giterminism.yaml", where=display)
    values: list[tuple[str, object]] = []
    _walk(display, docs[0], SCHEMA, "", values)
    keys = {k for k, _ in values}
    if "giterminismConfigVersion" not in keys and "configVersion" not in keys:
        raise ConfigError("'giterminismConfigVersion: 1' is required",
                          "add 'giterminismConfigVersion: 1' as the first line",
                          where=f"{display}:1")
    for key, value in values:
        if key.endswith("allowEnvVariables"):
            for pattern in value if isinstance(value, tuple) else ():
                if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
                    try:
                        re.compile(pattern[1:-1])
                    except re.error as exc:
                        raise ConfigError(f"{key}: {pattern} is not a valid regular "
                                          f"expression: {exc}", "fix the pattern",
                                          where=display) from None
    return Giterminism(path, tuple(values))


def _walk(display: str, node: Node, schema: dict[str, object], prefix: str,
          out: list[tuple[str, object]]) -> None:
    if not isinstance(node, MappingNode):
        raise ConfigError(f"'{prefix.rstrip('.') or 'the document'}' must be a mapping",
                          "write 'key: value' lines", where=f"{display}:{node.line + 1}")
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
        where = f"{display}:{key_node.line + 1}"
        if key not in schema:
            import difflib

            near = difflib.get_close_matches(key, list(schema), n=1)
            hint = f"did you mean '{near[0]}'?" if near else \
                f"valid keys here: {', '.join(k for k in schema if k != 'configVersion')}"
            raise ConfigError(f"unknown key '{prefix}{key}'", hint, where=where)
        kind = schema[key]
        full = prefix + key
        if isinstance(kind, dict):
            _walk(display, value_node, kind, full + ".", out)
        elif kind == "bool":
            if not (isinstance(value_node, ScalarNode) and value_node.tag == BOOL):
                raise ConfigError(f"'{full}' must be true or false", "write true or false",
                                  where=where)
            out.append((full, value_node.value.lower() in TRUE))
        elif kind == "list":
            items = value_node.value if isinstance(value_node, SequenceNode) else None
            if items is None or not all(isinstance(i, ScalarNode) and i.tag == STR
                                        for i in items):
                raise ConfigError(f"'{full}' must be a list of strings",
                                  "write one '- item' line per entry", where=where)
            out.append((full, tuple(str(i.value) for i in items if isinstance(i, ScalarNode))))
        else:  # version
            ok = isinstance(value_node, ScalarNode) and value_node.tag in (INT, FLOAT, STR) \
                and value_node.value.strip() in ("1", "1.0")
            if not ok:
                raise ConfigError(f"'{full}' must be 1", "write 'giterminismConfigVersion: 1'",
                                  where=where)
            out.append((full, True))
