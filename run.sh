#!/usr/bin/env bash
# Starts the whole OpenConnect stack on this machine: origin, steering, fill-controller and two
# appliances, each its own process on loopback, with state under one directory.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(pwd)"
source scripts/prereqs.sh

STATE_DIR="$ROOT/.openconnect"
ORIGIN_PORT=8100
STEERING_PORT=8200
FILL_PORT=8300
APPLIANCE_PORTS="8400,8401"
VIDEO=""
BUILD=1
DEMO=1

usage() {
  cat <<USAGE
Usage: ./run.sh [options] [video-file]

Builds OpenConnect in Release and starts origin, steering, fill-controller and two appliances as
separate processes on 127.0.0.1. Prints each role's URL, then READY once every /healthz answers.
Ctrl-C (or SIGTERM) stops them all.

Options:
  --state-dir DIR         where every role keeps its state and logs (default: ./.openconnect)
  --origin-port N         origin HTTP port (default: $ORIGIN_PORT)
  --steering-port N       steering HTTP port (default: $STEERING_PORT)
  --fill-port N           fill-controller HTTP port (default: $FILL_PORT)
  --appliance-ports A,B   the two appliances' HTTP ports (default: $APPLIANCE_PORTS); each
                          appliance's control endpoint (mutual TLS, operators) on its port + 80,
                          steering's control plane (mutual TLS) on the steering port + 80, its
                          fleet enrollment on + 81, and the fill controller's fill orders (gRPC)
                          on the fill port + 80; parent pulls (TLS with fleet certificates) on
                          the origin's and each appliance's port + 43; every role's management
                          listener (/healthz, /metrics) on its port + 1000
  --no-build              use the Release binaries already built
  -h, --help              this text

video-file                an MP4/MOV/MKV to ingest as the demo title; without it a 60 s sample with
                          motion and audio is generated with ffmpeg (testsrc2 + sine). The title
                          goes through the real TUS endpoint as the uploader 'demo-uploader'
                          (created on first run through an invite code from the built-in admin,
                          whose password is <state-dir>/admin.password), and run.sh prints its watch page URL once the
                          pipeline has published it.
  --no-demo               start the stack without ingesting a title
Web app: built from web/ (npm ci && npm run build) into web/dist, served by the origin at /.
Logs: <state-dir>/logs/<role>.log
USAGE
}

need_value() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "error: $1 needs a value (see --help)" >&2; exit 64; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --state-dir) need_value "$@"; STATE_DIR="$2"; shift 2 ;;
    --origin-port) need_value "$@"; ORIGIN_PORT="$2"; shift 2 ;;
    --steering-port) need_value "$@"; STEERING_PORT="$2"; shift 2 ;;
    --fill-port) need_value "$@"; FILL_PORT="$2"; shift 2 ;;
    --appliance-ports) need_value "$@"; APPLIANCE_PORTS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-demo) DEMO=0; shift ;;
    --) shift; break ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 64 ;;
    *) if [ -n "$VIDEO" ]; then echo "error: only one video file may be given" >&2; exit 64; fi; VIDEO="$1"; shift ;;
  esac
