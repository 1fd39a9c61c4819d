#!/usr/bin/env bash
# Prints the systemd unit of one role: packaging/unit.sh ROLE > openconnect-ROLE.service
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/roles.sh"

if [ "$#" -ne 1 ] || ! role_set "$1"; then
  echo "usage: $0 ROLE (one of: ${OPENCONNECT_ROLES[*]})" >&2
  exit 2
fi
role="$1"

while IFS= read -r line || [ -n "$line" ]; do
  line="${line//@ROLE@/$role}"
  line="${line//@SUMMARY@/$ROLE_SUMMARY}"
  line="${line//@BINARY@/$ROLE_BINARY}"
  line="${line//@LIMIT_NOFILE@/$ROLE_LIMIT_NOFILE}"
  line="${line//@CAPABILITIES@/$ROLE_CAPABILITIES}"
  line="${line//@NAMESPACES@/$ROLE_NAMESPACES}"
  printf '%s\n' "$line"
done < "$here/systemd/openconnect.service.in"
