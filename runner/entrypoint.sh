#!/bin/sh
# Starts the runner. With an egress proxy configured, the runner's own HTTPS to GitHub (Octokit's
# fetch) goes through it too: Node 24 reads the proxy from the environment when NODE_USE_ENV_PROXY=1.
# AWS endpoints stay direct (VPC endpoints); the container credentials endpoint is never proxied.
set -eu
if [ -n "${NIGHTSHIFT_PROXY_URL:-}" ]; then
  export HTTPS_PROXY="$NIGHTSHIFT_PROXY_URL" HTTP_PROXY="$NIGHTSHIFT_PROXY_URL"
  export NO_PROXY="169.254.169.254,169.254.170.2,localhost,127.0.0.1,.amazonaws.com"
  export NODE_USE_ENV_PROXY=1
fi
exec node /app/runner.js