done
if [ $# -gt 0 ]; then VIDEO="$1"; fi

IFS=',' read -r APPLIANCE1_PORT APPLIANCE2_PORT EXTRA <<<"$APPLIANCE_PORTS"
for p in "$ORIGIN_PORT" "$STEERING_PORT" "$FILL_PORT" "${APPLIANCE1_PORT:-}" "${APPLIANCE2_PORT:-}"; do
  if ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
    echo "error: '$p' is not a valid port (see --help)" >&2; exit 64
  fi
done
if [ -n "${EXTRA:-}" ]; then echo "error: --appliance-ports takes exactly two ports" >&2; exit 64; fi
if [ -n "$VIDEO" ] && [ ! -f "$VIDEO" ]; then echo "error: video file '$VIDEO' does not exist" >&2; exit 66; fi

ensure_commands ffmpeg:ffmpeg ffprobe:ffmpeg curl:curl node:nodejs npm:npm
if [ -n "$VIDEO" ]; then
  if ! ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "$VIDEO" | grep -q .; then
    echo "error: '$VIDEO' has no video stream ffprobe can read" >&2; exit 65
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if [ "$BUILD" -eq 1 ]; then
  echo "building (Release)..."
  dotnet build OpenConnect.sln -c Release -nologo -v quiet >/dev/null || {
    echo "error: build failed; run: dotnet build OpenConnect.sln -c Release" >&2; exit 1; }
  echo "building the web app (web/: npm ci && npm run build)..."
  (cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run build --silent) || {
    echo "error: the web app did not build; run: cd web && npm ci && npm run build" >&2; exit 1; }
fi
if [ ! -f web/dist/index.html ]; then
  echo "error: the web app is not built (web/dist/index.html is missing); run: cd web && npm ci && npm run build" >&2; exit 1
fi

mkdir -p "$STATE_DIR/logs"
STATE_DIR="$(cd "$STATE_DIR" && pwd)"
PIDS=()
NAMES=()
URLS=()
MANAGEMENT_URLS=()

stop_all() {
  trap - INT TERM EXIT
  if [ "${#PIDS[@]}" -gt 0 ]; then
    echo "stopping..."
    kill -TERM "${PIDS[@]}" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    for pid in "${PIDS[@]}"; do
      while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
    echo "stopped"
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

start_role() {
  local name="$1" project="$2" port="$3"; shift 3
  local dll="$ROOT/$project/bin/Release/net10.0/$(basename "$project").dll"
  dotnet "$dll" --urls "http://127.0.0.1:$port" --Management:Url="http://127.0.0.1:$((port + 1000))" "$@" >"$STATE_DIR/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  NAMES+=("$name")
  URLS+=("http://127.0.0.1:$port")
  MANAGEMENT_URLS+=("http://127.0.0.1:$((port + 1000))")
}

# wait_until ROLE PID_INDEX WHAT COMMAND...: waits up to 120 s for COMMAND to succeed; stops with the
# role's last log lines if it exits first.
wait_until() {
  local name="$1" index="$2" what="$3" deadline=$((SECONDS + 120)); shift 3
  until "$@"; do
    if ! kill -0 "${PIDS[$index]}" 2>/dev/null; then
      echo "error: $name exited; last lines of $STATE_DIR/logs/$name.log:" >&2
      tail -n 20 "$STATE_DIR/logs/$name.log" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: $name did not $what within 120 s; see $STATE_DIR/logs/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# wait_for_file ROLE PID_INDEX FILE: a role writes FILE (its public key) at start.
wait_for_file() { wait_until "$1" "$2" "write $3" test -s "$3"; }

# wait_for_listening ROLE PID_INDEX: the role's listeners are up (its management listener answers).
wait_for_listening() { wait_until "$1" "$2" "listen" curl -s -o /dev/null --max-time 2 "${MANAGEMENT_URLS[$2]}/healthz"; }

ORIGIN_URL="http://127.0.0.1:$ORIGIN_PORT"
STEERING_URL="http://127.0.0.1:$STEERING_PORT"
STEERING_CONTROL_URL="https://127.0.0.1:$((STEERING_PORT + 80))"
STEERING_ENROLL_URL="https://127.0.0.1:$((STEERING_PORT + 81))"
FLEET_DIR="$STATE_DIR/steering/fleet"
FILL_URL="http://127.0.0.1:$FILL_PORT"
# Parent pulls over TLS with fleet certificates: the origin's fleet parent listener, and each appliance's (its data port + 43).
ORIGIN_PARENT_URL="https://127.0.0.1:$((ORIGIN_PORT + 43))"
FILL_CONTROL_URL="https://127.0.0.1:$((FILL_PORT + 80))"

# Steering first: it owns the playback signing key. Its public key (written at start) goes to the
# appliances and the origin, which verify players' tokens with it. The local site's prefix file maps
# loopback clients to the appliances' site.
mkdir -p "$STATE_DIR/steering/prefixes"
printf '# run.sh: loopback clients belong to the local site\n127.0.0.0/8\n::1/128\n' >"$STATE_DIR/steering/prefixes/local.prefixes"
PUBLIC_KEY_FILE="$STATE_DIR/steering/keys/steering-signing.pub"
rm -f "$PUBLIC_KEY_FILE"
start_role steering steering/OpenConnect.Steering "$STEERING_PORT" --Steering:DataDirectory="$STATE_DIR/steering" \
  --Steering:ControlUrl="$STEERING_CONTROL_URL" --Steering:Fleet:EnrollUrl="$STEERING_ENROLL_URL" --Steering:OriginUrl="$ORIGIN_URL"
wait_for_file steering 0 "$PUBLIC_KEY_FILE"
PLAYBACK_KEY="$(tr -d '[:space:]' <"$PUBLIC_KEY_FILE")"
# The key is written before the listeners open: certificates are issued on the enrollment listener.
wait_for_listening steering 0

# A service's fleet certificate (the fill controller's, the origin's), as an operator gets one: a key
# made here (mode 0600, never sent), a certificate request, and POST /fleet/certificates on steering's
# enrollment listener with the operator token. A second run reuses it until a day before it expires.
# The same for this script's own operator certificate (openconnect://operator/run-sh), which the
# fill controller's /fill/sites endpoints take on its control listener.
FILL_FLEET_DIR="$STATE_DIR/fill-controller-fleet"
ORIGIN_FLEET_DIR="$STATE_DIR/origin-fleet"
OPERATOR_DIR="$STATE_DIR/operator"
issue_certificate() { # dir name identity
  local dir="$1" name="$2" identity="$3" csr answer pem
  if [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ] \
      && openssl x509 -in "$dir/$name.crt" -noout -checkend 86400 >/dev/null 2>&1 \
      && { [ "$name" = operator ] || openssl x509 -in "$dir/$name.crt" -noout -ext extendedKeyUsage 2>/dev/null | grep -q 'TLS Web Server'; }; then
    # (Services serve TLS with their certificates: one without serverAuth is replaced.)
    return 0
  fi
  if ! command -v openssl >/dev/null; then
    echo "error: openssl is needed to make the $name key and certificate request (apt-get install openssl)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  if [ ! -s "$dir/$name.key" ]; then
    (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key" 2>/dev/null)
  fi
  csr="$(openssl req -new -key "$dir/$name.key" -subj "/CN=openconnect-$name" | awk '{printf "%s\\n", $0}')"
  if ! answer=$(curl -fsS --retry 30 --retry-connrefused --retry-delay 1 --cacert "$FLEET_DIR/ca.crt" \
      -H "Authorization: Bearer $(cat "$FLEET_DIR/operator.token")" -H 'Content-Type: application/json' \
      -d "{\"identity\":\"$identity\",\"csr\":\"$csr\"}" "$STEERING_ENROLL_URL/fleet/certificates"); then
    echo "error: steering at $STEERING_ENROLL_URL did not issue the $identity certificate; see $STATE_DIR/logs/steering.log" >&2
    exit 1
  fi
  # The PEM comes JSON-escaped (\n, and + as \u002B): printf %b undoes both.
  pem="$(sed -n 's/.*"certificate":"\([^"]*\)".*/\1/p' <<<"$answer")"
  if [ -z "$pem" ]; then
    echo "error: steering's answer holds no certificate: $answer" >&2
    exit 1
  fi
  printf '%b\n' "$pem" >"$dir/$name.crt.tmp" && mv "$dir/$name.crt.tmp" "$dir/$name.crt"
}
issue_certificate "$OPERATOR_DIR" operator openconnect://operator/run-sh
# The origin serves appliances' parent pulls over TLS with its fleet certificate (openconnect://origin).
issue_certificate "$ORIGIN_FLEET_DIR" origin openconnect://origin
# The catalog's built-in admin (invite codes and roles: only an admin makes uploaders). Its
# password is generated once and kept in the state directory.
ADMIN_PASSWORD_FILE="$STATE_DIR/admin.password"
if [ ! -s "$ADMIN_PASSWORD_FILE" ]; then
  (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$ADMIN_PASSWORD_FILE")
fi
start_role origin origin/OpenConnect.Origin "$ORIGIN_PORT" --Origin:DataDirectory="$STATE_DIR/origin" --Origin:PlaybackKeys:0="$PLAYBACK_KEY" \
  --Origin:PlaybackMacKeyFile="$(dirname "$PUBLIC_KEY_FILE")/origin-playback-mac.key" \
  --Origin:Web:Directory="$ROOT/web/dist" --Origin:Web:SteeringUrl="$STEERING_URL" --Origin:Catalog:AdminPasswordFile="$ADMIN_PASSWORD_FILE" \
  --Origin:Fleet:ParentUrl="$ORIGIN_PARENT_URL" --Origin:Fleet:CertificateFile="$ORIGIN_FLEET_DIR/origin.crt" \
  --Origin:Fleet:KeyFile="$ORIGIN_FLEET_DIR/origin.key" --Origin:Fleet:CaCertificateFile="$FLEET_DIR/ca.crt"
# The origin signs every title's integrity manifest; appliances admit only what its key signed.
# Its public key is written at start, like steering's.
ORIGIN_KEY_FILE="$STATE_DIR/origin/keys/origin-signing.pub"
wait_for_file origin 1 "$ORIGIN_KEY_FILE"
INTEGRITY_KEY="$(tr -d '[:space:]' <"$ORIGIN_KEY_FILE")"
issue_certificate "$FILL_FLEET_DIR" fill-controller openconnect://fill-controller
# The fill controller's certificate names openconnect://fill-controller, no host: curl checks it by
# its public key (renewal keeps the key), with this script's operator certificate.
FILL_PIN="sha256//$(openssl pkey -in "$FILL_FLEET_DIR/fill-controller.key" -pubout -outform DER 2>/dev/null | openssl dgst -sha256 -binary | base64)"
fill_operator_curl() {
  curl -fsS --http2 --insecure --pinnedpubkey "$FILL_PIN" --cert "$OPERATOR_DIR/operator.crt" --key "$OPERATOR_DIR/operator.key" "$@"
}
start_role fill-controller fill-controller/OpenConnect.FillController "$FILL_PORT" --FillController:DataDirectory="$STATE_DIR/fill-controller" \
  --FillController:Steering:Url="$STEERING_URL" --FillController:Origin:Url="$ORIGIN_URL" \
  --FillController:Fill:ControlUrl="$FILL_CONTROL_URL" --FillController:Fill:SteeringControlUrl="$STEERING_CONTROL_URL" \
  --FillController:Fleet:CertificateFile="$FILL_FLEET_DIR/fill-controller.crt" --FillController:Fleet:KeyFile="$FILL_FLEET_DIR/fill-controller.key" \
  --FillController:Fleet:CaCertificateFile="$FLEET_DIR/ca.crt" --FillController:Fill:OriginParentUrl="$ORIGIN_PARENT_URL"
# Enrollment, as in production: steering made the fleet CA and the operator token in $FLEET_DIR; the
# operator adds each appliance (id, site) and gets a one-time code; the appliance makes its own key,
# sends a certificate request with the code and gets its certificate. A second run reuses it.
enroll_appliance() {
  local id="$1" dir="$STATE_DIR/$1-fleet" answer
  if [ -s "$dir/appliance.crt" ]; then return 0; fi
  mkdir -p "$dir"
  if ! answer=$(curl -fsS --retry 30 --retry-connrefused --retry-delay 1 --cacert "$FLEET_DIR/ca.crt" \
      -H "Authorization: Bearer $(cat "$FLEET_DIR/operator.token")" -H 'Content-Type: application/json' \
      -d "{\"id\":\"$id\",\"site\":\"local\"}" "$STEERING_ENROLL_URL/fleet/appliances"); then
    echo "error: could not add $id to the fleet at $STEERING_ENROLL_URL; see $STATE_DIR/logs/steering.log" >&2
    exit 1
  fi
  (umask 077; sed -n 's/.*"code":"\([0-9a-f]*\)".*/\1/p' <<<"$answer" >"$dir/enrollment.code")
}
# Appliances: players need steering's tokens; loopback (fill, local tools) may fetch unsigned paths.
# Parents over fleet TLS: appliance-2 pulls from appliance-1's parent listener, then the origin's;
# appliance-1 from the origin's (a hierarchy: peers do not detect loops, so never a cycle).
PARENTS_1=(--Appliance:Parents:0="$ORIGIN_PARENT_URL")
PARENTS_2=(--Appliance:Parents:0="https://127.0.0.1:$((APPLIANCE1_PORT + 43))" --Appliance:Parents:1="$ORIGIN_PARENT_URL")
for n in 1 2; do
  port_var="APPLIANCE${n}_PORT"
  port="${!port_var}"
  enroll_appliance "appliance-$n"
  parents_var="PARENTS_$n[@]"
  start_role "appliance-$n" appliance/OpenConnect.Appliance "$port" \
    --Appliance:Id="appliance-$n" --Appliance:Site=local --Appliance:Cache:Directory="$STATE_DIR/appliance-$n" "${!parents_var}" \
    --Appliance:Upstream:ParentListenerUrl="https://127.0.0.1:$((port + 43))" \
    --Appliance:ControlUrl="https://127.0.0.1:$((port + 80))" --Appliance:Steering:Url="$STEERING_CONTROL_URL" \
    --Appliance:Fleet:Directory="$STATE_DIR/appliance-$n-fleet" --Appliance:Fleet:CaCertificateFile="$FLEET_DIR/ca.crt" \
    --Appliance:Fleet:EnrollUrl="$STEERING_ENROLL_URL" --Appliance:Fleet:EnrollmentCodeFile="$STATE_DIR/appliance-$n-fleet/enrollment.code" \
    --Appliance:PlaybackKeys:0="$PLAYBACK_KEY" --Appliance:Upstream:IntegrityKeys:0="$INTEGRITY_KEY" --Appliance:UnsignedNetworks:0=127.0.0.0/8 \
    --Appliance:Fill:ControllerUrl="$FILL_CONTROL_URL" --Appliance:Fill:PollInterval=00:00:02
done

for i in "${!NAMES[@]}"; do
  printf '%-16s %s   (health %s/healthz, metrics %s/metrics)\n' "${NAMES[$i]}" "${URLS[$i]}" "${MANAGEMENT_URLS[$i]}" "${MANAGEMENT_URLS[$i]}"
done
echo "state: $STATE_DIR   logs: $STATE_DIR/logs/"
echo "play:  $STEERING_URL/play/<titleId>   (hls.js: $STEERING_URL/play/<titleId>/master.m3u8, dash.js: $STEERING_URL/play/<titleId>/manifest.mpd)"

deadline=$((SECONDS + 120))
for i in "${!NAMES[@]}"; do
  until curl -fs -o /dev/null --max-time 2 "${MANAGEMENT_URLS[$i]}/healthz"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "error: ${NAMES[$i]} exited; last lines of $STATE_DIR/logs/${NAMES[$i]}.log:" >&2
      tail -n 20 "$STATE_DIR/logs/${NAMES[$i]}.log" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: ${NAMES[$i]} did not answer /healthz within 120 s; see $STATE_DIR/logs/${NAMES[$i]}.log" >&2
      exit 1
    fi
    sleep 0.3
  done
done

echo "web:   $ORIGIN_URL/   (QoE: $ORIGIN_URL/qoe)"
echo "admin: log in as 'admin' with the password in $ADMIN_PASSWORD_FILE (invite codes, roles)"

# The demo: ingest the given file (or a generated 60 s sample) through the real TUS endpoint, wait
# until the pipeline publishes it, push it to the appliances, and print its watch page.
if [ "$DEMO" -eq 1 ]; then
  if [ -z "$VIDEO" ]; then
    VIDEO="$STATE_DIR/demo-sample-60s.mp4"
    if [ ! -s "$VIDEO" ]; then
      echo "generating a 60 s sample (testsrc2 720p30 + 440 Hz tone) at $VIDEO..."
      ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
        -t 60 -c:v libx264 -preset veryfast -pix_fmt yuv420p -g 60 -c:a aac -b:a 128k -shortest "$VIDEO.tmp.mp4"
      mv "$VIDEO.tmp.mp4" "$VIDEO"
    fi
  fi
  DEMO_PASSWORD_FILE="$STATE_DIR/demo-uploader.password"
  if [ ! -s "$DEMO_PASSWORD_FILE" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$DEMO_PASSWORD_FILE")
  fi
  echo "ingesting $VIDEO as demo-uploader (TUS upload, then the pipeline)..."
  DEMO_JSON="$(node web/scripts/ingest.mjs --origin "$ORIGIN_URL" --file "$VIDEO" --user demo-uploader --password-file "$DEMO_PASSWORD_FILE" \
    --admin-password-file "$ADMIN_PASSWORD_FILE")" || {
    echo "error: the demo ingest failed; see $STATE_DIR/logs/origin.log" >&2; exit 1; }
  TITLE_ID="$(sed -n 's/.*"titleId":"\([^"]*\)".*/\1/p' <<<"$DEMO_JSON")"
  echo "published: $TITLE_ID"

  # Push it to the appliances now rather than at the night window: the fill controller collects
  # the play history and title list, places the new title (new-title prior), and the appliances'
  # fill agents fetch, verify and pin it. Steering must list the appliances first.
  echo "pushing to the appliances (fill controller: POST $FILL_CONTROL_URL/fill/sites/local/open)..."
  deadline=$((SECONDS + 300))
  until OPEN_JSON="$(fill_operator_curl --max-time 30 -X POST "$FILL_CONTROL_URL/fill/sites/local/open" 2>/dev/null)"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: the fill controller did not open the local site's fill; see $STATE_DIR/logs/fill-controller.log" >&2; exit 1
    fi
    sleep 1
  done
  until SITE_JSON="$(fill_operator_curl --max-time 5 "$FILL_CONTROL_URL/fill/sites/local" 2>/dev/null)" \
      && grep -q "\"title\":\"$TITLE_ID\",\"state\":\"live\"" <<<"$SITE_JSON"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: $TITLE_ID is not live on the appliances after 300 s (fill status: ${SITE_JSON:-none}; open: $OPEN_JSON); see $STATE_DIR/logs/" >&2
      exit 1
    fi
    sleep 1
  done
  echo "pushed to the appliances: $(sed -n "s/.*\"title\":\"$TITLE_ID\",\"state\":\"live\"[^]]*\"appliances\":\[\([^]]*\)\].*/\1/p" <<<"$SITE_JSON" | tr -d '"')"

  echo "watch: $ORIGIN_URL/watch/$TITLE_ID"
fi
echo "READY"

# Stay in the foreground until a role dies or we are told to stop.
while true; do
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "error: ${NAMES[$i]} stopped unexpectedly; see $STATE_DIR/logs/${NAMES[$i]}.log" >&2
      exit 1
    fi
  done
  sleep 1
done
