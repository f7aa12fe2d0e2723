"""The Go oracle, built once per session; the corpus tests fail (not skip) without Go."""

from __future__ import annotations

import pytest

from tests.gotemplate.harness import Oracle, OracleUnavailable, build_oracle, go_cache_dir


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Oracle:
    out_dir = tmp_path_factory.mktemp("oracle")
    try:
        return build_oracle(out_dir, go_cache_dir(out_dir / "gocache"))
    except OracleUnavailable as error:
        message = str(error)
    pytest.fail(message, pytrace=False)
