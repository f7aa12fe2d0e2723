"""werf.yaml nodes: the same from the cache as from PyYAML, and PyYAML left alone on a hit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockwright.config import yamlnodes
from dockwright.config.yamlnodes import MappingNode, Node, ScalarNode, SequenceNode

TEXT = """\
configVersion: 1
project: demo
---
image: app  # a comment
dockerfile: Dockerfile
final: no
args:
  A: 1
  B: "x"
addHost: [a:1.2.3.4, b:5.6.7.8]
base: &anchor
  k: v
again: *anchor
---
"""


def shape(node: Node | None) -> object:
    if node is None:
        return None
    if isinstance(node, MappingNode):
        return ("m", node.tag, node.line, [(shape(k), shape(v)) for k, v in node.value])
    if isinstance(node, SequenceNode):
        return ("s", node.tag, node.line, [shape(i) for i in node.value])
    assert isinstance(node, ScalarNode)
    return ("v", node.tag, node.line, node.value)


def test_cached_nodes_are_the_composed_ones(tmp_path: Path) -> None:
    fresh = [shape(n) for n in yamlnodes.compose_all(TEXT)]
    first = [shape(n) for n in yamlnodes.compose_all(TEXT, tmp_path)]
    assert len(list(tmp_path.iterdir())) == 1
    again = [shape(n) for n in yamlnodes.compose_all(TEXT, tmp_path)]
    assert fresh == first == again
    assert fresh[2] == ("v", yamlnodes.NULL, 14, "")  # the empty last document
    image = yamlnodes.compose_all(TEXT, tmp_path)[1]
    assert isinstance(image, MappingNode)
    values = {k.value: v for k, v in image.value if isinstance(k, ScalarNode)}
    assert values["final"].tag == yamlnodes.BOOL and values["final"].line == 5
    # an alias is the anchored node itself, where the anchor is
    assert shape(values["again"]) == shape(values["base"]) == (
        "m", "tag:yaml.org,2002:map", 10, [(("v", yamlnodes.STR, 11, "k"),
                                            ("v", yamlnodes.STR, 11, "v"))])


def test_a_cache_hit_does_not_import_pyyaml(tmp_path: Path) -> None:
    yamlnodes.compose_all(TEXT, tmp_path)
    probe = ("import sys; from pathlib import Path; from dockwright.config import yamlnodes;"
             f"yamlnodes.compose_all({TEXT!r}, Path({str(tmp_path)!r}));"
             "print('yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_syntax_errors_carry_the_line_and_are_not_cached(tmp_path: Path) -> None:
    with pytest.raises(yamlnodes.YamlSyntaxError) as err:
        yamlnodes.compose_all("a: 1\nb: [1, 2\nc: 3\n", tmp_path)
    assert err.value.line == 2 and "expected ',' or ']'" in err.value.problem
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_cache_entry_is_composed_again(tmp_path: Path) -> None:
    yamlnodes.compose_all(TEXT, tmp_path)
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"\x00garbage")
    assert [shape(n) for n in yamlnodes.compose_all(TEXT, tmp_path)] == \
        [shape(n) for n in yamlnodes.compose_all(TEXT)]
