#!/usr/bin/env bash
# Sebaya bad-link test (issue 5): a day of group activity synced between two devices through a
# 2G-like link (50 kbit/s, 600 ms round-trip delay, ~10% packet loss each way), then through a link
# cut mid-transfer that comes back. Asserts convergence and that nothing acknowledged is re-sent;
# prints the rate, delay and loss it measured and the completion time against the link's limit.
#
#   scripts/netem.sh [--json FILE]      (root; needs ip, tc, iptables; builds what it runs)
#
# Topology, all made here and removed on exit; nothing touches this namespace's own network: namespace
# sbx<pid>-relay holds sebaya-relay and the measuring endpoint, namespace sbx<pid>-dev holds the two
# devices (sebaya-netem run), and a veth pair joins them. Rate: tc tbf on both veth ends. Loss:
# iptables statistic drops of packets arriving over the veth, in both namespaces (so each direction,
# as a lossy radio link would, and the sender's TCP sees real loss). Delay and cuts: a proxy inside
# sebaya-netem on the devices' loopback (this kernel has no netem). Where namespaces are not permitted
# it prints SKIP and exits 0.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
JSON="$TARGET_DIR/netem.json"
[[ "${1:-}" == "--json" ]] && JSON="$2"

RATE_KBIT=50
DELAY_MS=300 # each way: 600 ms round trip
LOSS=0.1     # each way

NS="sbx$$-relay"
ND="sbx$$-dev"
VH="sbx$$d" # the devices' end
VR="sbx$$r" # the relay's end
NET="10.$(($$ % 200 + 20)).$(($$ / 200 % 250)).0"
HOST_IP="${NET%.0}.1"
RELAY_IP="${NET%.0}.2"
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$ND" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    [[ -n "${DATA:-}" ]] && rm -rf "$DATA"
}
trap cleanup EXIT

skip() {
    echo "SKIP netem: $*"
    exit 0
}

[[ $(id -u) == 0 ]] || skip "needs root to create network namespaces"
command -v ip >/dev/null && command -v tc >/dev/null || skip "ip/tc (iproute2) not installed"
command -v iptables >/dev/null || skip "iptables not installed"
ip netns add "$NS" 2>/dev/null || skip "creating a network namespace is not permitted here"
ip netns add "$ND"

cargo build -q -p sebaya-relay -p sebaya-tests --bin sebaya-relay --bin sebaya-netem
RELAY_BIN="$TARGET_DIR/debug/sebaya-relay"
NETEM_BIN="$TARGET_DIR/debug/sebaya-netem"

ip link add "$VH" netns "$ND" type veth peer name "$VR" netns "$NS"
ip netns exec "$ND" ip addr add "$HOST_IP/30" dev "$VH"
ip netns exec "$ND" ip link set "$VH" up
ip netns exec "$ND" ip link set lo up
ip netns exec "$NS" ip addr add "$RELAY_IP/30" dev "$VR"
ip netns exec "$NS" ip link set "$VR" up
ip netns exec "$NS" ip link set lo up
# Rate, each direction: tbf on both ends' egress.
ip netns exec "$ND" tc qdisc add dev "$VH" root tbf rate "${RATE_KBIT}kbit" burst 1600 latency 400ms
ip netns exec "$NS" tc qdisc add dev "$VR" root tbf rate "${RATE_KBIT}kbit" burst 1600 latency 400ms
# Loss, each direction: the first rule counts every packet arriving over the veth, the second drops
# some of them.
for pair in "$NS:$VR" "$ND:$VH"; do
    ip netns exec "${pair%%:*}" iptables -A INPUT -i "${pair#*:}" -p tcp
    ip netns exec "${pair%%:*}" iptables -A INPUT -i "${pair#*:}" -p tcp -m statistic --mode random --probability "$LOSS" -j DROP
done

DATA="$(mktemp -d)"
ip netns exec "$NS" "$RELAY_BIN" --bind "$RELAY_IP:8080" --data-dir "$DATA/relay" >"$DATA/relay.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NS" "$NETEM_BIN" serve "$RELAY_IP:9000" &
PIDS+=($!)
for _ in $(seq 1 50); do
    ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$RELAY_IP/8080" 2>/dev/null && break
    sleep 0.2
done

echo "link: tbf ${RATE_KBIT} kbit/s each way, proxy delay ${DELAY_MS} ms each way, iptables drop $LOSS each way"
START=$SECONDS
ip netns exec "$ND" "$NETEM_BIN" run --relay "$RELAY_IP:8080" --serve "$RELAY_IP:9000" \
    --delay-ms "$DELAY_MS" --rate-kbit "$RATE_KBIT" --json "$JSON"

# Measured loss: packets the statistic rules dropped over packets that reached them.
read -r seen dropped < <(for n in "$NS" "$ND"; do ip netns exec "$n" iptables -L INPUT -v -x -n; done |
    awk '/^Chain/ {n=0} /^ *[0-9]/ {n++; if (n==1) s+=$1; if (n==2) d+=$1} END {print s, d}')
echo "measured loss: $dropped of $seen packets dropped ($(awk "BEGIN {printf \"%.1f\", 100*$dropped/($seen>0?$seen:1)}")%)"
sed -i "s/^}$/  ,\"measured_loss_packets\": $dropped, \"measured_packets\": $seen\n}/" "$JSON"
echo "netem: passed in $((SECONDS - START)) s"
