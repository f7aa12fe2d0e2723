"""Read werf.yaml into a ``Project``.

The only module that knows YAML. Errors point at ``file:line`` and name the key; an unknown
key comes with the nearest valid one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from dockwright import platforms
from dockwright.config.model import (
    IMPORT_TYPES,
    Dependency,
    Healthcheck,
    Image,
    ImageSpec,
    Import,
    Project,
    Secret,
)
from dockwright.config.render import Rendered, RenderOptions, render
from dockwright.config.yamlnodes import (
    BOOL,
    FLOAT,
    INT,
    NULL,
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

META_KEYS = ("configVersion", "project", "build", "deploy", "cleanup", "gitWorktree")
META_BUILD_KEYS = ("cacheVersion", "platform", "staged", "imageSpec")
# werf's: forceShallowClone lets a shallow clone be built; the other two are about fetching
# history, which werf does for Stapel git mappings and cleanup and dockwright never does
GIT_WORKTREE_KEYS = ("forceShallowClone", "allowUnshallow", "allowFetchOriginBranchesAndTags")
IMAGE_KEYS = (
    "image", "dockerfile", "context", "target", "args", "addHost", "network", "ssh", "secrets",
    "contextAddFiles", "contextAddFile", "dependencies", "final", "platform", "cacheVersion",
    "staged", "imageSpec",
)
DEPENDENCY_KEYS = ("image", "imports")
IMPORT_KEYS = ("type", "targetBuildArg")
SECRET_KEYS = ("id", "env", "src", "value")
SPEC_KEYS = ("author", "clearHistory", "config")
SPEC_CONFIG_KEYS = (
    "keepEssentialWerfLabels", "clearWerfLabels", "clearCmd", "clearEntrypoint", "clearUser",
    "clearWorkingDir", "removeLabels", "removeVolumes", "removeEnv", "volumes", "labels", "env",
    "expose", "user", "cmd", "entrypoint", "workingDir", "stopSignal", "healthcheck",
)
META_SPEC_CONFIG_KEYS = ("keepEssentialWerfLabels", "clearWerfLabels", "removeLabels", "labels")
HEALTHCHECK_KEYS = ("test", "interval", "timeout", "startPeriod", "retries")
STAPEL_MARKERS = ("image", "artifact")

PROJECT_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")
IMAGE_NAME_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
ARG_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

T = TypeVar("T")


def _close(word: str, choices: list[str] | tuple[str, ...], cutoff: float = 0.6) -> list[str]:
    import difflib  # only on a bad key: not paid by every build

    return difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)


class _Doc:
    """Validation helpers bound to one rendered config, so every error can say file:line
    (the template's line, and the rendered one when templates made the text)."""

    def __init__(self, rendered: Rendered) -> None:
        self.path = rendered.path
        self.display = rendered.display
        self.locate = rendered.locate
        self.templated = rendered.templated

    def where(self, node: Node) -> str:
        return self.locate(node.line)

    def fail(self, node: Node, message: str, hint: str = "") -> ConfigError:
        return ConfigError(message, hint, where=self.where(node))

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...]) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping, not {_kind(node)}",
                            f"write its keys indented below it, one 'key: value' per line "
                            f"(known keys: {', '.join(allowed)})")
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, f"{what}: keys must be strings",
                                "write each key as a plain name")
            key = str(key_node.value)
            if key in out:
                raise self.fail(key_node, f"{what}: key '{key}' is given twice",
                                "keep one of them")
            if key not in allowed:
                near = _close(key, allowed)
                hint = f"did you mean '{near[0]}'?" if near else f"valid keys: {', '.join(allowed)}"
                if what == "meta document" and key in IMAGE_KEYS:
                    hint = ("each image is a YAML document of its own: is a '---' line missing "
                            "before it?")
                raise self.fail(key_node, f"{what}: unknown key '{key}'", hint)
            out[key] = value_node
        return out

    def string(self, node: Node, key: str, *, allow_number: bool = False) -> str:
        if isinstance(node, ScalarNode) and node.tag == STR:
            return node.value
        if allow_number and isinstance(node, ScalarNode) and node.tag in (INT, FLOAT):
            return node.value
        if isinstance(node, ScalarNode) and node.tag == NULL:
            raise self.fail(node, f"'{key}' must be a string, not empty",
                            "give it a value" + (" (an action there printed nothing: is the "
                                                 "value it prints set? --env sets .Env)"
                                                 if self.templated else ""))
        raise self.fail(node, f"'{key}' must be a string, not {_kind(node)}",
                        "quote the value if it looks like a number or a boolean")

    def boolean(self, node: Node, key: str) -> bool:
        if isinstance(node, ScalarNode) and node.tag == BOOL:
            return node.value.lower() in TRUE
        raise self.fail(node, f"'{key}' must be true or false, not {_kind(node)}",
                        "write true or false, without quotes")

    def sequence(self, node: Node, key: str) -> list[Node]:
        if isinstance(node, SequenceNode):
            return list(node.value)
        raise self.fail(node, f"'{key}' must be a list, not {_kind(node)}",
                        "write one '- item' line per entry, or [a, b]")

    def strings(self, node: Node, key: str) -> tuple[str, ...]:
        return tuple(self.string(item, key) for item in self.sequence(node, key))

    def each(self, node: Node, key: str, parse: Callable[[Node], T]) -> tuple[T, ...]:
        return tuple(parse(item) for item in self.sequence(node, key))


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return {"str": "a string", "int": "a number", "float": "a number", "bool": "a boolean",
            "null": "empty"}.get(tag, tag)


