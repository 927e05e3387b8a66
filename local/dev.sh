#!/usr/bin/env bash
# `make dev`: run the whole stack on this machine, in the foreground.
#
# Without GITEA_URL: starts gitea-sim with the demo seed on 127.0.0.1:${GITEA_SIM_PORT:-3000}
# and uses the demo user's token from that seed as GITEA_TOKEN.
# With GITEA_URL (environment or .env): uses that Gitea; GITEA_TOKEN is then required.
#
# Either way it starts aegis-local (every function's router on one port) on
# 127.0.0.1:${MCP_PORT:-8080} with DATA_DIR=.data, waits for /health, prints the MCP URL,
# the API key and a ready-to-paste `claude mcp add` line, and stays in the foreground.
# Ctrl-C stops everything it started.
#
# The API key: MCP_API_KEYS when set, else a key made once and kept in .data/dev-api-key (0600).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DATA_DIR_REL=.data
DATA_DIR="$ROOT/$DATA_DIR_REL"
SEED=${GITEA_SIM_SEED:-$ROOT/local/gitea-sim/seed/demo.yaml}
# The seeded user whose token the gateway uses against the simulator (default: the first user).
DEMO_USER=${GITEA_SIM_USER:-}
STARTUP_TIMEOUT=${DEV_STARTUP_TIMEOUT:-30}

say() { printf '[dev] %s\n' "$*"; }
die() { printf '[dev] error: %s\n' "$*" >&2; exit 1; }

