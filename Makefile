# Two commands do all set-up on a fresh Debian/Ubuntu machine:
#   make run    build the example project (examples/hello) with the default embedded setup
#   make test   the whole suite (unit + integration: root and rootless Buildah)
SHELL := /bin/bash
# Debian's python3: a rootless test user must be able to run the virtualenv's interpreter.
PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := buildah runc crun fuse-overlayfs uidmap slirp4netns skopeo docker-registry \
	busybox-static libcap2-bin util-linux apache2-utils openssl python3-venv procps
# The tests also need Go and sprig, to render werf.yaml templates with the real thing, and
# podman and debootstrap, to run dockwright's own image (make image) as CI runners do, and
# QEMU (qemu-user-static, registered by binfmt-support) to build for arm64 here
TEST_APT_PACKAGES := golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev \
	podman debootstrap qemu-user-static binfmt-support
EXAMPLE := examples/hello

.PHONY: run test unit integration lint deps test-deps venv example-rootfs bench docs clean image

deps: PACKAGES := $(APT_PACKAGES)
test-deps: PACKAGES := $(APT_PACKAGES) $(TEST_APT_PACKAGES)
deps test-deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; \
	  else \
	    echo "missing packages:$$missing (run 'sudo make deps' or install them)"; exit 1; \
	  fi; \
	fi

$(BIN)/dockwright: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip >/dev/null
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

venv: $(BIN)/dockwright

example-rootfs: deps
	@mkdir -p $(EXAMPLE)/base/rootfs/bin
	@cp -u /bin/busybox $(EXAMPLE)/base/rootfs/bin/busybox

run: deps venv example-rootfs
	cd $(EXAMPLE) && ../../$(BIN)/dockwright build

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

unit: test-deps venv
	$(BIN)/pytest -q tests/unit tests/gotemplate

integration: deps venv
	$(BIN)/pytest -q -m integration tests/integration

test: test-deps venv lint
	$(BIN)/pytest -q tests

# dockwright against raw Buildah, side by side (about 15 minutes; writes bench/results/latest.json)
bench: deps venv
	$(BIN)/python bench/run.py

# regenerate docs/doctor-faults.md from real faults (the suite itself writes no tracked file)
docs: deps venv
	DOCKWRIGHT_FAULT_TABLE=$(CURDIR)/docs/doctor-faults.md $(BIN)/pytest -q \
		tests/integration/test_doctor_faults.py

# dockwright's own image (image/Dockerfile, werf.yaml), built by dockwright: localhost/dockwright
# tagged with its content digest and `latest`. The base, debian:bookworm-slim, is pulled; where
# no public registry answers it is made from Debian's archive (image/debian-slim.sh). The build
# reads the commit (giterminism): WERF_DEV=1 builds the working tree.
IMAGE_BASE := docker.io/library/debian:bookworm-slim
image: deps venv
	@mkdir -p image/wheels
	@v=$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("dockerfile"))'); \
	  ls image/wheels/dockerfile-$$v-*.whl >/dev/null 2>&1 || { rm -f image/wheels/*.whl; \
	  $(BIN)/pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
	    --platform manylinux2014_x86_64 -d image/wheels dockerfile==$$v; }
	@buildah inspect --type image $(IMAGE_BASE) >/dev/null 2>&1 \
	  || skopeo inspect --retry-times 0 docker://$(IMAGE_BASE) >/dev/null 2>&1 \
	  || { echo "no registry serves $(IMAGE_BASE): making it with debootstrap"; \
	       dpkg-query -W -f='$${Status}' debootstrap 2>/dev/null | grep -q "ok installed" \
	         || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; \
	       image/debian-slim.sh bookworm; }
	$(BIN)/dockwright build --add-custom-tag latest

clean:
	rm -rf $(VENV) $(EXAMPLE)/base/rootfs image/wheels
