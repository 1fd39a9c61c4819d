#!/usr/bin/env bash
# Builds a Debian package per role: a self-contained linux-x64 `dotnet publish` (no .NET runtime
# needed on the host), its systemd unit, its default configuration (a conffile) and the maintainer
# scripts that create the service user. See packaging/README.md.
#
#   packaging/build.sh [--role ROLE]... [--out DIR] [--no-publish] [--compression TYPE]
#
#   --role ROLE         appliance, origin, steering or fill-controller; repeat for several (default: all four)
#   --out DIR           where the .deb files go (default: packaging/out); DIR/publish/ROLE holds the
#                       published binaries and DIR/obj the private build tree
#   --no-publish        package what DIR/publish/ROLE already holds instead of publishing again
#   --compression TYPE  zstd (default: seconds; dpkg 1.21 and later, every distribution .NET 10
#                       runs on), xz (a quarter smaller, minutes) or gzip
#
# Needs the .NET SDK (the linux-x64 runtime packs come from NuGet) and dpkg-deb; the origin's web
# app is built with npm when web/dist is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
source "$here/roles.sh"

usage() {
  sed -n '6,14s/^# \{0,1\}//p' "$0" >&2
}

die() {
  echo "build.sh: $*" >&2
  exit 2
}

roles=()
out="$here/out"
publish=1
compression=zstd
while [ "$#" -gt 0 ]; do
  case "$1" in
    --role)
      [ "$#" -ge 2 ] || die "--role needs a value (one of: ${OPENCONNECT_ROLES[*]})"
      role_set "$2" || die "unknown role '$2' (one of: ${OPENCONNECT_ROLES[*]})"
      roles+=("$2")
      shift 2
      ;;
    --out)
      [ "$#" -ge 2 ] && [ -n "$2" ] || die "--out needs a directory"
      out="$2"
      shift 2
      ;;
    --no-publish)
      publish=0
      shift
      ;;
    --compression)
      [ "$#" -ge 2 ] || die "--compression needs a value (zstd, xz or gzip)"
      case "$2" in zstd | xz | gzip) compression="$2" ;; *) die "unknown compression '$2' (zstd, xz or gzip)" ;; esac
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage
      die "unknown argument '$1'"
      ;;
  esac
done
[ "${#roles[@]}" -gt 0 ] || roles=("${OPENCONNECT_ROLES[@]}")

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"
[ "$publish" -eq 0 ] || command -v dotnet >/dev/null || die "the .NET SDK (dotnet) is missing"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# 1.2.0 and 1.2.0-3-gabc1234-dirty as Debian versions (1.2.0, 1.2.0+3.gabc1234.dirty); a version
# without a number (a commit before the first tag, 825181a) becomes 0.0.0+git.825181a.
deb_version() {
  local v="$1" base rest
  if [[ "$v" =~ ^([0-9]+(\.[0-9]+)+)(-(.+))?$ ]]; then
    base="${BASH_REMATCH[1]}"
    rest="${BASH_REMATCH[4]}"
  else
    base="0.0.0"
    rest="git.$v"
  fi
  rest="${rest//-/.}"
  printf '%s%s\n' "$base" "${rest:++$rest}"
}

publish_role() {
  local role="$1" dir="$out/publish/$1"
  rm -rf "$dir"
  echo "== $role: dotnet publish (self-contained, linux-x64)"
  # A private build tree (--artifacts-path): the work tree's bin/ and obj/, which tests and
  # run.sh use, are left alone.
  dotnet publish "$repo/$ROLE_PROJECT" -c Release -r linux-x64 --self-contained true \
    --artifacts-path "$out/obj" -o "$dir" -nologo -v quiet -p:DebugType=none \
    -p:PublishDocumentationFile=false -p:PublishReferencesDocumentationFiles=false
}

