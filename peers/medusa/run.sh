#!/usr/bin/env bash
# make test-peers: run channelhub's Medusa connector integration tests against a real Medusa v2
# server installed from the npm registry, on loopback, with the local PostgreSQL.
#
#   peers/medusa/run.sh               install, migrate, start, run tests/peers/medusa, stop
#   peers/medusa/run.sh serve         the same, but keep the server up until Ctrl-C (no tests)
#   peers/medusa/run.sh -- -k orders  extra arguments after -- go to pytest
#
# Everything is written under $CHANNELHUB_PEERS_DIR (default: /tmp/channelhub-peers/medusa):
# node_modules, the npm cache, HOME for node, the server log. Databases: a migrated template
# (reused while package.json is unchanged) and one clone per run, dropped at the end.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SCRATCH="${CHANNELHUB_PEERS_DIR:-/tmp/channelhub-peers/medusa}"
APP="$SCRATCH/app"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
PORT="${MEDUSA_PORT:-9123}"
EMAIL="admin@channelhub.test"
PASSWORD="channelhub-peer-password"
PYTEST="${PYTEST:-$ROOT/.venv/bin/pytest}"
MODE="test"
if [[ "${1:-}" == "serve" ]]; then MODE="serve"; shift; fi
if [[ "${1:-}" == "--" ]]; then shift; fi

export PGHOST PGPORT PGUSER
export MEDUSA_DISABLE_TELEMETRY=true
export npm_config_cache="$SCRATCH/npm-cache"
export npm_config_update_notifier=false
export NODE_ENV=development

say() { printf '[test-peers] %s\n' "$*"; }
seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

for tool in node npm curl createdb dropdb psql pg_isready; do
  command -v "$tool" >/dev/null || { say "cannot run: '$tool' is not installed"; exit 2; }
done
pg_isready -q || { say "cannot run: no PostgreSQL answers at $PGHOST:$PGPORT"; exit 2; }

START="$(seconds)"
mkdir -p "$APP" "$SCRATCH/home" "$npm_config_cache"
cp "$HERE/package.json" "$HERE/medusa-config.ts" "$HERE/tsconfig.json" "$APP/"
[[ -f "$HERE/package-lock.json" ]] && cp "$HERE/package-lock.json" "$APP/"
VERSION_KEY="$(cat "$HERE/package.json" "$HERE/package-lock.json" 2>/dev/null | sha1sum | cut -c1-10)"

# 1. npm install (skipped when node_modules already matches package.json and the lockfile).
# `npm ci` refuses the lockfile npm writes here (it records only the Linux builds of optional
# native packages), so: `npm install --prefer-offline` with the lockfile.
if [[ "$(cat "$APP/.installed" 2>/dev/null)" != "$VERSION_KEY" ]]; then
  t="$(seconds)"
  say "npm install into $APP (cache $npm_config_cache)"
  (cd "$APP" && HOME="$SCRATCH/home" npm install --prefer-offline --no-audit --no-fund \
    --loglevel=error >"$SCRATCH/npm-install.log" 2>&1) \
    || { say "npm install failed; see $SCRATCH/npm-install.log"; tail -20 "$SCRATCH/npm-install.log"; exit 1; }
  echo "$VERSION_KEY" >"$APP/.installed"
  say "npm install took $(elapsed "$t") s"
else
  say "node_modules is current ($VERSION_KEY)"
fi
MEDUSA="$APP/node_modules/.bin/medusa"

# 2. A migrated template database with the admin user, then a fresh clone for this run.
TEMPLATE="chub_medusa_tpl_$VERSION_KEY"
RUN_DB="chub_medusa_run_$$"
db_url() { echo "postgres://$PGUSER@$PGHOST:$PGPORT/$1"; }
has_db() { [[ "$(psql -XAtqc "SELECT 1 FROM pg_database WHERE datname = '$1'" postgres)" == 1 ]]; }
if ! has_db "$TEMPLATE"; then
  t="$(seconds)"
  BUILDING="${TEMPLATE}_wip"
  dropdb --if-exists "$BUILDING" 2>/dev/null
  createdb "$BUILDING"
  say "migrating a new template database $TEMPLATE"
  (cd "$APP" && HOME="$SCRATCH/home" DATABASE_URL="$(db_url "$BUILDING")" "$MEDUSA" db:migrate \
    >"$SCRATCH/migrate.log" 2>&1) \
    || { say "medusa db:migrate failed; see $SCRATCH/migrate.log"; tail -20 "$SCRATCH/migrate.log"; exit 1; }
  (cd "$APP" && HOME="$SCRATCH/home" DATABASE_URL="$(db_url "$BUILDING")" \
    "$MEDUSA" user -e "$EMAIL" -p "$PASSWORD" >>"$SCRATCH/migrate.log" 2>&1) \
    || { say "medusa user failed; see $SCRATCH/migrate.log"; exit 1; }
  psql -Xqc "ALTER DATABASE \"$BUILDING\" RENAME TO \"$TEMPLATE\"" postgres
  say "template ready in $(elapsed "$t") s"
fi
createdb -T "$TEMPLATE" "$RUN_DB"

SERVER_PID=""
stop() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    local t
    t="$(seconds)"
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    say "server stopped in $(elapsed "$t") s"
  fi
  SERVER_PID=""
  dropdb --if-exists --force "$RUN_DB" 2>/dev/null || dropdb --if-exists "$RUN_DB" || true
}
trap stop EXIT
trap 'exit 130' INT TERM

# 3. Start the server on loopback (its own process group, so it stops as one) and wait for it.
t="$(seconds)"
(cd "$APP" && HOME="$SCRATCH/home" DATABASE_URL="$(db_url "$RUN_DB")" \
  exec setsid "$MEDUSA" start -H 127.0.0.1 -p "$PORT" >"$SCRATCH/server.log" 2>&1) &
SERVER_PID=$!
URL="http://127.0.0.1:$PORT"
until curl -fsS "$URL/health" >/dev/null 2>&1; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    say "the server exited; see $SCRATCH/server.log"; tail -30 "$SCRATCH/server.log"; exit 1
  fi
  if (( $(awk -v a="$t" -v b="$(seconds)" 'BEGIN { print (b - a > 120) }') )); then
    say "no /health after 120 s; see $SCRATCH/server.log"; exit 1
  fi
  sleep 0.3
done
say "Medusa $(node -p "require('$APP/node_modules/@medusajs/medusa/package.json').version") up at $URL in $(elapsed "$t") s (database $RUN_DB)"

export CHANNELHUB_MEDUSA_URL="$URL"
export CHANNELHUB_MEDUSA_EMAIL="$EMAIL"
export CHANNELHUB_MEDUSA_PASSWORD="$PASSWORD"
if [[ "$MODE" == "serve" ]]; then
  say "serving until Ctrl-C: CHANNELHUB_MEDUSA_URL=$URL CHANNELHUB_MEDUSA_EMAIL=$EMAIL CHANNELHUB_MEDUSA_PASSWORD=$PASSWORD"
  wait "$SERVER_PID"
  exit 0
fi

# 4. The connector's integration tests.
t="$(seconds)"
status=0
(cd "$ROOT" && "$PYTEST" tests/peers/medusa -q -p no:cacheprovider -o addopts="-ra" --durations=5 "$@") || status=$?
say "tests took $(elapsed "$t") s"
stop
say "total $(elapsed "$START") s"
exit "$status"
