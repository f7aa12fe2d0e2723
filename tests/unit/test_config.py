"""werf.yaml loading: every directive into the frozen model, and errors that say file:line."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from dockwright.config import Dependency, Import, Secret, load_project
from dockwright.config.load import find_cycle
from dockwright.config.model import Healthcheck, ImageSpec
from dockwright.errors import ConfigError, Exit

Make = Callable[[dict[str, str]], Path]

META = "configVersion: 1\nproject: demo\n"
IMAGE = "---\nimage: app\ndockerfile: Dockerfile\n"


def files(werf: str, **extra: str) -> dict[str, str]:
    out = {"werf.yaml": werf, "Dockerfile": "FROM scratch\n"}
    out.update({k.replace("__", "/"): v for k, v in extra.items()})
    return out


def load_error(root: Path, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_project(root, env=env or {})
    assert info.value.exit_code == Exit.BAD_INPUT
    assert info.value.hint, "every error says what to do"
    return info.value


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from tmp_path so that messages show "project/werf.yaml:N"."""
    monkeypatch.chdir(tmp_path)


# -- what loads ------------------------------------------------------------------------------

def test_minimal_project(project: Make) -> None:
    root = project(files(META + IMAGE))
    p = load_project(root, env={})
    assert p.name == "demo"
    assert p.dir == root.resolve()
    assert p.config_path == root.resolve() / "werf.yaml"
    assert p.cache_version is None
    assert p.platform == ()
    assert len(p.images) == 1
    img = p.images[0]
    assert img.name == "app"
    assert img.where == "project/werf.yaml:4"
    assert img.context == "."
    assert img.context_dir == root.resolve()
    assert img.dockerfile == "Dockerfile"
    assert img.dockerfile_path == root.resolve() / "Dockerfile"
    assert (img.target, img.args, img.add_host, img.network, img.ssh) == (None, (), (), None,
                                                                            None)
    assert (img.secrets, img.context_add_files, img.dependencies) == ((), (), ())
    assert img.final is True and img.staged is False and img.image_spec is None
    assert p.image("app") is img
    assert p.image("nope") is None


