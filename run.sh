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
LAUNCHER="$ROOT/tools/OpenConnect.Launcher/bin/Release/net10.0/OpenConnect.Launcher.dll"
if [ ! -f "$LAUNCHER" ]; then
  echo "error: $LAUNCHER is missing; run: dotnet build OpenConnect.sln -c Release" >&2; exit 1
fi

# The fleet launcher starts and enrolls the roles as production does (tools/OpenConnect.Launcher):
# steering first (it owns the playback signing key, makes the fleet CA and the operator token);
# the operator's, the origin's and the fill controller's certificates issued on steering's
# enrollment listener from keys made locally; the origin with steering's public key, writing its
# own integrity key, which the appliances trust; each appliance added with a one-time code, making
# its own key and enrolling on first start, pulling from its parents over fleet TLS
# (appliance-2 -> appliance-1 -> origin). A second run reuses the certificates. It prints each
# role's URLs, writes what the demo needs to $STATE_DIR/fleet.env once every /healthz answers, and
# runs until told to stop (or a role dies); it stops the roles with it, and the roles stop if it dies.
ENV_FILE="$STATE_DIR/fleet.env"
rm -f "$ENV_FILE"
LAUNCHER_PID=""
stop_all() {
  trap - INT TERM EXIT
  if [ -n "$LAUNCHER_PID" ] && kill -0 "$LAUNCHER_PID" 2>/dev/null; then
    kill -TERM "$LAUNCHER_PID" 2>/dev/null || true
    wait "$LAUNCHER_PID" 2>/dev/null || true
  fi
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

dotnet "$LAUNCHER" up --state-dir "$STATE_DIR" --origin-port "$ORIGIN_PORT" --steering-port "$STEERING_PORT" \
  --fill-port "$FILL_PORT" --appliance-ports "$APPLIANCE1_PORT,$APPLIANCE2_PORT" --web-dir "$ROOT/web/dist" --owner "$$" &
LAUNCHER_PID=$!
until [ -s "$ENV_FILE" ]; do
  if ! kill -0 "$LAUNCHER_PID" 2>/dev/null; then
    status=0; wait "$LAUNCHER_PID" || status=$?
    LAUNCHER_PID=""
    echo "error: the roles did not start (launcher exit code $status); logs: $STATE_DIR/logs/" >&2
    exit 1
  fi
  sleep 0.2
done
# STATE_DIR ORIGIN_URL STEERING_URL FILL_CONTROL_URL FILL_PIN OPERATOR_CERT OPERATOR_KEY ADMIN_PASSWORD_FILE FLEET_CA
# shellcheck source=/dev/null
source "$ENV_FILE"
# The fill controller's certificate names openconnect://fill-controller, no host: curl checks it by
# its public key (renewal keeps the key), with this script's operator certificate.
fill_operator_curl() {
  curl -fsS --http2 --insecure --pinnedpubkey "$FILL_PIN" --cert "$OPERATOR_CERT" --key "$OPERATOR_KEY" "$@"
}

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

# Stay in the foreground until a role dies (the launcher says which, with its last log lines) or we are told to stop.
status=0
wait "$LAUNCHER_PID" || status=$?
LAUNCHER_PID=""
echo "error: the fleet stopped (launcher exit code $status); see $STATE_DIR/logs/" >&2
exit 1
