#!/usr/bin/env bash
# Regenerate results/reference/: config/compare.yaml (the embedded default over three seeds) run cold
# from a clean checkout, its tables and figures kept with the command, commit, date, machine and
# wall time that made them, so a user can check a run against them.
#
#   scripts/reference.sh        # in a fresh clone, after `make setup`; about 30-40 min on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "$(git status --porcelain -- naslid workflow config Makefile)" ]; then
    echo "reference: error: naslid/, workflow/, config/ or the Makefile has uncommitted changes;" \
        "the reference must come from a commit: commit or stash them, then run again" >&2
    exit 2
fi
rm -rf results/compare
start=$(date +%s)
make run CONFIG=config/compare.yaml
wall=$(( $(date +%s) - start ))

out=results/reference
tmp=$(mktemp -d results/.reference.XXXXXX)
cp -r results/compare/tables results/compare/figures "$tmp"/
cat >"$tmp"/MADE.md <<MADE
# How these files were made

- command: \`make run CONFIG=config/compare.yaml\` (from an empty \`results/compare/\`), then
  \`scripts/reference.sh\` kept \`results/compare/{tables,figures}\`
- commit: $(git rev-parse HEAD)
- date: $(date -u +%Y-%m-%dT%H:%MZ)
- machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')
- cold wall time: $wall s on $(nproc) cores, $(find results/compare -name '*.tsv' | wc -l) jobs

On another CPU, numbers differ by rounding (README, Determinism); on this one they are reproduced
exactly by the same command at the same commit.
MADE
rm -rf "$out"
mv "$tmp" "$out"
echo "reference: results/reference/ written (cold wall time $wall s)"
