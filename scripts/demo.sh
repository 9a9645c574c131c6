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

work=$(mktemp -d /tmp/metalplane-demo.XXXXXX)
trap 'echo; echo "== lab down"; mp lab down --name "$name"; rm -rf "$work"' EXIT
echo; echo "== rehearsal bundle: real containerd/runc debs + the test stand-ins for kubeadm/kubelet/kubectl"
echo "   (no registry reachable here serves the real Kubernetes binaries; see README, Acceptance)"
rspec=$(node --import tsx scripts/rehearsal-bundle.ts "$spec" "$work")
# systemd-nspawn mounts /proc/sys read-only inside the hosts: set the network sysctls Kubernetes
# needs from outside, in each host's own network namespace (real hosts get them from the os phase).
for ns in $(mp lab status --name "$name" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).hosts.map(h=>h.netns).join(" ")))'); do
  ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 || true
done

echo; echo "== cluster plan (what apply would change; changes nothing)"
mp cluster plan -c "$rspec" --no-progress --no-diff

echo; echo "== cluster apply"
mp cluster apply -c "$rspec" --no-progress

echo; echo "== cluster apply again: nothing to do"
mp cluster apply -c "$rspec" --no-progress