def test_model_is_frozen(project: Make) -> None:
    p = load_project(project(files(META + IMAGE)), env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.images[0].name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "other"  # type: ignore[misc]


def test_werf_yml_name(project: Make) -> None:
    root = project({"werf.yml": META + IMAGE, "Dockerfile": "FROM scratch\n"})
    p = load_project(root, env={})
    assert p.config_path.name == "werf.yml"
    assert p.images[0].where == "project/werf.yml:4"


def test_werf_yaml_preferred_over_werf_yml(project: Make) -> None:
    root = project({"werf.yaml": META + IMAGE,
                    "werf.yml": "configVersion: 1\nproject: other\n" + IMAGE,
                    "Dockerfile": "FROM scratch\n"})
    assert load_project(root, env={}).name == "demo"


def test_config_option_relative_and_absolute(project: Make) -> None:
    root = project(files(META + IMAGE, **{"ci__werf.yaml": "configVersion: 1\nproject: ci\n"
                                          "---\nimage: x\ndockerfile: Dockerfile\n"}))
    assert load_project(root, Path("ci/werf.yaml"), env={}).name == "ci"
    absolute = load_project(root, root / "ci" / "werf.yaml", env={})
    assert absolute.name == "ci"
    # the context stays relative to the project directory, not to the config file
    assert absolute.images[0].context_dir == root.resolve()


def test_config_option_missing_file(project: Make) -> None:
    root = project(files(META + IMAGE))
    with pytest.raises(ConfigError, match=r"config file .*nope\.yaml does not exist"):
        load_project(root, Path("nope.yaml"), env={})


def test_no_config_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    err = load_error(tmp_path / "empty")
    assert err.message == f"no werf.yaml or werf.yml in {(tmp_path / 'empty').resolve()}"
    assert "--config" in err.hint


def test_project_name_from_environment(project: Make) -> None:
    root = project(files(META + IMAGE))
    assert load_project(root, env={"WERF_PROJECT_NAME": "from-env"}).name == "from-env"
    assert load_project(root, env={"WERF_PROJECT_NAME": ""}).name == "demo"


def test_project_name_from_environment_when_werf_yaml_has_none(project: Make) -> None:
    root = project(files("configVersion: 1\n" + IMAGE))
    assert load_project(root, env={"WERF_PROJECT_NAME": "envonly"}).name == "envonly"


def test_multi_document_with_comments_and_empty_documents(project: Make) -> None:
    werf = (
        "# leading comment\n"
        "configVersion: 1\n"
        "project: demo\n"
        "---\n"
        "---\n"
        "# an image\n"
        "image: one\n"
        "dockerfile: Dockerfile\n"
        "---\n"
        "image: two\n"
        "dockerfile: Dockerfile\n"
    )
    p = load_project(project(files(werf)), env={})
    assert [i.name for i in p.images] == ["one", "two"]
    assert [i.where for i in p.images] == ["project/werf.yaml:7", "project/werf.yaml:10"]


def test_meta_document_need_not_come_first(project: Make) -> None:
    p = load_project(project(files("image: app\ndockerfile: Dockerfile\n---\n" + META)), env={})
    assert p.name == "demo"
    assert p.images[0].name == "app"


def test_build_section(project: Make) -> None:
    werf = META + "build:\n  cacheVersion: v7\n  platform: [linux/arm64]\n" + IMAGE
    p = load_project(project(files(werf)), env={})
    assert p.cache_version == "v7"
    assert p.platform == ("linux/arm64",)
    assert p.images[0].cache_version is None


def test_build_cache_version_may_be_a_number(project: Make) -> None:
    p = load_project(project(files(META + "build:\n  cacheVersion: 3\n" + IMAGE)), env={})
    assert p.cache_version == "3"


def test_build_staged_and_image_spec_are_inherited(project: Make) -> None:
    werf = META + "build:\n  staged: true\n  imageSpec:\n    author: me\n" + IMAGE
    img = load_project(project(files(werf)), env={}).images[0]
    assert img.staged is True
    assert img.image_spec == ImageSpec(author="me")


def test_image_staged_overrides_build_staged(project: Make) -> None:
    werf = META + "build:\n  staged: true\n" + IMAGE + "staged: false\n"
    assert load_project(project(files(werf)), env={}).images[0].staged is False


def test_git_worktree_is_werfs_and_force_shallow_clone_is_read(project: Make) -> None:
    werf = META + ("gitWorktree:\n  forceShallowClone: true\n  allowUnshallow: false\n"
                   "  allowFetchOriginBranchesAndTags: false\n") + IMAGE
    assert load_project(project(files(werf)), env={}).force_shallow_clone is True
    assert load_project(project(files(META + IMAGE)), env={}).force_shallow_clone is False


@pytest.mark.parametrize(("worktree", "message"), [
    ("gitWorktree:\n  forceShallowClone: yes please\n",
     "werf.yaml:4: 'gitWorktree.forceShallowClone' must be true or false"),
    ("gitWorktree:\n  unshallow: true\n", "werf.yaml:4: gitWorktree: unknown key 'unshallow'"),
    ("gitWorktree: true\n", "werf.yaml:3: gitWorktree must be a mapping"),
])
def test_a_bad_git_worktree_is_named_at_its_line(project: Make, worktree: str,
                                                 message: str) -> None:
    error = load_error(project(files(META + worktree + IMAGE)))
    assert message in str(error), str(error)


@pytest.mark.parametrize("section", ["build: true\n", "build: [a]\n"])
def test_a_section_that_is_not_a_mapping_says_how_to_write_one(project: Make,
                                                                section: str) -> None:
    error = load_error(project(files(META + section + IMAGE)))
    assert "werf.yaml:3: build must be a mapping" in str(error), str(error)
    assert "cacheVersion, platform" in error.hint


FULL = META + """build:
  cacheVersion: "1"
---
image: base
dockerfile: Dockerfile
final: false
---
image: web/app
context: app
dockerfile: docker/Dockerfile.app
target: runtime
args:
  GREETING: hello world
  PORT: 8080
  RATIO: 1.5
addHost:
- "db:10.0.0.2"
- "cache:10.0.0.3"
network: host
ssh: default
secrets:
- id: token
  env: TOKEN
- src: /run/secrets/npmrc
- id: inline
  value: s3cret
contextAddFiles:
- extra.txt
- extra-dir
dependencies:
- image: base
  imports:
  - type: ImageName
    targetBuildArg: BASE_IMAGE
  - type: ImageTag
    targetBuildArg: BASE_TAG
  - type: ImageRepo
    targetBuildArg: BASE_REPO
  - type: ImageID
    targetBuildArg: BASE_ID
  - type: ImageDigest
    targetBuildArg: BASE_DIGEST
final: true
platform: [linux/amd64]
cacheVersion: "2"
staged: false
"""


def test_every_dockerfile_image_directive(project: Make) -> None:
    root = project({
        "werf.yaml": FULL,
        "Dockerfile": "FROM scratch\n",
        "app/docker/Dockerfile.app": "FROM scratch\n",
        "app/extra.txt": "x",
        "app/extra-dir/a": "a",
    })
    p = load_project(root, env={})
    assert p.cache_version == "1"
    base, app = p.images
    assert base.final is False
    assert app.name == "web/app"
    assert app.where == "project/werf.yaml:10"
    assert app.context == "app"
    assert app.context_dir == root.resolve() / "app"
    assert app.dockerfile == "docker/Dockerfile.app"
    assert app.dockerfile_path == root.resolve() / "app" / "docker" / "Dockerfile.app"
    assert app.target == "runtime"
    assert app.args == (("GREETING", "hello world"), ("PORT", "8080"), ("RATIO", "1.5"))
    assert app.args_dict == {"GREETING": "hello world", "PORT": "8080", "RATIO": "1.5"}
    assert app.add_host == ("db:10.0.0.2", "cache:10.0.0.3")
    assert app.network == "host"
    assert app.ssh == "default"
    assert app.secrets == (
        Secret("token", env="TOKEN"),
        Secret("npmrc", src="/run/secrets/npmrc"),
        Secret("inline", value="s3cret"),
    )
    assert app.context_add_files == ("extra.txt", "extra-dir")
    assert app.dependencies == (Dependency("base", (
        Import("ImageName", "BASE_IMAGE"),
        Import("ImageTag", "BASE_TAG"),
        Import("ImageRepo", "BASE_REPO"),
        Import("ImageID", "BASE_ID"),
        Import("ImageDigest", "BASE_DIGEST"),
    )),)
    assert app.final is True
    assert app.platform == ("linux/amd64",)
    assert app.cache_version == "2"
    assert app.staged is False
    assert app.image_spec is None


def test_image_spec_is_read_whole(project: Make) -> None:
    werf = META + IMAGE + """imageSpec:
  author: me
  clearHistory: true
  config:
    keepEssentialWerfLabels: true
    clearWerfLabels: false
    clearCmd: true
    clearEntrypoint: false
    clearUser: true
    clearWorkingDir: true
    removeLabels: [old, /^tmp-.*/]
    removeVolumes: [/data]
    removeEnv: [DEBUG]
    volumes: [/cache]
    labels: {b: 2, a: "%project%-%image%"}
    env: {PATH: "/app/bin:$PATH"}
    expose: ["8080/tcp"]
    user: app
    cmd: [serve, --port, "8080"]
    entrypoint: []
    workingDir: /app
    stopSignal: SIGTERM
    healthcheck: {test: [CMD, true], interval: 30, timeout: 5, startPeriod: 1, retries: 3}
"""
    spec = load_project(project(files(werf)), env={}).images[0].image_spec
    assert spec == ImageSpec(
        author="me", clear_history=True, keep_essential_werf_labels=True, clear_cmd=True,
        clear_user=True, clear_working_dir=True, remove_labels=("old", "/^tmp-.*/"),
        remove_volumes=("/data",), remove_env=("DEBUG",), volumes=("/cache",),
        labels=(("a", "%project%-%image%"), ("b", "2")), env=(("PATH", "/app/bin:$PATH"),),
        expose=("8080/tcp",), user="app", cmd=("serve", "--port", "8080"), entrypoint=(),
        working_dir="/app", stop_signal="SIGTERM",
        healthcheck=Healthcheck(("CMD", "true"), 30, 5, 1, 3))


def test_image_spec_meta_merge_as_werf(project: Make) -> None:
    werf = META + """build:
  imageSpec:
    author: meta
    config: {labels: {team: core, a: meta}, removeLabels: [x, y]}
""" + IMAGE + "imageSpec:\n  author: own\n  config: {labels: {a: own}, removeLabels: [y, z]}\n"
    spec = load_project(project(files(werf)), env={}).images[0].image_spec
    assert spec is not None
    assert spec.author == "meta"  # werf: the meta section's author wins
    assert spec.labels == (("a", "meta"), ("team", "core"))
    assert spec.remove_labels == ("y", "z", "x")


def test_image_spec_repeated_label_refused(project: Make) -> None:
    werf = META + IMAGE + "imageSpec:\n  config:\n    labels:\n      a: '1'\n      a: '2'\n"
    err = load_error(project(files(werf)))
    assert err.message == "project/werf.yaml:10: imageSpec.config.labels: 'a' is given twice"


def test_image_spec_bad_regex(project: Make) -> None:
    werf = META + IMAGE + "imageSpec:\n  config:\n    removeLabels: [ok, /a(/]\n"
    err = load_error(project(files(werf)))
    assert err.message.startswith("project/werf.yaml:8: imageSpec.config.removeLabels: /a(/ is "
                                  "not a valid regular expression: ")


def test_image_spec_bad_keys(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "imageSpec:\n  config:\n    usr: app\n")))
    assert err.message == "project/werf.yaml:8: imageSpec.config: unknown key 'usr'"
    assert err.hint == "did you mean 'user'?"
    meta = META + "build:\n  imageSpec:\n    config:\n      user: app\n" + IMAGE
    err = load_error(project(files(meta)))
    assert err.message == "project/werf.yaml:6: imageSpec.config: unknown key 'user'"