def _documents(doc: _Doc, text: str, cache: Path | None) -> Iterator[Node]:
    try:
        nodes = compose_all(text, cache)
    except YamlSyntaxError as exc:
        where = doc.locate(exc.line) if exc.line is not None else doc.display
        raise ConfigError(f"invalid YAML: {exc.problem}", _yaml_hint(exc.problem, doc.templated),
                          where=where) from None
    for node in nodes:
        # An empty document ("---" followed by nothing but comments) is skipped, as in werf.
        if node is None or (isinstance(node, ScalarNode) and node.tag == NULL
                            and node.value == ""):
            continue
        yield node


def _yaml_hint(problem: str, templated: bool) -> str:
    if not templated:
        return "fix the YAML syntax at that line"
    hint = "'dockwright config render' prints the rendered text: fix the template that wrote it"
    if "mapping values are not allowed" in problem:
        hint += " (a value with ': ' in it needs quotes: | quote)"
    elif "block end" in problem or "expected key" in problem or "indentation" in problem:
        hint += " (the indentation: indent and nindent take the number of spaces)"
    elif "'\\t'" in problem or "tab" in problem:
        hint += " (YAML indents with spaces, not tabs)"
    return hint


def load_project(
    directory: Path,
    config: Path | None = None,
    env: Mapping[str, str] | None = None,
    cache: Path | None = None,
    options: RenderOptions | None = None,
) -> Project:
    """Load and validate the project in ``directory`` (or the file ``config``): render the
    config's templates (``options``), then read the rendered YAML. ``cache`` is where
    composed YAML is kept between runs (see ``yamlnodes``); renders go beside it."""
    environ = os.environ if env is None else env
    directory = directory.resolve()
    options = options or RenderOptions()
    if config is not None:
        options = replace(options, config=str(config))
    rendered = render(directory, options, environ, cache.parent if cache else None)
    return read_project(directory, rendered, environ, cache)