build_web_app() {
  [ ! -f "$repo/web/dist/index.html" ] || return 0
  command -v npm >/dev/null || die "the origin package carries the web app: web/dist is missing and npm is not installed to build it"
  echo "== web app: npm ci && npm run build"
  (cd "$repo/web" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
}

package_role() {
  local role="$1" package="openconnect-$1"
  local published="$out/publish/$role"
  [ -x "$published/$ROLE_BINARY" ] || die "$published/$ROLE_BINARY is missing: publish first (run without --no-publish)"

  # The version is the one stamped into the binary, read back from it.
  local line version
  line="$("$published/$ROLE_BINARY" --version)" || die "$published/$ROLE_BINARY --version failed"
  [[ "$line" == "openconnect-$role "* ]] || die "$published/$ROLE_BINARY --version printed '$line'"
  version="$(deb_version "${line#openconnect-"$role" }")"

  local stage="$out/stage/$role"
  rm -rf "$stage"
  mkdir -p "$stage/DEBIAN" "$stage/usr/lib/openconnect" "$stage/usr/bin" "$stage/etc/openconnect" \
    "$stage/usr/lib/systemd/system" "$stage/usr/share/doc/$package"

  cp -a "$published" "$stage/usr/lib/openconnect/$role"
  ln -s "../lib/openconnect/$role/$ROLE_BINARY" "$stage/usr/bin/$package"
  cp "$here/config/$role.json" "$stage/etc/openconnect/$role.json"
  "$here/unit.sh" "$role" > "$stage/usr/lib/systemd/system/$package.service"
  cp "$here/README.md" "$stage/usr/share/doc/$package/README.md"
  { printf 'OpenConnect %s\n\nLicensed under the Apache License, Version 2.0:\n\n' "$role"; cat "$repo/LICENSE"; } \
    > "$stage/usr/share/doc/$package/copyright"
  if [ "$role" = origin ]; then
    build_web_app
    mkdir -p "$stage/usr/share/openconnect/origin"
    cp -a "$repo/web/dist" "$stage/usr/share/openconnect/origin/web"
  fi

  local script
  for script in postinst prerm postrm; do
    sed -e "s/@ROLE@/$role/g" "$here/debian/$script.in" > "$stage/DEBIAN/$script"
  done
  printf '/etc/openconnect/%s.json\n' "$role" > "$stage/DEBIAN/conffiles"

  # Debian's modes: directories and programs 0755, everything else 0644 (the published tree
  # marks only the apphost and createdump executable).
  find "$stage" -type d -exec chmod 0755 {} +
  find "$stage" -type f -exec chmod 0644 {} +
  chmod 0755 "$stage/usr/lib/openconnect/$role/$ROLE_BINARY" "$stage"/DEBIAN/{postinst,prerm,postrm}
  [ ! -f "$stage/usr/lib/openconnect/$role/createdump" ] || chmod 0755 "$stage/usr/lib/openconnect/$role/createdump"

  local size
  size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
  cat > "$stage/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: amd64
Maintainer: OpenConnect developers <openconnect@localhost>
Installed-Size: $size
Depends: adduser, libc6 (>= 2.27), libgcc-s1, libstdc++6, libssl3, ca-certificates${ROLE_DEPENDS:+, $ROLE_DEPENDS}
Section: net
Priority: optional
Description: OpenConnect $role: $ROLE_SUMMARY
 OpenConnect is an edge-first video CDN. This package holds the $role role,
 self-contained (no .NET runtime needed), its systemd unit openconnect-$role.service
 and its configuration /etc/openconnect/$role.json.
EOF

  local deb="$out/${package}_${version}_amd64.deb"
  echo "== $role: dpkg-deb --build ($version)"
  dpkg-deb --root-owner-group "-Z$compression" --build "$stage" "$deb" >/dev/null
  rm -rf "$stage"
  rmdir "$out/stage" 2>/dev/null || true
  echo "$deb"
}

for role in "${roles[@]}"; do
  role_set "$role"
  if [ "$publish" -eq 1 ]; then
    publish_role "$role"
  fi
  package_role "$role"
done