def test_secret_id_defaults_to_env_name(project: Make) -> None:
    werf = META + IMAGE + "secrets:\n- env: NPM_TOKEN\n"
    assert load_project(project(files(werf)), env={}).images[0].secrets == (
        Secret("NPM_TOKEN", env="NPM_TOKEN"),)


def test_context_add_file_legacy_spelling(project: Make) -> None:
    werf = META + IMAGE + "contextAddFile:\n- a.txt\n"
    root = project(files(werf, **{"a.txt": "a"}))
    assert load_project(root, env={}).images[0].context_add_files == ("a.txt",)


def test_dependency_without_imports(project: Make) -> None:
    werf = META + IMAGE + "dependencies:\n- image: lib\n---\nimage: lib\ndockerfile: Dockerfile\n"
    app = load_project(project(files(werf)), env={}).image("app")
    assert app is not None
    assert app.dependencies == (Dependency("lib", ()),)


def test_context_may_be_the_project_directory_spelled_oddly(project: Make) -> None:
    root = project(files(META + IMAGE + "context: sub/..\n", **{"sub__keep": ""}))
    assert load_project(root, env={}).images[0].context_dir == root.resolve()


# -- errors: each one says file:line, the key, and what to do ---------------------------------

def test_missing_config_version(project: Make) -> None:
    err = load_error(project(files("project: demo\n" + IMAGE)))
    assert err.message == "project/werf.yaml:1: 'configVersion: 1' field required!"
    assert "configVersion: 1" in err.hint


