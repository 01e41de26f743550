#!/bin/bash
# Writes squid.conf from NIGHTSHIFT_SQUID_CONF and the hash of the runner's proxy credential from
# NIGHTSHIFT_PROXY_PASSWORD (an ECS secret; only its SHA-256 is kept, for runner-auth.sh), checks the
# configuration, and runs squid in the foreground.
# squid drops to user "proxy", which cannot open the container's stdout/stderr, so it logs into two
# FIFOs that this script copies to stdout (access log, shipped by awslogs) and stderr (cache log).
# If squid or a log copier dies the script exits, and ECS replaces the task.
set -euo pipefail

: "${NIGHTSHIFT_SQUID_CONF:?NIGHTSHIFT_SQUID_CONF must hold the generated squid.conf}"
: "${NIGHTSHIFT_PROXY_PASSWORD:?NIGHTSHIFT_PROXY_PASSWORD must hold the runner credential}"
conf="${SQUID_CONF_FILE:-/etc/squid/squid.conf}"
run_dir="${SQUID_RUN_DIR:-/run/squid}"
service_name="${SQUID_SERVICE_NAME:-squid}"
user="${SQUID_USER:-proxy}"
spool_dir="${SQUID_SPOOL_DIR:-/var/spool/squid}"

printf '%s\n' "$NIGHTSHIFT_SQUID_CONF" > "$conf"
install -d -m 0755 -o "$user" "$run_dir" "$spool_dir"
if ! [[ "$NIGHTSHIFT_PROXY_PASSWORD" =~ ^[A-Za-z0-9_-]{32,128}$ ]]; then
  echo '{"level":"ERROR","message":"NIGHTSHIFT_PROXY_PASSWORD is not 32-128 URL-safe characters"}' >&2
  exit 1
fi
printf '%s' "$NIGHTSHIFT_PROXY_PASSWORD" | sha256sum | cut -d' ' -f1 > "$run_dir/runner-credential.sha256"
chmod 0644 "$run_dir/runner-credential.sha256"
# squid and its helpers never see the credential itself.
unset NIGHTSHIFT_PROXY_PASSWORD
squid -k parse -f "$conf" -n "$service_name"

for pipe in access.pipe cache.pipe; do
  rm -f "$run_dir/$pipe"
  mkfifo -m 0600 "$run_dir/$pipe"
  chown "$user" "$run_dir/$pipe"
done
cat "$run_dir/access.pipe" &
cat "$run_dir/cache.pipe" >&2 &

squid -N -f "$conf" -n "$service_name" &
squid_pid=$!

# SIGTERM (ECS stop, deploy) is passed to squid, which closes its ports and finishes within shutdown_lifetime.
stopping=0
trap 'stopping=1; kill -TERM "$squid_pid" 2>/dev/null || true' TERM INT

status=0
wait -n || status=$?
if [ "$stopping" = 1 ]; then
  wait "$squid_pid" || status=$?
  exit 0
fi
echo "{\"level\":\"ERROR\",\"message\":\"egress proxy process exited (status $status); stopping the task so ECS replaces it\"}" >&2
kill -TERM "$squid_pid" 2>/dev/null || true
wait "$squid_pid" 2>/dev/null || true
exit 1
