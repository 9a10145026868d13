#!/usr/bin/env bash
# Fetches the data casebook-detect-bench reads into DIR (never into this repository):
#   DIR/NAB/data/...             the Numenta Anomaly Benchmark's series (MIT licence), and
#   DIR/NAB/labels/combined_windows.json   its labelled anomaly windows;
#   DIR/pypistats/python_minor.py          pypistats' test fixture (MIT licence): one package's
#                                          real PyPI downloads per day and Python minor version.
# Both repositories are cloned at pinned commits (the ones the README's table was measured on).
# Set NAB_REPO / PYPISTATS_REPO to a local clone or mirror to fetch from there instead.
# Usage: bash Tests/Benchmarks/fetch-detect-data.sh DIR
set -euo pipefail

DIR=${1:?usage: fetch-detect-data.sh DIR}
NAB_REPO=${NAB_REPO:-https://github.com/numenta/NAB.git}
NAB_COMMIT=ea702d75cc2258d9d7dd35ca8e5e2539d71f3140
PYPISTATS_REPO=${PYPISTATS_REPO:-https://github.com/hugovk/pypistats.git}
PYPISTATS_COMMIT=00c6affa6d6bdc7b977858f60a4ae720c50aeb7d

mkdir -p "$DIR"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # repo commit dest
    git init -q "$3"
    git -C "$3" fetch -q --depth 1 "$1" "$2" 2>/dev/null || git -C "$3" fetch -q "$1"
    git -C "$3" checkout -q "$2"
}

fetch "$NAB_REPO" "$NAB_COMMIT" "$tmp/nab"
mkdir -p "$DIR/NAB/data" "$DIR/NAB/labels"
for d in realTweets realKnownCause realAWSCloudwatch; do
    rm -rf "$DIR/NAB/data/$d"
    cp -R "$tmp/nab/data/$d" "$DIR/NAB/data/$d"
done
cp "$tmp/nab/labels/combined_windows.json" "$tmp/nab/LICENSE.txt" "$DIR/NAB/labels/"

fetch "$PYPISTATS_REPO" "$PYPISTATS_COMMIT" "$tmp/pypistats"
mkdir -p "$DIR/pypistats"
cp "$tmp/pypistats/tests/data/python_minor.py" "$tmp/pypistats/LICENSE.txt" "$DIR/pypistats/"

echo "casebook-detect-bench data in $DIR (NAB $NAB_COMMIT, pypistats $PYPISTATS_COMMIT)"