def test_no_meta_document_at_all(project: Make) -> None:
    err = load_error(project(files("image: app\ndockerfile: Dockerfile\n")))
    assert err.message == "project/werf.yaml: 'configVersion: 1' field required!"


def test_config_version_2(project: Make) -> None:
    err = load_error(project(files("configVersion: 2\nproject: demo\n" + IMAGE)))
    assert err.message == "project/werf.yaml:1: 'configVersion: 1' field required!"
    assert "version 1" in err.hint


def test_two_meta_documents(project: Make) -> None:
    err = load_error(project(files(META + "---\n" + META + IMAGE)))
    assert err.message == "project/werf.yaml:4: a second meta document (with configVersion)"


def test_missing_project(project: Make) -> None:
    err = load_error(project(files("configVersion: 1\n" + IMAGE)))
    assert err.message == "project/werf.yaml:1: meta document: 'project' is required"
    assert "project: my-project" in err.hint


@pytest.mark.parametrize("name", ["Demo", "-demo", "demo-", "de_mo", "a" * 51, "dé"])
def test_bad_project_slug(project: Make, name: str) -> None:
    err = load_error(project(files(f"configVersion: 1\nproject: '{name}'\n" + IMAGE)))
    assert err.message == f"project/werf.yaml:2: project name '{name}' is not a valid slug"
    assert "lowercase" in err.hint


def test_bad_project_slug_from_environment_names_the_variable(project: Make) -> None:
    err = load_error(project(files(META + IMAGE)), env={"WERF_PROJECT_NAME": "Bad_Name"})
    assert "project name 'Bad_Name' (from WERF_PROJECT_NAME) is not a valid slug" in err.message