def read_project(directory: Path, rendered: Rendered, environ: Mapping[str, str],
                 cache: Path | None = None) -> Project:
    """The project that the rendered config ``rendered`` declares."""
    doc = _Doc(rendered)
    text = rendered.text
    display = rendered.display
    path = rendered.path

    meta: dict[str, Node] | None = None
    meta_node: Node | None = None
    image_docs: list[tuple[Node, dict[str, Node]]] = []
    stapel: list[tuple[Node, str]] = []
    for node in _documents(doc, text, cache):
        if not isinstance(node, MappingNode):
            raise doc.fail(node, f"each YAML document must be a mapping, not {_kind(node)}",
                           "each document is 'key: value' lines: the meta document or one "
                           "image")
        keys = {str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)}
        # Only the meta document has these keys: one without configVersion is still the meta
        # document, and gets werf's message rather than "neither meta nor image".
        if "configVersion" in keys or (keys & set(META_KEYS) and "dockerfile" not in keys
                                       and not keys & set(STAPEL_MARKERS)):
            if meta is not None:
                raise doc.fail(node, "a second meta document (with configVersion)",
                               "keep one document with configVersion and project")
            meta = doc.mapping(node, "meta document", META_KEYS)
            meta_node = node
            if "configVersion" not in meta:
                raise doc.fail(node, "'configVersion: 1' field required!",
                               "add 'configVersion: 1' to the meta document (the one with "
                               "'project')")
        elif "dockerfile" in keys:
            image_docs.append((node, doc.mapping(node, "image document", IMAGE_KEYS)))
        elif keys & set(STAPEL_MARKERS):
            _misspelled_dockerfile(doc, node)
            names = _stapel_names(node)
            stapel.append((node, names))
        else:
            raise doc.fail(
                node,
                "document is neither the meta document (configVersion) nor an image "
                "(image + dockerfile)",
                "each document after the meta one declares one image with 'image:' and "
                "'dockerfile:'",
            )

    if meta is None or meta_node is None:
        raise ConfigError("'configVersion: 1' field required!",
                          "add a first document with 'configVersion: 1' and 'project: NAME'",
                          where=display)
    version_node = meta["configVersion"]
    if _yaml_number(version_node) != 1:
        raise doc.fail(version_node, "'configVersion: 1' field required!",
                       "dockwright reads werf.yaml config version 1 (an unquoted number)")

    project_name = environ.get("WERF_PROJECT_NAME", "")
    from_env = bool(project_name)
    if not project_name:
        if "project" not in meta:
            raise doc.fail(meta_node, "meta document: 'project' is required",
                           "add 'project: my-project' (lowercase letters, digits, '-')")
        project_name = doc.string(meta["project"], "project")
    if not PROJECT_RE.match(project_name):
        where_node = meta.get("project", meta_node)
        source = " (from WERF_PROJECT_NAME)" if from_env else ""
        raise doc.fail(where_node, f"project name '{project_name}'{source} is not a valid slug",
                       "use lowercase letters, digits and '-', at most 50 characters, "
                       "starting and ending with a letter or digit")

    if stapel:
        node, _ = stapel[0]
        names = ", ".join(name for _, name in stapel)
        raise doc.fail(
            node,
            "Unable to build stapel type images and artifacts with buildah container "
            f"backend: {names}",
            "Please select only dockerfile images or delete all non-dockerfile images from "
            "your werf.yaml. dockwright builds Dockerfile images only.",
        )

    cache_version: str | None = None
    platform: tuple[str, ...] = ()
    build_staged = False
    build_image_spec: ImageSpec | None = None
    if "build" in meta:
        build = doc.mapping(meta["build"], "build", META_BUILD_KEYS)
        if "cacheVersion" in build:
            cache_version = doc.string(build["cacheVersion"], "cacheVersion", allow_number=True)
        if "platform" in build:
            platform = _platforms(doc, build["platform"])
        if "staged" in build:
            build_staged = doc.boolean(build["staged"], "staged")
        if "imageSpec" in build:
            build_image_spec = _image_spec(doc, build["imageSpec"], META_SPEC_CONFIG_KEYS)

    force_shallow = False
    if "gitWorktree" in meta:
        worktree = doc.mapping(meta["gitWorktree"], "gitWorktree", GIT_WORKTREE_KEYS)
        flags = {key: doc.boolean(node, f"gitWorktree.{key}") for key, node in worktree.items()}
        force_shallow = flags.get("forceShallowClone", False)

    images: list[Image] = []
    image_fields: list[tuple[Node, dict[str, Node]]] = []
    seen: dict[str, str] = {}
    for node, fields in image_docs:
        for name in _image_names(doc, node, fields):
            image = _image(doc, node, fields, name, directory, build_staged, build_image_spec)
            if image.name in seen:
                raise doc.fail(fields.get("image", node),
                               f"image '{image.name or '~'}' is declared twice",
                               f"the first declaration is at {seen[image.name]}; rename one")
            seen[image.name] = image.where
            images.append(image)
            image_fields.append((node, fields))
    if "" in seen and len(images) > 1:
        raise ConfigError("a nameless image ('image: ~') cannot be declared with other images",
                          "give every image a name", where=seen[""])

    project = Project(name=project_name, dir=directory, config_path=path,
                      cache_version=cache_version, platform=platform, images=tuple(images),
                      read=rendered.read or (str(path),), force_shallow_clone=force_shallow)
    _check_dependencies(project, image_fields, doc)
    return project


