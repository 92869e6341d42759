#!/usr/bin/env bash
# moto's server (S3, STS, IAM, SNS, Step Functions) for the compatibility suite (npm run test:compat).
#
#   scripts/servers/moto.sh install   nothing to install: moto comes with the machine (pyenv); says where it is
#   scripts/servers/moto.sh start     moto_server on 127.0.0.1:$S3XCOPY_MOTO_PORT, waits until it answers, and
#                                     turns on its Step Functions engine (off by default: executions then
#                                     only record their input)
#   scripts/servers/moto.sh stop      stops the server this script started, by its PID file
#   scripts/servers/moto.sh status    exit 0 when it answers
#
# State (PID file, log, env) lives in $S3XCOPY_MOTO_DIR (default: $TMPDIR/s3xcopy-moto). `start` writes
# the endpoint to $S3XCOPY_MOTO_DIR/env. Exit codes: 0 done, 1 failed, 3 moto_server not found.
#
# The engine makes every AWS call of a running state machine (Lambda Invoke, S3, SNS, Step Functions) to
# http://localhost:$MOTO_PORT. moto's own Lambda runs code only in Docker, so MOTO_PORT is set to
# $S3XCOPY_MOTO_LAMBDA_PORT (default: moto's port + 10), where the engine suite
# (test/compat/moto-engine.ts) answers Invoke with our handlers and forwards the rest to moto.
set -euo pipefail

DIR="${S3XCOPY_MOTO_DIR:-${TMPDIR:-/tmp}/s3xcopy-moto}"
PORT="${S3XCOPY_MOTO_PORT:-5055}"
LAMBDA_PORT="${S3XCOPY_MOTO_LAMBDA_PORT:-$((PORT + 10))}"
PIDFILE="$DIR/moto.pid"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf 'moto.sh: %s\n' "$*" >&2; }

# moto_server from PATH, else from pyenv's versions (a pyenv shim is only on PATH in login shells).
find_moto() {
  local candidate
  if candidate=$(command -v moto_server 2>/dev/null) && "$candidate" --help >/dev/null 2>&1; then
    printf '%s' "$candidate"
    return 0
  fi
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin/moto_server; do
    if [ -x "$candidate" ]; then
      printf '%s' "$candidate"
      return 0
    fi
  done
  return 1
}

# The Python interpreter moto_server runs on: its shebang's, or (a pyenv shim) the one pyenv picks.
moto_python() {
  local first
  first=$(head -n 1 "$1")
  if [[ "$first" == '#!'*python* ]] && "${first#\#!}" -c 'import moto' 2>/dev/null; then
    printf '%s' "${first#\#!}"
  else
    printf '%s' "$(dirname "$1")/python"
  fi
}

pid_alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
up() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

cmd_install() {
  local moto
  if moto=$(find_moto); then
    log "install: skipped, moto_server is already installed ($moto)"
    return 0
  fi
  log "install: moto_server not found on PATH or under pyenv; install it with: pip install 'moto[server]'"
  return 3
}

cmd_start() {
  local moto
  if ! moto=$(find_moto); then
    log "start: moto_server not found on PATH or under pyenv (pip install 'moto[server]')"
    return 3
  fi
  mkdir -p "$DIR"
  if pid_alive && up; then
    log "start: skipped, moto_server already runs on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
  else
    [ -f "$PIDFILE" ] && log "start: removing stale PID file (pid $(cat "$PIDFILE") is not serving)"
    cmd_stop
    # moto-server.py is moto_server with defects of its Step Functions engine worked around (see that
    # file); it runs on the Python moto_server itself runs on.
    local python
    python=$(moto_python "$moto")
    log "start: MOTO_PORT=$LAMBDA_PORT $python $HERE/moto-server.py -H 127.0.0.1 -p $PORT"
    MOTO_PORT="$LAMBDA_PORT" nohup "$python" "$HERE/moto-server.py" -H 127.0.0.1 -p "$PORT" >"$DIR/moto.log" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 120); do
      up && break
      pid_alive || { log "start: moto_server exited (see $DIR/moto.log)"; return 1; }
      sleep 0.25
    done
    up || { log "start: moto_server did not answer in 30 s (see $DIR/moto.log)"; return 1; }
  fi
  # moto's own Python posts the setting, so the script needs nothing more than moto itself.
  if ! "$(moto_python "$moto")" -c '
import sys, urllib.request
body = b"{\"stepfunctions\": {\"execute_state_machine\": true}}"
urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=body, method="POST"), timeout=10)
' "http://127.0.0.1:$PORT/moto-api/config"; then
    log "start: could not turn on moto's Step Functions engine (POST /moto-api/config; see $DIR/moto.log)"
    return 1
  fi
  printf 'MOTO_ENDPOINT=http://127.0.0.1:%s\nMOTO_LAMBDA_PORT=%s\n' "$PORT" "$LAMBDA_PORT" >"$DIR/env"
  log "start: ready"
  cat "$DIR/env"
}

cmd_stop() {
  if pid_alive; then
    kill "$(cat "$PIDFILE")" 2>/dev/null || true
    for _ in $(seq 20); do pid_alive || break; sleep 0.25; done
    pid_alive && kill -9 "$(cat "$PIDFILE")" 2>/dev/null || true
    log "stop: moto_server (pid $(cat "$PIDFILE")) stopped"
  else
    log "stop: skipped, no moto_server started by this script is running"
  fi
  rm -f "$PIDFILE"
}

cmd_status() {
  if pid_alive && up; then log "status: moto_server answers on 127.0.0.1:$PORT"; else log "status: not running"; return 1; fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