def test_project_must_be_a_string(project: Make) -> None:
    err = load_error(project(files("configVersion: 1\nproject: [a]\n" + IMAGE)))
    assert err.message == "project/werf.yaml:2: 'project' must be a string, not a list"


def test_unknown_meta_key_with_suggestion(project: Make) -> None:
    err = load_error(project(files(META + "bulid:\n  cacheVersion: x\n" + IMAGE)))
    assert err.message == "project/werf.yaml:3: meta document: unknown key 'bulid'"
    assert err.hint == "did you mean 'build'?"


def test_unknown_build_key_with_suggestion(project: Make) -> None:
    err = load_error(project(files(META + "build:\n  cacheVersoin: x\n" + IMAGE)))
    assert err.message == "project/werf.yaml:4: build: unknown key 'cacheVersoin'"
    assert err.hint == "did you mean 'cacheVersion'?"


def test_unknown_image_key_with_suggestion(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "\ntargte: x\n")))
    assert err.message == "project/werf.yaml:7: image document: unknown key 'targte'"
    assert err.hint == "did you mean 'target'?"


def test_unknown_image_key_without_near_match_lists_valid_keys(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "zzzzzz: x\n")))
    assert err.message == "project/werf.yaml:6: image document: unknown key 'zzzzzz'"
    assert err.hint.startswith("valid keys: image, dockerfile, context, target, args")


def test_misspelled_dockerfile_key_is_not_taken_for_a_stapel_image(project: Make) -> None:
    err = load_error(project(files(META + "---\nimage: app\ndockerfiel: Dockerfile\n")))
    assert err.message == "project/werf.yaml:5: image document: unknown key 'dockerfiel'"
    assert err.hint == "did you mean 'dockerfile'?"


def test_unknown_dependency_and_import_keys(project: Make) -> None:
    dep = META + IMAGE + "dependencies:\n- image: lib\n  imprts: []\n" \
        "---\nimage: lib\ndockerfile: Dockerfile\n"
    err = load_error(project(files(dep)))
    assert err.message == "project/werf.yaml:8: dependency: unknown key 'imprts'"
    assert err.hint == "did you mean 'imports'?"


def test_unknown_import_key(project: Make, tmp_path: Path) -> None:
    imp = META + IMAGE + ("dependencies:\n- image: lib\n  imports:\n  - type: ImageName\n"
                          "    targetBuildArgs: X\n---\nimage: lib\ndockerfile: Dockerfile\n")
    err = load_error(project(files(imp)))
    assert err.message == "project/werf.yaml:10: import: unknown key 'targetBuildArgs'"
    assert err.hint == "did you mean 'targetBuildArg'?"


def test_unknown_import_type(project: Make) -> None:
    imp = META + IMAGE + ("dependencies:\n- image: lib\n  imports:\n  - type: ImageSha\n"
                          "    targetBuildArg: X\n---\nimage: lib\ndockerfile: Dockerfile\n")
    err = load_error(project(files(imp)))
    assert err.message == "project/werf.yaml:9: import type 'ImageSha' is not known"
    assert err.hint == "valid types: ImageName, ImageTag, ImageRepo, ImageID, ImageDigest"


def test_import_missing_target_build_arg(project: Make) -> None:
    imp = META + IMAGE + ("dependencies:\n- image: lib\n  imports:\n  - type: ImageName\n"
                          "---\nimage: lib\ndockerfile: Dockerfile\n")
    err = load_error(project(files(imp)))
    assert err.message == "project/werf.yaml:9: import: 'targetBuildArg' is required"


def test_key_given_twice(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "target: a\ntarget: b\n")))
    assert err.message == "project/werf.yaml:7: image document: key 'target' is given twice"