def _arg_value(doc: _Doc, node: Node, key: str) -> str:
    """A build arg as werf passes it: the value yaml.v2 reads (an unquoted true, 010 or
    1.10 is a bool or a number) printed with Go's %v ("true", "8", "1.1", "<nil>")."""
    if not isinstance(node, ScalarNode):
        raise doc.fail(node, f"'args.{key}' must be a string, not {_kind(node)}",
                       "write one value; quote it to keep it exactly as written")
    if not node.plain or (node.tag == STR and not _MAYBE_NOT_TEXT.match(node.value)):
        return node.value
    from dockwright.gotemplate.goyaml import resolve_plain  # only for such values

    value = resolve_plain(node.value)
    if isinstance(value, str):
        return value
    from dockwright.gotemplate.gofmt import sprint

    return sprint(value)


# a plain scalar that yaml.v2 may read as something else than text
_MAYBE_NOT_TEXT = re.compile(r"[-+.0-9~]|(?:y|Y|n|N|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"
                             r"|true|True|TRUE|false|False|FALSE|null|Null|NULL)$|$")


def _yaml_number(node: Node) -> float | None:
    """The value of an unquoted YAML number as werf's YAML reader (yaml.v2, Go's strconv)
    sees it: an int in any base (0x, 0o, 0b, a leading 0 for octal, '_' between digits) or
    a float; else None."""
    if not isinstance(node, ScalarNode) or node.tag not in (INT, FLOAT):
        return None
    text = node.value.replace("_", "")
    body = text.lstrip("+-")
    try:
        if len(body) > 1 and body[0] == "0" and body[1].isdigit():
            value = float(int(body, 8))
        else:
            value = float(int(body, 0))
        return -value if text.startswith("-") else value
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _image_names(doc: _Doc, node: Node, fields: dict[str, Node]) -> list[str]:
    """The names one image document declares: 'image: NAME', 'image: [A, B]' (the same
    image under several names), or 'image: ~' (the project's one nameless image)."""
    if "image" not in fields:
        raise doc.fail(node, "image document: 'image' (the image name) is required",
                       "add 'image: NAME' to the document")
    name_node = fields["image"]
    if isinstance(name_node, ScalarNode) and name_node.tag == NULL:
        return [""]
    items = name_node.value if isinstance(name_node, SequenceNode) else [name_node]
    names = []
    for item in items:
        if not (isinstance(item, ScalarNode) and item.tag == STR):
            value = item.value if isinstance(item, ScalarNode) else _kind(item)
            raise doc.fail(item, f"invalid image name `{value}`",
                           "an image name is a string, a list of strings, or ~")
        if not IMAGE_NAME_RE.match(item.value):
            raise doc.fail(item, f"image name '{item.value}' is not valid",
                           "use lowercase letters, digits and the separators '.', '_', '-', "
                           "'/'")
        names.append(item.value)
    return names


def _misspelled_dockerfile(doc: _Doc, node: MappingNode) -> None:
    """A document with 'image:' and a near miss of 'dockerfile:' is a typo, not Stapel."""
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode):
            continue
        key = str(key_node.value)
        if key != "dockerfile" and _close(key, ["dockerfile"], cutoff=0.8):
            raise doc.fail(key_node, f"image document: unknown key '{key}'",
                           "did you mean 'dockerfile'?")


def _stapel_names(node: MappingNode) -> str:
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value in STAPEL_MARKERS:
            value = value_node.value if isinstance(value_node, ScalarNode) else "?"
            return f"{key_node.value} '{value}'"
    return "?"


