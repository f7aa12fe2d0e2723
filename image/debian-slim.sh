#!/bin/sh
# Makes docker.io/library/debian:<suite>-slim in the local image store from Debian's archive, for
# machines that reach Debian's packages but no public image registry. Like Docker's official
# slim image: a minbase debootstrap without apt lists, package caches, documentation and
# locales, and dpkg told not to install those again.
#   image/debian-slim.sh [SUITE]      (root; SUITE defaults to bookworm)
# The root filesystem is kept as a tar in $DOCKWRIGHT_BASE_CACHE (default /var/tmp/dockwright-base).
set -eu
suite=${1:-bookworm}
cache=${DOCKWRIGHT_BASE_CACHE:-/var/tmp/dockwright-base}
name=docker.io/library/debian:$suite-slim
tar=$cache/$suite-slim.tar
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
         || true)
mirror=${mirror:-http://deb.debian.org/debian}

if [ ! -f "$tar" ]; then
  command -v debootstrap >/dev/null || {
    echo "error: debootstrap is not installed" >&2
    echo "hint: apt-get install debootstrap" >&2; exit 1; }
  mkdir -p "$cache"
  root=$(mktemp -d "$cache/$suite.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$cache/$suite.log" 2>&1 || {
    echo "error: debootstrap $suite from $mirror failed (log: $cache/$suite.log)" >&2
    echo "hint: check that $mirror answers, or pass another suite" >&2; exit 1; }
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
CFG
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
         "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
         "$root"/usr/share/locale/* "$root"/usr/share/lintian/* "$root"/var/log/*.log
  find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  tar -C "$root" -cf "$tar.part" . && mv "$tar.part" "$tar"
  rm -rf "$root"
fi

c=$(buildah from scratch)
trap 'buildah rm "$c" >/dev/null 2>&1 || true' EXIT
buildah add "$c" "$tar" / >/dev/null
buildah config --cmd '["bash"]' "$c"
buildah commit -q "$c" "$name" >/dev/null
echo "$name"
