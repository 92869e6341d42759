#!/usr/bin/env bash
# A single-node Ceph cluster with the RADOS Gateway, for the compatibility suite (npm run test:compat).
#
#   scripts/servers/ceph.sh install   apt-get the Debian packages (root + apt only; skips what is there)
#   scripts/servers/ceph.sh start     one mon (auth none), one memstore OSD (pool size 1), radosgw on
#                                     127.0.0.1:$S3XCOPY_CEPH_PORT with STS, users, a role and a tenant
#   scripts/servers/ceph.sh stop      stops the daemons this script started, by their PID files
#   scripts/servers/ceph.sh status    exit 0 when radosgw answers
#   scripts/servers/ceph.sh role-policy ROLE FILE
#                                     sets ROLE's permission policy to the JSON in FILE (the compat suite
#                                     puts the one `s3xcopy policies --only target-permissions` prints)
#
# All state lives in $S3XCOPY_CEPH_DIR (default: $TMPDIR/s3xcopy-ceph). `start` writes the endpoint,
# the credentials and the role ARN to $S3XCOPY_CEPH_DIR/env (shell syntax) for the tests.
# Every step is idempotent: it says what it skips and why. Exit codes: 0 done, 1 failed,
# 3 Ceph is not installed and cannot be installed here (the caller decides whether that is a skip).
set -euo pipefail

DIR="${S3XCOPY_CEPH_DIR:-${TMPDIR:-/tmp}/s3xcopy-ceph}"
RGW_PORT="${S3XCOPY_CEPH_PORT:-7481}"
MON_PORT="${S3XCOPY_CEPH_MON_PORT:-6791}"
CONF="$DIR/ceph.conf"
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common)
# Fixed test-only credentials (loopback server, no secrets): one user per "account", as DESIGN.md's
# 111111111111 / 222222222222 accounts play them on AWS.
ACCESS_KEY=S3XCOPYSOURCEKEY0001
SECRET_KEY=s3xcopy-source-secret-0001
TENANT=tenant2
TENANT_ACCESS_KEY=S3XCOPYTENANTKEY0002
TENANT_SECRET_KEY=s3xcopy-tenant-secret-0002
ROLE_NAME=s3xcopy-target
# A second role for the proof that RGW enforces the deployed policy: it gets that policy minus one action.
LACKING_ROLE_NAME=s3xcopy-target-lacking

log() { printf 'ceph.sh: %s\n' "$*" >&2; }

installed() {
  command -v ceph-mon >/dev/null && command -v ceph-osd >/dev/null && command -v radosgw >/dev/null &&
    command -v radosgw-admin >/dev/null && command -v ceph >/dev/null
}

cmd_install() {
  if installed; then
    log "install: skipped, ceph-mon, ceph-osd, radosgw and ceph are already on PATH"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    log "install: cannot install, not root (run as root, or install ${PACKAGES[*]} yourself)"
    return 3
  fi
  if ! command -v apt-get >/dev/null; then
    log "install: cannot install, no apt-get on this machine (install ${PACKAGES[*]} with its package manager)"
    return 3
  fi
  log "install: apt-get install ${PACKAGES[*]} (a few minutes on a new machine)"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2
  installed || { log "install: packages installed but the daemons are not on PATH"; return 1; }
}

# The directory of the OSD's object classes: Debian puts them outside Ceph's default path, and
# radosgw then fails with "failed to init services (ret=(95) Operation not supported)".
class_dir() {
  local dir
  dir=$(dpkg -L ceph-base 2>/dev/null | grep -m1 '/rados-classes$' || true)
  if [ -z "$dir" ]; then
    for dir in /usr/lib/x86_64-linux-gnu/rados-classes /usr/lib/aarch64-linux-gnu/rados-classes /usr/lib/rados/rados-classes /usr/lib64/rados-classes; do
      [ -d "$dir" ] && break
    done
  fi
  printf '%s' "$dir"
}

