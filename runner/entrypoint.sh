#!/bin/sh
# Starts the runner. The runner routes its own traffic explicitly (runner/egress/proxied-clients.ts):
# Bedrock, Step Functions, Lambda, Secrets Manager and GitHub through NIGHTSHIFT_PROXY_URL, DynamoDB,
# S3 and Logs direct through VPC endpoints. No process-wide proxy variables are set here, so nothing
# depends on which HTTP stack honours them; tools get their proxy variables per command.
set -eu
exec node /app/runner.js