@pytest.mark.parametrize(("extra", "line", "message"), [
    ("target: [a]\n", 6, "'target' must be a string, not a list"),
    ("final: 'no'\n", 6, "'final' must be true or false, not a string"),
    ("staged: 1\n", 6, "'staged' must be true or false, not a number"),
    ("addHost: db:1.2.3.4\n", 6, "'addHost' must be a list, not a string"),
    ("addHost:\n- {a: b}\n", 7, "'addHost' must be a string, not a mapping"),
    ("args: [A]\n", 6, "'args' must be a mapping, not a list"),
    ("args:\n  A: [x]\n", 7, "'args.A' must be a string, not a list"),
    ("args:\n  A: x\n  A: y\n", 8, "image 'app': build arg 'A' is given twice"),
    ("platform: linux/amd64\n", 6, "'platform' must be a list, not a string"),
    ("dependencies: {image: x}\n", 6, "'dependencies' must be a list, not a mapping"),
    ("secrets:\n- id: a\n", 7, "secret: give exactly one of 'env', 'src', 'value'"),
    ("secrets:\n- value: v\n", 7, "secret: 'id' is required with 'value'"),
    ("secrets:\n- {id: a, env: A, value: b}\n", 7,
     "secret: give exactly one of 'env', 'src', 'value'"),
    ("contextAddFiles: [nothere.txt]\n", 6,
     "contextAddFiles: 'nothere.txt' does not exist in the context"),
    ("contextAddFiles: [../outside]\n", 6, "contextAddFiles: '../outside' is outside the context"),
    ("args:\n  1BAD: x\n", 7, "image 'app': '1BAD' is not a valid build arg name"),
])
def test_wrong_types_and_values(project: Make, extra: str, line: int, message: str) -> None:
    err = load_error(project(files(META + IMAGE + extra)))
    assert err.message == f"project/werf.yaml:{line}: {message}"


def test_args_values_as_werf_reads_them(project: Make) -> None:
    """werf reads args with yaml.v2 into interface {} values and prints them with Go's %v
    (expected values printed by Go with yaml.v2)."""
    values = {"B1": "true", "B2": "yes", "B3": "y", "NN": "~", "E": "", "D": "2024-01-02",
              "F": "1.10", "O": "010", "U": "1_000", "H": "0x10", "I": ".inf", "Q": '"010"',
              "S": "hello", "V": "1.2.3", "L": "-0.0"}
    werf = META + IMAGE + "args:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items())
    args = load_project(project(files(werf)), env={}).images[0].args_dict
    assert args == {"B1": "true", "B2": "true", "B3": "true", "NN": "<nil>", "E": "<nil>",
                    "D": "2024-01-02", "F": "1.1", "O": "8", "U": "1000", "H": "16",
                    "I": "+Inf", "Q": "010", "S": "hello", "V": "1.2.3", "L": "-0"}


def test_bool_value_hint_says_quote_it(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "target: yes\n")))
    assert err.message == "project/werf.yaml:6: 'target' must be a string, not a boolean"
    assert "quote" in err.hint


def test_context_add_file_and_files_both(project: Make) -> None:
    werf = META + IMAGE + "contextAddFile: [a]\ncontextAddFiles: [a]\n"
    err = load_error(project(files(werf, a="")))
    assert err.message == ("project/werf.yaml:6: 'contextAddFile' and 'contextAddFiles' are "
                           "both given")


def test_document_must_be_a_mapping(project: Make) -> None:
    err = load_error(project(files(META + "---\n- a\n- b\n")))
    assert err.message == "project/werf.yaml:4: each YAML document must be a mapping, not a list"


def test_document_that_is_no_image(project: Make) -> None:
    err = load_error(project(files(META + "---\nfoo: bar\n")))
    assert err.message.startswith("project/werf.yaml:4: document is neither the meta document")


def test_invalid_yaml_points_at_line(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "args:\n  A: [unclosed\n")))
    assert err.message.startswith("project/werf.yaml:")
    assert "invalid YAML" in err.message
    line = int(err.message.split(":")[1])
    assert line in (7, 8)
    assert err.hint == "fix the YAML syntax at that line"


def test_template_env_needs_giterminism_with_its_line(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + 'args:\n  A: {{ env "A" }}\n')))
    assert err.message == ('project/werf.yaml:7:9: template: error calling env: env name "A" '
                           "not allowed by giterminism")
    assert "allowEnvVariables" in err.hint and "--loose-giterminism" in err.hint


def test_template_renders_images_and_errors_point_into_the_template(project: Make) -> None:
    werf = META + '{{ range list "a" "b" }}---\nimage: {{ . }}\ndockerfile: Dockerfile\n{{ end }}'
    assert [i.name for i in load_project(project(files(werf)), env={}).images] == ["a", "b"]
    bad = META + ('{{ range list "a" "b" }}---\nimage: {{ . }}\n'
                  '{{ if eq . "b" }}dockerfil{{ else }}dockerfile{{ end }}: Dockerfile\n{{ end }}')
    err = load_error(project(files(bad)))
    # the second image's typo is on rendered line 8; the template wrote it at line 5
    assert err.message == ("project/werf.yaml:5 (rendered line 8): image document: unknown "
                           "key 'dockerfil'")