def _image_spec(doc: _Doc, node: Node, config_keys: tuple[str, ...]) -> ImageSpec:
    """An imageSpec section (``config_keys``: what its config may hold there)."""
    spec = doc.mapping(node, "imageSpec", SPEC_KEYS)
    c = doc.mapping(spec["config"], "imageSpec.config", config_keys) if "config" in spec \
        else {}

    def text(n: Node, key: str) -> str:
        # werf's YAML reader takes any scalar where it expects a string
        if isinstance(n, ScalarNode) and n.tag != NULL:
            return n.value
        raise doc.fail(n, f"'{key}' must be a string, not {_kind(n)}",
                       "write a value, quoted if it has special characters")

    def texts(key: str) -> tuple[str, ...] | None:
        if key not in c:
            return None
        items = doc.sequence(c[key], key)
        values = tuple(text(i, key) for i in items)
        if key.startswith("remove"):  # a name, or a /regex/
            for node, value in zip(items, values, strict=True):
                if len(value) >= 2 and value.startswith("/") and value.endswith("/"):
                    try:
                        re.compile(value[1:-1])
                    except re.error as exc:
                        raise doc.fail(node, f"imageSpec.config.{key}: {value} is not a valid "
                                       f"regular expression: {exc}", "fix the pattern, or "
                                       "write a name without slashes") from None
        return values

    def pairs(key: str) -> tuple[tuple[str, str], ...]:
        node = c.get(key)
        if node is None:
            return ()
        if not isinstance(node, MappingNode):
            raise doc.fail(node, f"'{key}' must be a mapping, not {_kind(node)}",
                           "write one 'NAME: value' line per entry")
        found: dict[str, str] = {}
        for k, v in node.value:
            name = text(k, key)
            if name in found:
                raise doc.fail(k, f"imageSpec.config.{key}: '{name}' is given twice",
                               "keep one of them (werf refuses a repeated key)")
            found[name] = text(v, f"{key}.{name}")
        return tuple(sorted(found.items()))

    def flag(mapping: dict[str, Node], key: str) -> bool:
        return doc.boolean(mapping[key], key) if key in mapping else False

    def word(key: str) -> str:
        return text(c[key], key) if key in c else ""

    health = None
    if "healthcheck" in c:
        h = doc.mapping(c["healthcheck"], "imageSpec.config.healthcheck", HEALTHCHECK_KEYS)

        def seconds(key: str) -> int:
            value = _yaml_number(h[key]) if key in h else 0
            if value is None or value != int(value) or value < 0:
                raise doc.fail(h[key], f"healthcheck '{key}' must be a whole number of seconds",
                               "write a number without quotes, for example 30")
            return int(value)

        test = tuple(text(i, "test") for i in doc.sequence(h["test"], "test")) \
            if "test" in h else ()
        health = Healthcheck(test, seconds("interval"), seconds("timeout"),
                             seconds("startPeriod"), seconds("retries"))
    return ImageSpec(
        author=text(spec["author"], "author") if "author" in spec else "",
        clear_history=flag(spec, "clearHistory"),
        keep_essential_werf_labels=flag(c, "keepEssentialWerfLabels"),
        clear_werf_labels=flag(c, "clearWerfLabels"),
        remove_labels=texts("removeLabels") or (),
        remove_volumes=texts("removeVolumes") or (),
        remove_env=texts("removeEnv") or (),
        clear_cmd=flag(c, "clearCmd"),
        clear_entrypoint=flag(c, "clearEntrypoint"),
        clear_user=flag(c, "clearUser"),
        clear_working_dir=flag(c, "clearWorkingDir"),
        volumes=texts("volumes") or (),
        labels=pairs("labels"),
        env=pairs("env"),
        user=word("user"),
        cmd=texts("cmd"),
        entrypoint=texts("entrypoint"),
        working_dir=word("workingDir"),
        stop_signal=word("stopSignal"),
        expose=texts("expose"),
        healthcheck=health,
    )


def merge_image_spec(meta: ImageSpec | None, image: ImageSpec | None) -> ImageSpec | None:
    """werf's merge of the meta section's imageSpec into an image's: the meta's author and
    labels win, its flags add, its removeLabels are appended."""
    if meta is None:
        return image
    image = image or ImageSpec()
    labels = dict(image.labels) | dict(meta.labels)
    remove = image.remove_labels + tuple(r for r in meta.remove_labels
                                         if r not in image.remove_labels)
    return replace(image, author=meta.author or image.author,
                   clear_history=image.clear_history or meta.clear_history,
                   keep_essential_werf_labels=image.keep_essential_werf_labels
                   or meta.keep_essential_werf_labels,
                   labels=tuple(sorted(labels.items())), remove_labels=remove)


