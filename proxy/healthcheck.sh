#!/bin/bash
# Healthy when squid answers the Nightshift check request on the default port itself (a 307 naming
# the port; see core/egress/proxy-check.ts), which needs no upstream network.
set -euo pipefail
port="${1:-3128}"
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET http://proxy-check.nightshift.invalid/ HTTP/1.0\r\nHost: proxy-check.nightshift.invalid\r\n\r\n' >&3
answer="$(timeout 4 head -c 4096 <&3 || true)"
exec 3<&-
grep -q '^HTTP/1\.[01] 307' <<<"$answer" && grep -qi '^Location: http://proxy-check\.nightshift\.invalid/port/' <<<"$answer"
