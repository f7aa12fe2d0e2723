"""The OCI layout that keeps manifest lists where Buildah's store cannot (storage/layout.py):
the index it writes, the tags it gives, and what it leaves of the platforms' pushes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dockwright.storage import layout


def pushed(directory: Path, name: str, body: bytes) -> str:
    """What ``buildah push ... oci:<directory>:<name>`` leaves: a manifest blob, a tag."""
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    blob = directory / "blobs" / "sha256" / digest.split(":")[1]
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(body)
    index_path = directory / "index.json"
    manifests = json.loads(index_path.read_text())["manifests"] if index_path.exists() else []
    manifests.append({"mediaType": layout.MANIFEST, "digest": digest,
                               "size": len(body),
                               "annotations": {layout.REF_NAME: name}})
    index_path.write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return digest


def test_a_list_is_an_index_blob_tagged_in_place_of_the_platforms_pushes(
        tmp_path: Path) -> None:
    d = tmp_path / "lists"
    amd = pushed(d, "t-0", b'{"amd":1}')
    arm = pushed(d, "t-1", b'{"arm":1}')
    with layout.locked(d):
        digest = layout.add_list(d, "t", [layout.Entry(amd, ("linux", "amd64", "")),
                                          layout.Entry(arm, ("linux", "arm", "v7"))],
                                 drop=["t-0", "t-1"])
    body = (d / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
    assert digest == "sha256:" + hashlib.sha256(body).hexdigest()
    index = json.loads(body)
    assert index["mediaType"] == layout.INDEX
    assert [(m["digest"], m["size"], m["platform"]) for m in index["manifests"]] == [
        (amd, 9, {"architecture": "amd64", "os": "linux"}),
        (arm, 9, {"architecture": "arm", "os": "linux", "variant": "v7"})]
    top = json.loads((d / "index.json").read_text())["manifests"]
    assert [(m["digest"], m["annotations"][layout.REF_NAME]) for m in top] == [(digest, "t")]
    assert layout.find(d, "t") == digest and layout.find(d, "t-0") == ""
    assert layout.reference(d, "t") == f"oci:{d}:t"


def test_more_tags_name_the_same_index_and_a_tag_moves(tmp_path: Path) -> None:
    d = tmp_path / "lists"
    one = pushed(d, "a-0", b'{"one":1}')
    with layout.locked(d):
        first = layout.add_list(d, "a", [layout.Entry(one, ("linux", "amd64", ""))], ["a-0"])
        layout.tag(d, "a", ["latest", "v1"])
    assert layout.find(d, "latest") == layout.find(d, "v1") == first
    two = pushed(d, "b-0", b'{"two":1}')
    with layout.locked(d):
        second = layout.add_list(d, "b", [layout.Entry(two, ("linux", "arm64", ""))], ["b-0"])
        layout.tag(d, "b", ["latest"])
    assert layout.find(d, "latest") == second and layout.find(d, "v1") == first
    names = [m["annotations"][layout.REF_NAME]
             for m in json.loads((d / "index.json").read_text())["manifests"]]
    assert sorted(names) == ["a", "b", "latest", "v1"]  # one each: the tag moved


def test_an_empty_or_missing_layout_names_nothing(tmp_path: Path) -> None:
    assert layout.find(tmp_path / "none", "t") == ""
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "index.json").write_text("[]")
    assert layout.find(tmp_path / "bad", "t") == ""


def test_an_unreadable_index_names_nothing_and_is_set_aside_for_a_new_one(
        tmp_path: Path) -> None:
    d = tmp_path / "lists"
    d.mkdir()
    (d / "index.json").write_text("garbage")
    assert layout.find(d, "t") == ""
    with layout.locked(d):
        aside = layout.set_aside(d)
    assert aside.startswith("index.json.unreadable-") and (d / aside).read_text() == "garbage"
    assert not (d / "index.json").exists()
    one = pushed(d, "t-0", b'{"one":1}')
    with layout.locked(d):
        assert layout.set_aside(d) == ""  # a good one stays
        digest = layout.add_list(d, "t", [layout.Entry(one, ("linux", "amd64", ""))], ["t-0"])
    assert layout.find(d, "t") == digest