def _image(doc: _Doc, node: Node, f: dict[str, Node], name: str, project_dir: Path,
           build_staged: bool, build_image_spec: ImageSpec | None) -> Image:
    where = doc.where(f["image"])
    context = doc.string(f["context"], "context") if "context" in f else "."
    context_dir = (project_dir / context).resolve()
    if not context_dir.is_relative_to(project_dir):
        raise doc.fail(f.get("context", node),
                       f"image '{name}': context '{context}' is outside the project directory",
                       "the context must be the project directory or a directory inside it")
    if not context_dir.is_dir():
        raise doc.fail(f["context"], f"image '{name}': context directory '{context}' does not "
                       "exist", "create it or fix the path (relative to the project directory)")
    dockerfile = doc.string(f["dockerfile"], "dockerfile")
    dockerfile_path = (context_dir / dockerfile).resolve()
    if not dockerfile_path.is_relative_to(project_dir):
        raise doc.fail(f["dockerfile"], f"image '{name}': dockerfile '{dockerfile}' is outside "
                       "the project directory", "keep the Dockerfile inside the project")
    if not dockerfile_path.is_file():
        raise doc.fail(f["dockerfile"], f"image '{name}': Dockerfile '{dockerfile}' not found "
                       f"in context '{context}'",
                       "the dockerfile path is relative to the context directory")

    args: dict[str, str] = {}
    if "args" in f:
        if not isinstance(f["args"], MappingNode):
            raise doc.fail(f["args"], f"'args' must be a mapping, not {_kind(f['args'])}",
                           "write one 'NAME: value' line per build arg")
        for key_node, value_node in f["args"].value:
            if not isinstance(key_node, ScalarNode):
                raise doc.fail(key_node, f"image '{name}': 'args' keys must be strings",
                               "write each build arg as NAME: value")
            key = key_node.value
            if not ARG_NAME_RE.match(key):
                raise doc.fail(key_node, f"image '{name}': '{key}' is not a valid build arg name",
                               "use letters, digits and '_', not starting with a digit")
            if key in args:
                raise doc.fail(key_node, f"image '{name}': build arg '{key}' is given twice",
                               "keep one of them (werf refuses a repeated key)")
            args[key] = _arg_value(doc, value_node, key)

    if "contextAddFile" in f and "contextAddFiles" in f:
        raise doc.fail(f["contextAddFile"], "'contextAddFile' and 'contextAddFiles' are both "
                       "given", "keep 'contextAddFiles' only")
    add_node = f.get("contextAddFiles", f.get("contextAddFile"))
    add_files: tuple[str, ...] = ()
    if add_node is not None:
        add_files = doc.strings(add_node, "contextAddFiles")
        for rel in add_files:
            target = (context_dir / rel).resolve()
            if not target.is_relative_to(context_dir):
                raise doc.fail(add_node, f"contextAddFiles: '{rel}' is outside the context",
                               "list paths inside the context directory")
            if not target.exists():
                raise doc.fail(add_node, f"contextAddFiles: '{rel}' does not exist in the "
                               "context", "add the file or remove it from the list")

    def dependency(dep: Node) -> Dependency:
        d = doc.mapping(dep, "dependency", DEPENDENCY_KEYS)
        if "image" not in d:
            raise doc.fail(dep, "dependency: 'image' is required",
                           "name the image this one depends on: '- image: NAME'")
        imports: tuple[Import, ...] = ()
        if "imports" in d:
            imports = doc.each(d["imports"], "imports", import_)
        return Dependency(doc.string(d["image"], "image"), imports)

    def import_(item: Node) -> Import:
        i = doc.mapping(item, "import", IMPORT_KEYS)
        for key in IMPORT_KEYS:
            if key not in i:
                raise doc.fail(item, f"import: '{key}' is required",
                               "an import has 'type' and 'targetBuildArg'")
        kind = doc.string(i["type"], "type")
        if kind not in IMPORT_TYPES:
            raise doc.fail(i["type"], f"import type '{kind}' is not known",
                           f"valid types: {', '.join(IMPORT_TYPES)}")
        arg = doc.string(i["targetBuildArg"], "targetBuildArg")
        if arg in args:
            raise doc.fail(i["targetBuildArg"], f"image '{name}': build arg '{arg}' is given "
                           "both in 'args' and by a dependency import",
                           "remove it from 'args' or from the import")
        return Import(kind, arg)

    def secret(item: Node) -> Secret:
        s = doc.mapping(item, "secret", SECRET_KEYS)
        sources = [k for k in ("env", "src", "value") if k in s]
        if len(sources) != 1:
            raise doc.fail(item, "secret: give exactly one of 'env', 'src', 'value'",
                           "a secret's value comes from an environment variable (env), a file "
                           "(src) or werf.yaml itself (value)")
        values = {k: doc.string(v, k) for k, v in s.items()}
        sid = values.get("id") or (os.path.basename(values["src"]) if "src" in values
                                   else values.get("env", ""))
        if not sid:
            raise doc.fail(item, "secret: 'id' is required with 'value'",
                           "add 'id: NAME', the id that RUN --mount=type=secret uses")
        return Secret(sid, values.get("env"), values.get("src"), values.get("value"))

    dependencies = doc.each(f["dependencies"], "dependencies", dependency) \
        if "dependencies" in f else ()
    targets = [imp.target_build_arg for dep in dependencies for imp in dep.imports]
    dup = {a for a in targets if targets.count(a) > 1}
    if dup:
        raise doc.fail(f["dependencies"], f"image '{name}': build arg '{sorted(dup)[0]}' is "
                       "imported twice", "import each build arg from one dependency only")

    return Image(
        name=name,
        where=where,
        context=context,
        dockerfile=dockerfile,
        context_dir=context_dir,
        dockerfile_path=dockerfile_path,
        target=doc.string(f["target"], "target") if "target" in f else None,
        args=tuple(sorted(args.items())),
        add_host=doc.strings(f["addHost"], "addHost") if "addHost" in f else (),
        network=doc.string(f["network"], "network") if "network" in f else None,
        ssh=doc.string(f["ssh"], "ssh") if "ssh" in f else None,
        secrets=doc.each(f["secrets"], "secrets", secret) if "secrets" in f else (),
        context_add_files=add_files,
        dependencies=dependencies,
        final=doc.boolean(f["final"], "final") if "final" in f else True,
        platform=_platforms(doc, f["platform"]) if "platform" in f else (),
        cache_version=doc.string(f["cacheVersion"], "cacheVersion", allow_number=True)
        if "cacheVersion" in f else None,
        staged=doc.boolean(f["staged"], "staged") if "staged" in f else build_staged,
        image_spec=merge_image_spec(build_image_spec, _image_spec(doc, f["imageSpec"],
                                                                  SPEC_CONFIG_KEYS)
                                    if "imageSpec" in f else None),
    )