# A variable from the environment, else from .env (aegis-local reads .env the same way:
# real environment variables win). Only plain KEY=value lines are understood.
setting() {
    local name=$1
    if [[ -n ${!name:-} ]]; then
        printf '%s' "${!name}"
        return
    fi
    [[ -f .env ]] || return 0
    local line value
    line=$(grep -E "^[[:space:]]*(export[[:space:]]+)?${name}[[:space:]]*=" .env | tail -n 1 || true)
    [[ -n $line ]] || return 0
    value=${line#*=}
    value=${value#"${value%%[![:space:]]*}"}
    value=${value%"${value##*[![:space:]]}"}
    if [[ $value == \"*\" || $value == \'*\' ]]; then
        value=${value:1:${#value}-2}
    fi
    printf '%s' "$value"
}

# Is something already listening on 127.0.0.1:$1?
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits until file $1 has a line "... listening on http://HOST:PORT"; prints the URL.
# Gives up when process $2 exits or after STARTUP_TIMEOUT seconds.
wait_for_listen_line() {
    local file=$1 pid=$2 name=$3 deadline=$((SECONDS + STARTUP_TIMEOUT)) url
    while ((SECONDS < deadline)); do
        url=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$file" 2>/dev/null | head -n 1)
        if [[ -n $url ]]; then
            printf '%s' "$url"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            printf '[dev] %s exited before it was ready\n' "$name" >&2
            return 1
        fi
        sleep 0.1
    done
    printf '[dev] %s did not report "listening on" within %ss\n' "$name" "$STARTUP_TIMEOUT" >&2
    return 1
}

# The first port above $1 that is free and is not $2 (the other port make dev needs).
free_port_after() {
    local port=$(($1 + 1))
    while ((port == $2)) || port_in_use "$port"; do
        port=$((port + 1))
    done
    printf '%s' "$port"
}

# Is $1 a true value as the gateway reads booleans (true, 1, yes, on)?
is_true() {
    case ${1,,} in
        true | 1 | yes | on) return 0 ;;
    esac
    return 1
}

# GET http://127.0.0.1:$1$2 without curl; succeeds on a 200 answer.
http_ok() {
    local port=$1 path=$2 status
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
    IFS= read -r -t 5 status <&3 || status=
    exec 3>&- 3<&-
    [[ $status == "HTTP/1.1 200"* ]]
}

# The first personal access token of user $2 (default: the first user) in seed file $1.
# Uses PyYAML from the project venv (`make venv`; `make dev` creates it).
seed_token() {
    local py="$ROOT/.venv/bin/python"
    [[ -x $py ]] || py=python3
    "$py" - "$1" "$2" <<'PY'
import sys
try:
    import yaml
except ImportError:
    sys.exit("[dev] PyYAML is missing: run `make venv` (make dev does) or set GITEA_TOKEN")
seed = yaml.safe_load(open(sys.argv[1], encoding="utf-8")) or {}
users = seed.get("users") or []
wanted = sys.argv[2]
for user in users:
    if wanted and user.get("login") != wanted:
        continue
    tokens = user.get("tokens") or []
    if tokens:
        print(tokens[0]["token"])
        sys.exit(0)
    if wanted:
        break
sys.exit(f"[dev] no token for {wanted or 'any user'} in {sys.argv[1]}")
PY
}

# ---- settings ------------------------------------------------------------------------
GITEA_URL=$(setting GITEA_URL)
GITEA_TOKEN=$(setting GITEA_TOKEN)
MCP_API_KEYS=$(setting MCP_API_KEYS)
MCP_PORT=$(setting MCP_PORT)
MCP_PORT=${MCP_PORT:-8080}
GITEA_SIM_PORT=${GITEA_SIM_PORT:-3000}

[[ $MCP_PORT =~ ^[0-9]+$ ]] || die "MCP_PORT must be a port number, got \`$MCP_PORT\`"
[[ $GITEA_SIM_PORT =~ ^[0-9]+$ ]] || die "GITEA_SIM_PORT must be a port number, got \`$GITEA_SIM_PORT\`"

if [[ -n $GITEA_URL && -z $GITEA_TOKEN ]]; then
    die "GITEA_URL is set ($GITEA_URL), so GITEA_TOKEN is required: a Gitea access token
      (Gitea: Settings > Applications > Generate New Token, scope read:repository),
      in the environment or in .env. Unset GITEA_URL to use the built-in Gitea simulator."
fi

# Ports: both are checked before anything starts, and the hint is a command whose ports are
# all free (a hint that only moved the gateway would then fail on the simulator's port).
USES_SIM=0
[[ -n $GITEA_URL ]] || USES_SIM=1
if ((USES_SIM && MCP_PORT != 0 && MCP_PORT == GITEA_SIM_PORT)); then
    die "MCP_PORT and GITEA_SIM_PORT are both $MCP_PORT; give them different ports"
fi
busy=()
new_mcp=$MCP_PORT
new_sim=$GITEA_SIM_PORT
if ((MCP_PORT != 0)) && port_in_use "$MCP_PORT"; then
    busy+=("$MCP_PORT (the gateway, MCP_PORT)")
    new_mcp=$(free_port_after "$MCP_PORT" "$GITEA_SIM_PORT")
fi
if ((USES_SIM && GITEA_SIM_PORT != 0)) && port_in_use "$GITEA_SIM_PORT"; then
    busy+=("$GITEA_SIM_PORT (the Gitea simulator, GITEA_SIM_PORT)")
    new_sim=$(free_port_after "$GITEA_SIM_PORT" "$new_mcp")
fi
if ((${#busy[@]})); then
    hint=()
    ((new_mcp == 8080)) || hint+=("MCP_PORT=$new_mcp")
    ((USES_SIM == 0 || new_sim == 3000)) || hint+=("GITEA_SIM_PORT=$new_sim")
    hint+=(make dev)
    [[ -z ${OAUTH:-} ]] || hint+=("OAUTH=$OAUTH")
    if ((${#busy[@]} == 1)); then
        taken="port ${busy[0]} is"
    else
        taken="ports ${busy[0]} and ${busy[1]} are"
    fi
    die "$taken already in use on 127.0.0.1 (another make dev?); stop that process or run: ${hint[*]}"
fi

# ---- build ---------------------------------------------------------------------------
# CARGO as in the Makefile (`make dev CARGO=...`); tests/python/test_make_dev.py passes
# `true` to run this script on binaries it built already.
CARGO=${CARGO:-cargo}
say "building binaries ($CARGO build --bins)"
"$CARGO" build --bins
AEGIS_LOCAL="$TARGET_DIR/debug/aegis-local"
GITEA_SIM="$TARGET_DIR/debug/gitea-sim"
[[ -x $AEGIS_LOCAL ]] || die "$AEGIS_LOCAL was not built"

mkdir -p "$DATA_DIR/logs"
chmod 700 "$DATA_DIR"

# ---- process bookkeeping -------------------------------------------------------------
PIDS=()
cleanup() {
    local pid
    trap - INT TERM EXIT
    for pid in "${PIDS[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap 'echo; say "stopping"; cleanup; exit 130' INT TERM
trap cleanup EXIT

# ---- OAuth mode (make dev OAUTH=1, or OAUTH_MODE=true) ---------------------------------
OAUTH_DEV=0
if [[ ${OAUTH:-} == 1 || $(setting OAUTH_MODE) == true ]]; then
    OAUTH_DEV=1
fi

# ---- Gitea ---------------------------------------------------------------------------
if [[ -z $GITEA_URL ]]; then
    [[ -x $GITEA_SIM ]] || die "$GITEA_SIM was not built"
    [[ -f $SEED ]] || die "seed file $SEED not found"
    if [[ -z $GITEA_TOKEN ]]; then
        GITEA_TOKEN=$(seed_token "$SEED" "$DEMO_USER") || die "could not read a demo user's token from $SEED"
    fi
    SIM_OUT="$DATA_DIR/logs/gitea-sim.out"
    SIM_LOG="$DATA_DIR/logs/gitea-sim.log"
    : >"$SIM_OUT"
    say "starting gitea-sim (seed $(realpath --relative-to="$ROOT" "$SEED")) on 127.0.0.1:$GITEA_SIM_PORT; log: $DATA_DIR_REL/logs/gitea-sim.log"
    SIM_ARGS=(--seed "$SEED" --host 127.0.0.1 --port "$GITEA_SIM_PORT")
    if [[ $OAUTH_DEV == 1 ]]; then
        # The simulator's OAuth2 provider signs the demo user in without a password form.
        SIM_ARGS+=(--oauth-auto-login "${DEMO_USER:-alice}")
    fi
    "$GITEA_SIM" "${SIM_ARGS[@]}" >"$SIM_OUT" 2>"$SIM_LOG" &
    PIDS+=($!)
    if ! GITEA_URL=$(wait_for_listen_line "$SIM_OUT" "$!" gitea-sim); then
        tail -n 20 "$SIM_LOG" >&2 || true
        die "gitea-sim did not start"
    fi
    say "gitea-sim ready at $GITEA_URL"
    export GITEA_SIM_URL=$GITEA_URL
fi

# ---- API key (or OAuth) --------------------------------------------------------------
if [[ $OAUTH_DEV == 1 ]]; then
    export OAUTH_MODE=true
    if [[ -n ${GITEA_SIM_URL:-} ]]; then
        # The simulator's demo OAuth application (local/gitea-sim/seed/demo.yaml).
        export GITEA_OAUTH_CLIENT_ID=${GITEA_OAUTH_CLIENT_ID:-aegis-demo-client}
        export GITEA_OAUTH_CLIENT_SECRET=${GITEA_OAUTH_CLIENT_SECRET:-aegis-demo-secret-5f0c1d7e9b2a4c68}
        # Users act with their own Gitea tokens, not the service token.
        GITEA_TOKEN=
    fi
    STATE_FILE="$DATA_DIR/dev-oauth-state-secret"
    if [[ -z $(setting OAUTH_STATE_SECRET) ]]; then
        [[ -s $STATE_FILE ]] || (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$STATE_FILE")
        OAUTH_STATE_SECRET=$(<"$STATE_FILE")
        export OAUTH_STATE_SECRET
    fi
    API_KEY=
    KEY_SOURCE="oauth"
elif [[ -n $MCP_API_KEYS ]]; then
    API_KEY=${MCP_API_KEYS%%,*}
    API_KEY=${API_KEY//[[:space:]]/}
    KEY_SOURCE="MCP_API_KEYS"
else
    KEY_FILE="$DATA_DIR/dev-api-key"
    if [[ ! -s $KEY_FILE ]]; then
        (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$KEY_FILE")
        say "created a demo API key in $DATA_DIR_REL/dev-api-key"
    fi
    chmod 600 "$KEY_FILE"
    API_KEY=$(<"$KEY_FILE")
    MCP_API_KEYS=$API_KEY
    KEY_SOURCE="$DATA_DIR_REL/dev-api-key"
fi

# ---- aegis-local ---------------------------------------------------------------------
export GITEA_URL GITEA_TOKEN MCP_API_KEYS MCP_PORT
export MCP_HOST=127.0.0.1
export DATA_DIR="$DATA_DIR"
export DCR_STORAGE_PATH=${DCR_STORAGE_PATH:-$DATA_DIR/dcr_clients.json}
export AUDIT_LOG_PATH=${AUDIT_LOG_PATH:-$DATA_DIR/audit}
export ENVIRONMENT=${ENVIRONMENT:-development}

LOCAL_OUT="$DATA_DIR/logs/aegis-local.out"
: >"$LOCAL_OUT"
say "starting aegis-local on 127.0.0.1:$MCP_PORT (JSON logs follow on stderr)"
"$AEGIS_LOCAL" >"$LOCAL_OUT" &
LOCAL_PID=$!
PIDS+=("$LOCAL_PID")
if ! BASE_URL=$(wait_for_listen_line "$LOCAL_OUT" "$LOCAL_PID" aegis-local); then
    die "aegis-local did not start (its error is printed above)"
fi
PORT=${BASE_URL##*:}

deadline=$((SECONDS + STARTUP_TIMEOUT))
until http_ok "$PORT" /health; do
    kill -0 "$LOCAL_PID" 2>/dev/null || die "aegis-local exited"
    ((SECONDS < deadline)) || die "aegis-local did not answer /health within ${STARTUP_TIMEOUT}s"
    sleep 0.2
done

# ---- what this gateway does (the banner's state lines) -------------------------------
if is_true "$(setting WRITE_MODE)"; then
    if is_true "$(setting WRITE_ALLOW_ALL_TOKEN_REPOS)"; then
        WRITE_STATE="on, every repository the token can write (WRITE_ALLOW_ALL_TOKEN_REPOS)"
    else
        WRITE_STATE="on, for $(setting WRITE_REPOSITORY_WHITELIST) (and what the policy allows)"
    fi
else
    WRITE_STATE="off (read tools only; docs/write-mode.md)"
fi
POLICY_FILE=$(setting POLICY_FILE_PATH)
POLICY_STATE=${POLICY_FILE:-"built-in defaults: reads allowed, writes and automation denied (POLICY_FILE_PATH)"}
if [[ $OAUTH_DEV == 1 ]]; then
    AUTH_STATE="OAuth 2.1 (clients register and sign in through the consent page)"
else
    AUTH_STATE="API key (from $KEY_SOURCE)"
fi
if is_true "$(setting AUTOMATION_ENABLED)"; then
    AUTOMATION_STATE="on: POST /automation/jobs/run"
    if [[ -n $(setting WEBHOOK_SECRET) ]]; then
        AUTOMATION_STATE+=", POST /automation/webhook"
    else
        AUTOMATION_STATE+=" (webhooks refused: WEBHOOK_SECRET is unset)"
    fi
    if is_true "$(setting AUTOMATION_SCHEDULER_ENABLED)"; then
        AUTOMATION_STATE+=", scheduler on"
    fi
else
    AUTOMATION_STATE="off (AUTOMATION_ENABLED; docs/automation.md)"
fi
AUDIT_SHOWN=$(realpath -m --relative-to="$ROOT" "$AUDIT_LOG_PATH" 2>/dev/null || printf '%s' "$AUDIT_LOG_PATH")
STATE_LINES="   Auth         : $AUTH_STATE
   Write mode   : $WRITE_STATE
   Policy       : $POLICY_STATE
   Automation   : $AUTOMATION_STATE
   Audit trail  : $AUDIT_SHOWN   (check it: aegis audit verify, after make cli)"

if [[ $OAUTH_DEV == 1 ]]; then
cat <<EOF

================================================================================
 AegisGitea MCP is running in OAuth mode
   MCP endpoint : $BASE_URL/mcp
   Gitea        : $GITEA_URL   (the simulator signs '${DEMO_USER:-alice}' in automatically)
$STATE_LINES

 Connect Claude Code (it discovers OAuth, registers, and opens the consent page):
   claude mcp add --transport http aegis-gitea $BASE_URL/mcp

 Ctrl-C stops everything.
================================================================================

EOF
else
cat <<EOF

================================================================================
 AegisGitea MCP is running
   MCP endpoint : $BASE_URL/mcp
   Gitea        : $GITEA_URL
   API key      : $API_KEY
$STATE_LINES

 Connect Claude Code:
   claude mcp add --transport http aegis-gitea $BASE_URL/mcp --header "Authorization: Bearer $API_KEY"

 Any other MCP client: Streamable HTTP at $BASE_URL/mcp with the header
   Authorization: Bearer $API_KEY
 ($BASE_URL/mcp/sse is an alias of the same Streamable HTTP endpoint, not the old
  2024-11-05 HTTP+SSE transport.)

 Ctrl-C stops everything.
================================================================================

EOF
fi

# Foreground until aegis-local exits or Ctrl-C.
set +e
wait "$LOCAL_PID"
status=$?
set -e
say "aegis-local exited with status $status"
exit "$status"
