#!/usr/bin/env bash
# Runs the stages that exist, in pipeline order, through the CLI: pretrain, then split.rounds rounds
# of (profile -> split -> fine-tune each child). Until the Snakemake workflow lands, this is what
# `make run` calls.   Usage: scripts/run_stages.sh CONFIG OUTDIR
set -euo pipefail
config=$1 out=$2
naslid=${NASLID:-.venv/bin/naslid}
rounds=$(.venv/bin/python -c "from naslid.config import load_config; print(load_config('$config')['split']['rounds'])")
between=$(.venv/bin/python -c "from naslid.config import load_config; print(load_config('$config')['split']['epochs_between_rounds'])")

$naslid pretrain --config "$config" --out "$out/pretrain/supernet.pt" --metrics "$out/pretrain/metrics.json"
mkdir -p "$out/subnets"
cp "$out/pretrain/supernet.pt" "$out/subnets/root.pt"
ids=("root")
for ((round = 1; round <= rounds; round++)); do
  next=()
  for id in "${ids[@]}"; do
    $naslid profile --config "$config" --supernet "$out/subnets/$id.pt" --out "$out/profile/$id.csv"
    $naslid split --config "$config" --supernet "$out/subnets/$id.pt" --profiles "$out/profile/$id.csv" --out "$out/split/$id.json"
    for child in 0 1; do
      cid=$([ "$id" = root ] && echo "$child" || echo "$id$child")
      epochs=$([ "$round" -eq "$rounds" ] && echo "" || echo "--epochs $between")
      $naslid finetune --config "$config" --parent "$out/subnets/$id.pt" --split "$out/split/$id.json" --child $child \
        $epochs --out "$out/subnets/$cid.pt" --metrics "$out/finetune/$cid.json"
      next+=("$cid")
    done
  done
  ids=("${next[@]}")
done
echo "done: ${#ids[@]} sub-supernets in $out/subnets" >&2