def _check_dependencies(project: Project, docs: list[tuple[Node, dict[str, Node]]],
                        doc: _Doc) -> None:
    names = {i.name for i in project.images}
    nodes = {i.name: fields.get("dependencies", node) for i, (node, fields)
             in zip(project.images, docs, strict=True)}
    for image in project.images:
        for dep in image.dependencies:
            if dep.image not in names:
                near = _close(dep.image, sorted(names))
                hint = f"did you mean '{near[0]}'?" if near else \
                    f"images in werf.yaml: {', '.join(sorted(names))}"
                raise doc.fail(nodes[image.name], f"image '{image.name}' depends on unknown "
                               f"image '{dep.image}'", hint)
            if dep.image == image.name:
                raise doc.fail(nodes[image.name], f"image '{image.name}' depends on itself",
                               "remove it from its own dependencies")
    cycle = find_cycle({i.name: [d.image for d in i.dependencies] for i in project.images})
    if cycle:
        raise doc.fail(nodes[cycle[0]], "dependency cycle: " + " -> ".join(cycle),
                       "remove one of these dependencies")


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if state.get(nxt, 0) == 0:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node, 0) == 0:
            found = visit(node)
            if found:
                return found
    return None


def _platforms(doc: _Doc, node: Node) -> tuple[str, ...]:
    """``platform: [linux/amd64, linux/arm64]``, normalised; werf's error for a comma list."""
    return platforms.parse_list(doc.strings(node, "platform"), doc.where(node), commas=False)
