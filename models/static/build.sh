#!/usr/bin/env bash
# Rebuilds the built-in ragd-static model (embed/static/ragd-static.bin) from
# the Debian packages pinned in packages.txt, the ones shared/eval/TRAINING.md
# allows, and nothing else: download, unpack, extract pairs (prepare.py),
# train (train.py, Debian's python3-torch), write the .bin and its .sha256.
#
#   models/static/build.sh OUT.bin [WORKDIR]
#
# WORKDIR keeps the packages and pairs between runs (default: a temporary
# directory, removed afterwards). About 20 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "$1")
work=${2:-}
if [ -z "$work" ]; then work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work/debs" "$work/root"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
	$SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-torch python3-numpy >/dev/null
fi
cd "$work/debs"
# Exact versions: a package updated since is refused by apt rather than
# silently giving other training text.
apt-get download $(grep -v '^#' "$here/packages.txt") 2>&1 | grep -v '^Get:' || true
for deb in *.deb; do dpkg-deb -x "$deb" "$work/root"; done
/usr/bin/python3 "$here/prepare.py" "$work/root" "$work/pairs.jsonl"
/usr/bin/python3 "$here/train.py" "$work/pairs.jsonl" "$here/../../embed/glove/glove-100d.bin" "$out" \
	--golden "$here/../../embed/static/testdata/golden.json"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" > "$(basename "$out").sha256")
cat "$out.sha256"
