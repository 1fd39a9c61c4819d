#!/usr/bin/env bash
# The multi-host test bed: a fleet of Linux network namespaces joined by veth pairs to one bridge.
#
#   scripts/fleet-bed.sh up PREFIX [--owner PID]   build the bed (prints the hosts and addresses)
#   scripts/fleet-bed.sh down PREFIX               remove it (idempotent: a missing bed is fine)
#   scripts/fleet-bed.sh exec PREFIX HOST cmd...   run cmd inside HOST's namespace
#   scripts/fleet-bed.sh partition PREFIX HOST     cut HOST off from steering, every replica (blackhole routes)
#   scripts/fleet-bed.sh heal PREFIX HOST          undo partition
#   scripts/fleet-bed.sh hosts                     the host table (name, IPv4, IPv6)
#
# Hosts (one namespace each, named PREFIX-HOST): origin, steering, steering-2 steering-3 (steering
# replicas, idle unless a test or bench starts them), fill (the fill controller), a1 a2 (site A appliances), b1 b2
# (site B appliances), ca cb (one client per site). The bridge
# lives in its own namespace PREFIX-sw, so the root namespace gains nothing but the /run/netns
# entries, which `down` removes. Every host has one IPv4 address from 198.18.0.0/15 and one IPv6
# address from 2001:2::/48, both on one link (on-link /15 and /48, no router):
#   infrastructure 198.18.0.x / 2001:2::x, site A 198.18.1.x / 2001:2:0:1::x, site B 198.18.2.x / 2001:2:0:2::x.
# Appliances are .11/.12 of their site; clients .200, so a site's clients are its /24 (and /64).
#
# PREFIX names one bed; several beds can run on one machine at once (use e.g. "ocb$$"): each has
# its own namespaces, and addresses never leave them. With --owner PID, a watchdog removes the bed
# when that process exits (the test runner killed with SIGKILL leaves nothing behind). `down` kills
# every process left inside the bed's namespaces before deleting them. Needs root and iproute2.
set -euo pipefail

HOSTS="origin steering steering-2 steering-3 fill a1 a2 b1 b2 ca cb"
STEERING_HOSTS="steering steering-2 steering-3"

ipv4_of() {
  case "$1" in
    origin) echo 198.18.0.10 ;; steering) echo 198.18.0.11 ;; fill) echo 198.18.0.12 ;; steering-2) echo 198.18.0.13 ;; steering-3) echo 198.18.0.14 ;;
    a1) echo 198.18.1.11 ;; a2) echo 198.18.1.12 ;; ca) echo 198.18.1.200 ;;
    b1) echo 198.18.2.11 ;; b2) echo 198.18.2.12 ;; cb) echo 198.18.2.200 ;;
    *) echo "error: unknown host '$1' (hosts: $HOSTS)" >&2; return 64 ;;
  esac
}

ipv6_of() {
  case "$1" in
    origin) echo 2001:2::10 ;; steering) echo 2001:2::11 ;; fill) echo 2001:2::12 ;; steering-2) echo 2001:2::13 ;; steering-3) echo 2001:2::14 ;;
    a1) echo 2001:2:0:1::11 ;; a2) echo 2001:2:0:1::12 ;; ca) echo 2001:2:0:1::200 ;;
    b1) echo 2001:2:0:2::11 ;; b2) echo 2001:2:0:2::12 ;; cb) echo 2001:2:0:2::200 ;;
    *) echo "error: unknown host '$1' (hosts: $HOSTS)" >&2; return 64 ;;
  esac
}

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: the fleet bed needs root (network namespaces, veth, bridge); run as root" >&2
    exit 77
  fi
  command -v ip >/dev/null || { echo "error: 'ip' (iproute2) not found; apt-get install -y iproute2" >&2; exit 69; }
}

check_prefix() {
  if ! [[ "$1" =~ ^[a-z][a-z0-9]{1,15}$ ]]; then
    echo "error: bed prefix '$1' must be 2-16 lowercase letters/digits starting with a letter" >&2
    exit 64
  fi
}

# The bed's namespaces, including any left over from a half-built bed.
namespaces_of() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$1-(sw|origin|steering|steering-2|steering-3|fill|a1|a2|b1|b2|ca|cb)$" || true
}