def test_stapel_image_is_refused_with_werf_message(project: Make) -> None:
    werf = META + "---\nimage: backend\nfrom: alpine\n---\nartifact: assets\nfrom: alpine\n" \
        + "---\nimage: app\ndockerfile: Dockerfile\n"
    err = load_error(project(files(werf)))
    assert err.message == (
        "project/werf.yaml:4: Unable to build stapel type images and artifacts with buildah "
        "container backend: image 'backend', artifact 'assets'")
    assert err.hint.startswith("Please select only dockerfile images or delete all "
                               "non-dockerfile images from your werf.yaml.")


def test_duplicate_image_names(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + IMAGE)))
    assert err.message == "project/werf.yaml:7: image 'app' is declared twice"
    assert err.hint == "the first declaration is at project/werf.yaml:4; rename one"


@pytest.mark.parametrize("name", ["App", "app_", "a b", "-x"])
def test_bad_image_name(project: Make, name: str) -> None:
    err = load_error(project(files(META + f"---\nimage: '{name}'\ndockerfile: Dockerfile\n")))
    assert err.message == f"project/werf.yaml:4: image name '{name}' is not valid"


def test_missing_image_name(project: Make) -> None:
    err = load_error(project(files(META + "---\ndockerfile: Dockerfile\n")))
    assert err.message == ("project/werf.yaml:4: image document: 'image' (the image name) is "
                           "required")


def test_no_images_is_a_deploy_only_project(project: Make) -> None:
    assert load_project(project(files(META)), env={}).images == ()


def test_nameless_image(project: Make) -> None:
    p = load_project(project(files(META + "---\nimage: ~\ndockerfile: Dockerfile\n")), env={})
    assert [i.name for i in p.images] == [""]
    err = load_error(project(files(META + "---\nimage: ~\ndockerfile: Dockerfile\n" + IMAGE)))
    assert "a nameless image ('image: ~') cannot be declared with other images" in err.message


def test_nameless_image_is_selected_as_tilde(project: Make) -> None:
    from dockwright import plan

    p = load_project(project(files(META + "---\nimage: ~\ndockerfile: Dockerfile\n")), env={})
    assert [i.name for i in plan.order(p, ("~",))] == [""]
    with pytest.raises(ConfigError, match=r"no image 'x' in werf\.yaml") as info:
        plan.order(p, ("x",))
    assert info.value.hint == "images: ~"


def test_one_document_several_images(project: Make) -> None:
    werf = META + "---\nimage: [a, b]\ndockerfile: Dockerfile\nargs: {X: 1}\n"
    images = load_project(project(files(werf)), env={}).images
    assert [(i.name, i.args) for i in images] == [("a", (("X", "1"),)), ("b", (("X", "1"),))]
    err = load_error(project(files(META + "---\nimage: [a, 3]\ndockerfile: Dockerfile\n")))
    assert err.message == "project/werf.yaml:4: invalid image name `3`"


@pytest.mark.parametrize("version", ["1", "1.0", "0x1", "+1", "01"])
def test_config_version_as_werf_reads_it(project: Make, version: str) -> None:
    werf = f"configVersion: {version}\nproject: demo\n" + IMAGE
    assert load_project(project(files(werf)), env={}).name == "demo"


@pytest.mark.parametrize("version", ['"1"', "2", "true", "1.5"])
def test_config_version_other_values_refused(project: Make, version: str) -> None:
    err = load_error(project(files(f"configVersion: {version}\nproject: demo\n" + IMAGE)))
    assert err.message == "project/werf.yaml:1: 'configVersion: 1' field required!"


def test_yaml_anchors_aliases_and_merge_keys(project: Make) -> None:
    werf = META + (
        "---\nimage: base\ndockerfile: Dockerfile\ncacheVersion: &v '7'\n"
        "args: {A: &one '1', B: '2', C: *v, D: *one}\n"
        "---\nimage: app\ncontext: .\n<<: {dockerfile: Dockerfile, target: t}\n"
        "args:\n  <<: {A: x, C: '3'}\n  A: '9'\n")
    p = load_project(project(files(werf)), env={})
    base, app = p.images
    assert base.args == (("A", "1"), ("B", "2"), ("C", "7"), ("D", "1"))
    assert base.cache_version == "7"
    # a dockerfile that arrives through a merge key makes a Dockerfile image, not Stapel
    assert app.dockerfile == "Dockerfile" and app.target == "t"
    assert app.args == (("A", "9"), ("C", "3"))


