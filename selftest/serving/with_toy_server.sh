#!/bin/sh
# Runs a command with toy_server.py serving on 127.0.0.1 and DETLLM_ENDPOINT
# naming it; the server is stopped afterwards, whatever the command did.
#   with_toy_server.sh [toy_server flags...] -- command [args...]
set -eu
here=$(dirname "$0")
dir=$(mktemp -d)
flags=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags="$flags $1"; shift; done
shift
# shellcheck disable=SC2086
python3 "$here/toy_server.py" --port-file "$dir/port" --lifetime-s 600 $flags &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
i=0
while [ ! -f "$dir/port" ]; do
  i=$((i + 1))
  [ $i -gt 200 ] && { echo "toy_server.py did not start" >&2; exit 2; }
  sleep 0.05
done
DETLLM_ENDPOINT="http://127.0.0.1:$(cat "$dir/port")/v1"
export DETLLM_ENDPOINT
"$@"
