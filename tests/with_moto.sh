#!/usr/bin/env bash
# Runs a command with a moto server (the AWS API emulator) of its own on 127.0.0.1.
#
#   tests/with_moto.sh <python venv bin dir> <command...>
#
# Picks a free port, starts moto's server in the background (one request at a time:
# tests/moto_serial.py), waits until it answers, exports
# AEGIS_TEST_MOTO_URL (and AEGIS_TEST_REQUIRE_MOTO=1, so the tests fail rather than skip when
# moto is unreachable) with dummy AWS credentials, runs the command, and stops moto on exit.
set -euo pipefail

venv_bin=$1
shift
port=$("$venv_bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp -t moto.XXXXXX.log)
# moto's application behind one lock: conditional writes atomic, as on DynamoDB (moto_serial.py).
"$venv_bin/python" "$(dirname "$0")/moto_serial.py" 127.0.0.1 "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$log"' EXIT

url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
	if "$venv_bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url/moto-api/" 2>/dev/null; then
		break
	fi
	if ! kill -0 "$moto_pid" 2>/dev/null; then
		echo "moto_server exited:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.2
done
"$venv_bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url/moto-api/" \
	|| { echo "moto_server did not answer on $url" >&2; cat "$log" >&2; exit 1; }

echo "moto_server on $url" >&2
export AEGIS_TEST_MOTO_URL=$url AEGIS_TEST_REQUIRE_MOTO=1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
"$@"