def test_context_outside_project(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "context: ../elsewhere\n")))
    assert err.message == ("project/werf.yaml:6: image 'app': context '../elsewhere' is outside "
                           "the project directory")


def test_context_symlink_outside_project(project: Make, tmp_path: Path) -> None:
    root = project(files(META + IMAGE + "context: link\n"))
    (tmp_path / "outside").mkdir()
    (root / "link").symlink_to(tmp_path / "outside")
    err = load_error(root)
    assert "context 'link' is outside the project directory" in err.message


def test_missing_context_directory(project: Make) -> None:
    err = load_error(project(files(META + IMAGE + "context: nothere\n")))
    assert err.message == ("project/werf.yaml:6: image 'app': context directory 'nothere' does "
                           "not exist")


def test_missing_dockerfile(project: Make) -> None:
    root = project({"werf.yaml": META + IMAGE + "context: sub\n", "sub/x": ""})
    err = load_error(root)
    assert err.message == ("project/werf.yaml:5: image 'app': Dockerfile 'Dockerfile' not found "
                           "in context 'sub'")
    assert err.hint == "the dockerfile path is relative to the context directory"


def test_dockerfile_outside_project(project: Make) -> None:
    err = load_error(project(files(META + "---\nimage: app\ndockerfile: ../Dockerfile\n")))
    assert err.message == ("project/werf.yaml:5: image 'app': dockerfile '../Dockerfile' is "
                           "outside the project directory")


DEP = META + """---
image: lib
dockerfile: Dockerfile
---
image: app
dockerfile: Dockerfile
"""


def test_arg_both_in_args_and_import(project: Make) -> None:
    werf = DEP + ("args:\n  BASE: x\ndependencies:\n- image: lib\n  imports:\n"
                  "  - type: ImageName\n    targetBuildArg: BASE\n")
    err = load_error(project(files(werf)))
    assert err.message == ("project/werf.yaml:15: image 'app': build arg 'BASE' is given both "
                           "in 'args' and by a dependency import")
    assert err.hint == "remove it from 'args' or from the import"


def test_arg_imported_twice(project: Make) -> None:
    werf = DEP + ("dependencies:\n- image: lib\n  imports:\n"
                  "  - {type: ImageName, targetBuildArg: BASE}\n"
                  "  - {type: ImageID, targetBuildArg: BASE}\n")
    err = load_error(project(files(werf)))
    assert err.message == "project/werf.yaml:10: image 'app': build arg 'BASE' is imported twice"


def test_unknown_dependency_with_suggestion(project: Make) -> None:
    err = load_error(project(files(DEP + "dependencies:\n- image: lip\n")))
    assert err.message == "project/werf.yaml:10: image 'app' depends on unknown image 'lip'"
    assert err.hint == "did you mean 'lib'?"


def test_unknown_dependency_lists_images(project: Make) -> None:
    err = load_error(project(files(DEP + "dependencies:\n- image: zzzzzz\n")))
    assert err.hint == "images in werf.yaml: app, lib"


def test_dependency_on_itself(project: Make) -> None:
    err = load_error(project(files(DEP + "dependencies:\n- image: app\n")))
    assert err.message == "project/werf.yaml:10: image 'app' depends on itself"


def test_dependency_cycle(project: Make) -> None:
    werf = META + (
        "---\nimage: a\ndockerfile: Dockerfile\ndependencies:\n- image: b\n"
        "---\nimage: b\ndockerfile: Dockerfile\ndependencies:\n- image: c\n"
        "---\nimage: c\ndockerfile: Dockerfile\ndependencies:\n- image: a\n"
    )
    err = load_error(project(files(werf)))
    assert err.message == "project/werf.yaml:7: dependency cycle: a -> b -> c -> a"
    assert err.hint == "remove one of these dependencies"


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"]
    assert find_cycle({"x": [], "a": ["b"], "b": ["c"], "c": ["b"]}) == ["b", "c", "b"]
    assert find_cycle({}) is None
