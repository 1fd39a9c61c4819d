# Sourced by build.sh and unit.sh: what differs between the four roles' packages and units.
# shellcheck shell=bash

OPENCONNECT_ROLES=(appliance origin steering fill-controller)

# role_set ROLE: sets ROLE_PROJECT, ROLE_BINARY, ROLE_SUMMARY, ROLE_LIMIT_NOFILE, ROLE_CAPABILITIES,
# ROLE_NAMESPACES and ROLE_DEPENDS (extra Debian dependencies); returns 1
# for a name that is not a role.
role_set() {
  ROLE_CAPABILITIES=""
  ROLE_NAMESPACES="yes"
  ROLE_DEPENDS=""
  case "$1" in
    appliance)
      ROLE_PROJECT=appliance/OpenConnect.Appliance/OpenConnect.Appliance.csproj
      ROLE_BINARY=OpenConnect.Appliance
      ROLE_SUMMARY="edge cache serving players"
      # One descriptor per client connection (Appliance:Limits:MaxConnections, 20000 by default),
      # per SSD-tier file being read and per parent fetch (Appliance:Upstream:MaxConcurrentFetches):
      # the kernel's default fs.nr_open, so raising the limits in the configuration needs no unit change.
      ROLE_LIMIT_NOFILE=1048576
      # Players are served on port 80 by default: the only privilege the appliance keeps.
      ROLE_CAPABILITIES="CAP_NET_BIND_SERVICE"
      ;;
    origin)
      ROLE_PROJECT=origin/OpenConnect.Origin/OpenConnect.Origin.csproj
      ROLE_BINARY=OpenConnect.Origin
      ROLE_SUMMARY="ingest, transcoding pipeline and catalog"
      ROLE_LIMIT_NOFILE=65536
      # The pipeline runs ffmpeg under prlimit in a network namespace of its own
      # (unshare --map-root-user --net): user and network namespaces stay allowed.
      ROLE_NAMESPACES="user net"
      ROLE_DEPENDS="ffmpeg, util-linux"
      ;;
    steering)
      ROLE_PROJECT=steering/OpenConnect.Steering/OpenConnect.Steering.csproj
      ROLE_BINARY=OpenConnect.Steering
      ROLE_SUMMARY="player steering and fleet control plane"
      ROLE_LIMIT_NOFILE=65536
      ;;
    fill-controller)
      ROLE_PROJECT=fill-controller/OpenConnect.FillController/OpenConnect.FillController.csproj
      ROLE_BINARY=OpenConnect.FillController
      ROLE_SUMMARY="popularity forecast and off-peak fill"
      ROLE_LIMIT_NOFILE=65536
      ;;
    *)
      return 1
      ;;
  esac
}
