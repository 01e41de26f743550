#!/bin/bash
# squid basic-auth helper for the runner's credential (core/egress/runner-credential.ts). squid sends
# one "user password" line per check (URL-escaped; the credential is base64url/alphanumeric, so it
# needs no unescaping) and reads "OK" or "ERR" back. The file named by $1 holds the SHA-256 (hex) of
# the one password that opens the AWS API hosts, never the password itself. Anything else is ERR.
set -uo pipefail
hash_file="${1:?usage: runner-auth.sh <sha256 file>}"
expected_user="nightshift-runner"
while IFS= read -r line; do
  user="${line%% *}"
  password="${line#* }"
  expected="$(tr -d '[:space:]' < "$hash_file" 2>/dev/null || true)"
  if [[ "$user" == "$expected_user" && "$line" == *" "* && "$password" =~ ^[A-Za-z0-9_-]{32,128}$ && "$expected" =~ ^[0-9a-f]{64}$ ]] \
    && [[ "$(printf '%s' "$password" | sha256sum | cut -d' ' -f1)" == "$expected" ]]; then
    echo OK
  else
    echo ERR
  fi
done
