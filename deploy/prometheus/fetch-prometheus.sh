#!/usr/bin/env bash
# Print the directory that holds the `prometheus` and `promtool` binaries.
#
# Uses them from PATH when both are there. Otherwise downloads Debian's `prometheus` package with
# `apt-get download` (no root, nothing installed system-wide) and unpacks it with `dpkg -x` into
# ${CXSTREAM_PROMETHEUS_HOME:-.cache/prometheus} (relative to the repository root). Idempotent: a
# second run only prints the directory. Progress goes to stderr, the directory alone to stdout:
#
#   PROM_BIN="$(deploy/prometheus/fetch-prometheus.sh)"
#   "$PROM_BIN/promtool" check config deploy/prometheus/prometheus.yml
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if prom="$(command -v prometheus)" && tool="$(command -v promtool)" \
    && [[ "$(dirname "$prom")" == "$(dirname "$tool")" ]]; then
    dirname "$prom"
    exit 0
fi

home="${CXSTREAM_PROMETHEUS_HOME:-.cache/prometheus}"
mkdir -p "$home"
home="$(cd "$home" && pwd)"
bin="$home/usr/bin"

if [[ -x "$bin/prometheus" && -x "$bin/promtool" ]]; then
    echo "$bin"
    exit 0
fi

for cmd in apt-get dpkg; do
    if ! command -v "$cmd" >/dev/null; then
        echo "fetch-prometheus: '$cmd' not found; this script needs a Debian/Ubuntu host." >&2
        echo "Install Prometheus yourself (https://prometheus.io/download/) and put" >&2
        echo "prometheus and promtool on PATH." >&2
        exit 1
    fi
done

tmp="$(mktemp -d)"
# As root, apt-get warns that the _apt user cannot write here and downloads as root: harmless.
trap 'rm -rf "$tmp"' EXIT

echo "fetch-prometheus: downloading the Debian 'prometheus' package into $tmp" >&2
if ! (cd "$tmp" && apt-get download prometheus >&2); then
    echo "fetch-prometheus: 'apt-get download prometheus' failed (try 'apt-get update' first," >&2
    echo "or check that a Debian/Ubuntu archive with the package is configured)." >&2
    exit 1
fi

shopt -s nullglob
debs=("$tmp"/prometheus_*.deb)
if (( ${#debs[@]} != 1 )); then
    echo "fetch-prometheus: expected one prometheus_*.deb in $tmp, found ${#debs[@]}." >&2
    exit 1
fi

echo "fetch-prometheus: extracting ${debs[0]##*/} into $home" >&2
dpkg -x "${debs[0]}" "$home"

if [[ ! -x "$bin/prometheus" || ! -x "$bin/promtool" ]]; then
    echo "fetch-prometheus: the package did not contain usr/bin/prometheus and usr/bin/promtool." >&2
    exit 1
fi
echo "$bin"
