# Sourced by run.sh and test.sh: installs the Debian packages a command needs when it is missing.
# Usage: ensure_commands COMMAND:PACKAGE [COMMAND:PACKAGE ...]

ensure_commands() {
  local missing_pkgs=() missing_cmds=() pair cmd pkg
  for pair in "$@"; do
    cmd="${pair%%:*}"
    pkg="${pair#*:}"
    if ! command -v "$cmd" >/dev/null 2>&1; then
      missing_cmds+=("$cmd")
      missing_pkgs+=("$pkg")
    fi
  done
  if [ "${#missing_pkgs[@]}" -eq 0 ]; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing ${missing_cmds[*]}; install the Debian packages: sudo apt-get install -y ${missing_pkgs[*]}" >&2
    return 1
  fi
  echo "installing ${missing_pkgs[*]} (for ${missing_cmds[*]}) from Debian packages..." >&2
  local attempt
  for attempt in 1 2 3 4 5 6; do
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >/dev/null 2>&1; then
      return 0
    fi
    echo "apt-get failed (attempt $attempt; another package manager may hold the lock); retrying in 10 s" >&2
    sleep 10
  done
  echo "error: could not install ${missing_pkgs[*]}" >&2
  return 1
}