down() {
  local prefix="$1" ns pids
  for ns in $(namespaces_of "$prefix"); do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
    fi
  done
  for ns in $(namespaces_of "$prefix"); do
    ip netns delete "$ns" 2>/dev/null || true
  done
  if [ -n "$(namespaces_of "$prefix")" ]; then
    echo "error: could not remove every namespace of bed $prefix: $(namespaces_of "$prefix" | tr '\n' ' ')" >&2
    return 1
  fi
}

up() {
  local prefix="$1" owner="$2" sw="$1-sw" host ns
  if [ -n "$(namespaces_of "$prefix")" ]; then
    echo "error: bed $prefix already exists (scripts/fleet-bed.sh down $prefix)" >&2
    exit 73
  fi
  # A failure or a signal while building removes what was built.
  trap 'down "$prefix"; exit 130' INT TERM
  trap 'status=$?; if [ "$status" -ne 0 ]; then down "$prefix"; fi' EXIT

  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge forward_delay 0 stp_state 0
  ip netns exec "$sw" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1
  ip -n "$sw" link set br0 up
  for host in $HOSTS; do
    ns="$prefix-$host"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # Both ends are made inside the bed's namespaces: the switch port p-HOST and the host's eth0.
    ip -n "$sw" link add "p-$host" type veth peer name eth0 netns "$ns"
    ip -n "$sw" link set "p-$host" master br0 up
    ip -n "$ns" addr add "$(ipv4_of "$host")/15" dev eth0
    ip -n "$ns" addr add "$(ipv6_of "$host")/48" dev eth0 nodad
    ip -n "$ns" link set eth0 up
  done

  if [ -n "$owner" ]; then
    # Watchdog: once the owner is gone, the bed goes too. Detached from our stdio so callers that
    # wait for EOF on this script's output do not wait for the watchdog.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [ -n "$(ip netns list | grep -E "^$2-sw( |$)")" ]; do sleep 1; done; exec "$0" down "$2"' \
      "$0" "$owner" "$prefix" </dev/null >/dev/null 2>&1 &
  fi
  for host in $HOSTS; do
    printf '%s %s %s %s\n' "$host" "$prefix-$host" "$(ipv4_of "$host")" "$(ipv6_of "$host")"
  done
}

partition() {
  local prefix="$1" host="$2" ns="$1-$2" steering
  for steering in $STEERING_HOSTS; do
    ip -n "$ns" route replace blackhole "$(ipv4_of "$steering")/32"
    ip -n "$ns" -6 route replace blackhole "$(ipv6_of "$steering")/128"
  done
}

heal() {
  local prefix="$1" host="$2" ns="$1-$2" steering
  for steering in $STEERING_HOSTS; do
    ip -n "$ns" route del blackhole "$(ipv4_of "$steering")/32" 2>/dev/null || true
    ip -n "$ns" -6 route del blackhole "$(ipv6_of "$steering")/128" 2>/dev/null || true
  done
}

command="${1:-}"
case "$command" in
  -h|--help|"") usage; [ -n "$command" ] || exit 64; exit 0 ;;
  hosts)
    for host in $HOSTS; do printf '%s %s %s\n' "$host" "$(ipv4_of "$host")" "$(ipv6_of "$host")"; done ;;
  up)
    [ $# -ge 2 ] || { usage >&2; exit 64; }
    require_root; check_prefix "$2"
    owner=""
    if [ "${3:-}" = "--owner" ]; then
      [[ "${4:-}" =~ ^[0-9]+$ ]] || { echo "error: --owner needs a process id" >&2; exit 64; }
      owner="$4"
    elif [ $# -gt 2 ]; then
      echo "error: unknown argument '$3'" >&2; exit 64
    fi
    up "$2" "$owner" ;;
  down)
    [ $# -eq 2 ] || { usage >&2; exit 64; }
    require_root; check_prefix "$2"; down "$2" ;;
  exec)
    [ $# -ge 4 ] || { usage >&2; exit 64; }
    require_root; check_prefix "$2"; ipv4_of "$3" >/dev/null
    ns="$2-$3"; shift 3
    exec ip netns exec "$ns" "$@" ;;
  partition|heal)
    [ $# -eq 3 ] || { usage >&2; exit 64; }
    require_root; check_prefix "$2"; ipv4_of "$3" >/dev/null
    "$command" "$2" "$3" ;;
  *) echo "error: unknown command '$command'" >&2; usage >&2; exit 64 ;;
esac
