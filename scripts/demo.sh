#!/usr/bin/env bash
# The main job on the embedded default: a lab of SSH hosts on this machine, then metalplane's
# commands against it, as far as a machine without Kubernetes binaries can go. Needs root.
# The lab is removed at the end, also when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mp() { node bin/run.js "$@"; }
name=${LAB_NAME:-demo}
trap 'echo; echo "== lab down"; mp lab down --name "$name"' EXIT

echo "== lab up: 3 SSH hosts in network namespaces"
mp lab up --name "$name" --hosts 3
spec=$(mp lab status --name "$name" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).clusterYaml))')

echo; echo "== spec validate"
mp spec validate -c "$spec"

echo; echo "== hosts facts"
mp hosts facts -c "$spec"

echo; echo "== hosts exec -- uname -r"
mp hosts exec -c "$spec" -- uname -r

echo; echo "== cluster plan (what apply would change; changes nothing)"
mp cluster plan -c "$spec" --no-progress || echo "(cluster plan needs the Kubernetes bundle: see docs/bundle.md)"