ceph_() { timeout 30 ceph -c "$CONF" "$@"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# A TCP connect is enough: radosgw listens only once it serves requests (and curl may not be installed).
rgw_up() { (exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT") 2>/dev/null; }

write_conf() {
  local fsid="$1"
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon host = [v1:127.0.0.1:$MON_PORT]
ms bind msgr2 = false
ms bind ipv6 = false
ms bind ipv4 = true
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon max pg per osd = 2000
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
[mon]
mon data = $DIR/mon.\$id
[osd]
osd data = $DIR/osd.\$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd class dir = $(class_dir)
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
rgw s3 auth use sts = true
rgw sts key = s3xcopyststestky
rgw dns name = localhost
rgw enable usage log = false
CONF
}

cmd_start() {
  if ! installed; then
    log "start: Ceph is not installed (run: scripts/servers/ceph.sh install)"
    return 3
  fi
  if pid_alive "$DIR/run/client.rgw.a.pid" && rgw_up && [ -f "$DIR/env" ]; then
    log "start: skipped, radosgw already runs on 127.0.0.1:$RGW_PORT (pid $(cat "$DIR/run/client.rgw.a.pid"))"
    cat "$DIR/env"
    return 0
  fi
  # A half-started cluster (a crash, a killed run) is not worth repairing: start over.
  cmd_stop
  local port
  for port in "$MON_PORT" "$RGW_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      log "start: port $port is taken by a process this script did not start (a daemon of an earlier cluster?); stop it, or set S3XCOPY_CEPH_MON_PORT / S3XCOPY_CEPH_PORT"
      return 1
    fi
  done
  rm -rf "$DIR"
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon.a" "$DIR/osd.0" "$DIR/rgw"
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"
  log "start: mon.a on 127.0.0.1:$MON_PORT"
  ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --clobber --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
  ceph-mon -c "$CONF" -i a 2>>"$DIR/log/startup.log"
  log "start: osd.0 (memstore)"
  local osd_uuid
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph_ osd new "$osd_uuid" >/dev/null
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$DIR/log/osd-mkfs.log"
  # Under load, Ceph 16's OSD can send its first mon command before it has the monmap (fsid 000...),
  # which the mon refuses ('wrong fsid') and the OSD exits before forking: seen on a loaded CI machine.
  local attempt
  for attempt in 1 2 3 4 5 6; do
    ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/startup.log" && break
    if [ "$attempt" = 6 ]; then
      log "start: osd.0 failed to start 6 times: $(grep -v '^$' "$DIR/log/startup.log" | tail -1)"
      return 1
    fi
    log "start: osd.0 failed to start (attempt $attempt: $(grep -v '^$' "$DIR/log/startup.log" | tail -1)); trying again"
    sleep 3
  done
  for _ in $(seq 60); do
    pid_alive "$DIR/run/osd.0.pid" || { log "start: osd.0 exited (see $DIR/log/osd.0.log)"; return 1; }
    ceph_ osd dump 2>/dev/null | grep -q '^osd.0 up' && break
    sleep 1
  done
  ceph_ osd dump | grep -q '^osd.0 up' || { log "start: osd.0 did not come up (see $DIR/log)"; return 1; }
  log "start: radosgw on 127.0.0.1:$RGW_PORT"
  radosgw -c "$CONF" -n client.rgw.a 2>>"$DIR/log/startup.log"
  for _ in $(seq 90); do
    rgw_up && break
    pid_alive "$DIR/run/client.rgw.a.pid" || sleep 1
    sleep 1
  done
  rgw_up || { log "start: radosgw did not answer (see $DIR/log/client.rgw.a.log)"; return 1; }
  log "start: users, role and tenant"
  local admin=(radosgw-admin -c "$CONF")
  "${admin[@]}" user create --uid source --display-name "s3xcopy source" \
    --access-key "$ACCESS_KEY" --secret "$SECRET_KEY" >/dev/null
  "${admin[@]}" caps add --uid source --caps "roles=*" >/dev/null
  "${admin[@]}" user create --tenant "$TENANT" --uid owner --display-name "s3xcopy tenant owner" \
    --access-key "$TENANT_ACCESS_KEY" --secret "$TENANT_SECRET_KEY" >/dev/null
  # The closest trust RGW can express: it has no accounts, so not the source account's root with an
  # aws:PrincipalArn condition (infra/policies.ts targetRoleTrustPolicy), but the source user itself.
  # The roles get no permissions here: the compat suite puts the deployed policy for its own buckets.
  local role
  for role in "$ROLE_NAME" "$LACKING_ROLE_NAME"; do
    "${admin[@]}" role create --role-name "$role" --path / \
      --assume-role-policy-doc '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/source"]},"Action":["sts:AssumeRole"]}]}' >/dev/null
  done
  cat >"$DIR/env" <<ENV
CEPH_ENDPOINT=http://127.0.0.1:$RGW_PORT
CEPH_ACCESS_KEY=$ACCESS_KEY
CEPH_SECRET_KEY=$SECRET_KEY
CEPH_TENANT=$TENANT
CEPH_TENANT_ACCESS_KEY=$TENANT_ACCESS_KEY
CEPH_TENANT_SECRET_KEY=$TENANT_SECRET_KEY
CEPH_ROLE_ARN=arn:aws:iam:::role/$ROLE_NAME
CEPH_LACKING_ROLE_ARN=arn:aws:iam:::role/$LACKING_ROLE_NAME
CEPH_DIR=$DIR
ENV
  log "start: ready"
  cat "$DIR/env"
}

cmd_stop() {
  local name pidfile stopped=0
  for name in client.rgw.a osd.0 mon.a; do
    pidfile="$DIR/run/$name.pid"
    if pid_alive "$pidfile"; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      for _ in $(seq 20); do pid_alive "$pidfile" || break; sleep 0.5; done
      pid_alive "$pidfile" && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
      log "stop: $name stopped"
      stopped=1
    else
      [ -f "$pidfile" ] && log "stop: $name skipped, pid $(cat "$pidfile") is not running"
    fi
    rm -f "$pidfile"
  done
  [ "$stopped" = 1 ] || log "stop: nothing was running under $DIR"
}

cmd_status() {
  if pid_alive "$DIR/run/client.rgw.a.pid" && rgw_up; then
    log "status: radosgw answers on 127.0.0.1:$RGW_PORT"
  else
    log "status: radosgw is not running"
    return 1
  fi
}

cmd_role_policy() {
  local role="${1:-}" file="${2:-}"
  if [ -z "$role" ] || [ ! -f "$file" ]; then
    log "role-policy: usage: $0 role-policy ROLE FILE (FILE: a permission policy as JSON)"
    return 2
  fi
  timeout 60 radosgw-admin -c "$CONF" role-policy put --role-name "$role" --policy-name s3xcopy-deployed \
    --policy-doc "$(cat "$file")" >/dev/null
  log "role-policy: $role now has the policy in $file"
}

case "${1:-}" in
  install) cmd_install ;;
  role-policy) cmd_role_policy "${2:-}" "${3:-}" ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 install|start|stop|status|role-policy ROLE FILE" >&2
    exit 2
    ;;
esac
