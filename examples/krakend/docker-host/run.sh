#!/bin/sh
# baton on the host, each KrakenD generation in its own container.
#
#   examples/krakend/docker-host/run.sh [folder with krakend.json]   (default: examples/krakend)
#
# Not run where baton is built (no Docker engine there): see README.md next to this file.
set -eu
cd "${1:-$(dirname "$0")/..}"

# The label lets you find containers a SIGKILL left behind:
#   docker ps -q --filter label=baton.generation | xargs -r docker stop
exec baton --stop-timeout 20000 -- \
  docker run --rm --init \
    --label baton.generation \
    -p 127.0.0.1:{port}:8080 \
    -v "$PWD:/etc/krakend" \
    devopsfaith/krakend run -c krakend.json
