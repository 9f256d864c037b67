#!/usr/bin/env bash
# The demo: the nightly backup of a Zuul deployment and the rebuild of a fresh
# dev instance from it, on the local dev services. Run through `make demo`
# (which starts the services and builds bin/zuulstate).
#
#   prod: database `zuul` on MariaDB :13306 (scripts/zuuldb), a ZooKeeper tree
#         over TLS (:12281, chroot /zuulstate-demo), the `log_server` volume
#         and the certs/config/SSH-key bind mounts of a running container
#         (internal/demo, scripts/demoseed)
#   one `zuulstate backup` of all of it to MinIO, age-encrypted
#   dev:  `zuulstate restore --target dev`: database `zuul_dev` on :13307,
#         ZooKeeper :12282 with the dev profile (no /zuul-system, no /nodepool),
#         volume `dev_log_server`, bind paths moved below srv/zuul-dev
#   drill: `zuulstate drill --target drill` once: the same snapshot restored
#         into scratch places named zuulstate_drill_… on the dev services,
#         verified and removed, then `zuulstate check --max-drill-age 8d`
#
# Re-running replaces everything the previous run seeded; the age key and the
# snapshots in MinIO (bucket zuulstate-demo, prefix demo/) are kept, and
# retention keeps the last 3.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
PATH=$PATH:/usr/local/go/bin
bin="$here/bin/zuulstate"
seeder="$here/bin/demoseed"
demo="${ZUULSTATE_DEMO_DIR:-/tmp/zuulstate-demo}"
started=$SECONDS

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# logged NAME CMD... runs CMD with its log in $demo/NAME.log, shown when
# it fails: the demo shows results, the logs are there to look at.
logged() {
  local name=$1
  shift
  if ! "$@" 2>"$demo/$name.log"; then
    echo "demo: $name failed; its log ($demo/$name.log):" >&2
    tail -n 30 "$demo/$name.log" >&2
    exit 1
  fi
}

eval "$(scripts/dev-services.sh env)"
for v in ZUULSTATE_TEST_S3_ENDPOINT ZUULSTATE_TEST_MARIADB_PROD_ADDR ZUULSTATE_TEST_ZK_PROD_TLS_ADDR ZUULSTATE_TEST_DOCKER_HOST; do
  [[ -n ${!v:-} ]] || { echo "demo: $v is not set: the dev services are not all up (scripts/dev-services.sh start)" >&2; exit 1; }
done
[[ -x $bin ]] || { echo "demo: $bin is missing: run make demo (it builds it)" >&2; exit 1; }

step "seeding a Zuul-shaped prod"
mkdir -p "$demo"
# Static: the demo container's image holds this very binary and nothing else.
CGO_ENABLED=0 go build -o "$seeder" ./scripts/demoseed
go run ./scripts/zuuldb -addr "$ZUULSTATE_TEST_MARIADB_PROD_ADDR" -db zuul -buildsets 2000 | sed 's/^/  /'
"$seeder" seed -dir "$demo"

step "the configuration: $demo/zuulstate.yaml (from examples/demo/zuulstate.yaml)"
if [[ ! -s $demo/age-identity.txt ]]; then
  "$bin" keygen --output "$demo/age-identity.txt" >/dev/null
fi
recipient="$(sed -n 's/^# public key: //p' "$demo/age-identity.txt")"
"$seeder" config -dir "$demo" -recipient "$recipient" >"$demo/zuulstate.yaml"
export ZUULSTATE_CONFIG="$demo/zuulstate.yaml"
# Secrets through the environment, never in the file or on a command line.
export ZUULSTATE_S3_ACCESS_KEY="$ZUULSTATE_TEST_S3_ACCESS_KEY" ZUULSTATE_S3_SECRET_KEY="$ZUULSTATE_TEST_S3_SECRET_KEY"
export ZUULSTATE_MARIADB_PASSWORD="$ZUULSTATE_TEST_MARIADB_PASSWORD"
"$bin" config check --connect >/dev/null
echo "  config check --connect: the configuration is valid and MinIO answers"

step "zuulstate backup (every source, one snapshot)"
id="$(logged backup "$bin" backup)"
echo "  snapshot $id"
"$bin" show "$id" | sed 's/^/  /'

step "zuulstate restore $id --target dev (plan, verify every part, restore, verification table)"
logged restore "$bin" restore "$id" --target dev | sed 's/^/  /'

step "comparing the dev instance with prod"
sql() { MYSQL_PWD="$ZUULSTATE_TEST_MARIADB_PASSWORD" mariadb -h "${1%:*}" -P "${1##*:}" -u "$ZUULSTATE_TEST_MARIADB_USER" -N -B -e "$2"; }
tables="$(sql "$ZUULSTATE_TEST_MARIADB_PROD_ADDR" "SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'zuul'")"
diff <(sql "$ZUULSTATE_TEST_MARIADB_PROD_ADDR" "USE zuul; CHECKSUM TABLE $tables" | cut -d. -f2-) \
  <(sql "$ZUULSTATE_TEST_MARIADB_DEV_ADDR" "USE zuul_dev; CHECKSUM TABLE $tables" | cut -d. -f2-)
echo "  mariadb: CHECKSUM TABLE of all $(tr , '\n' <<<"$tables" | wc -l) tables equal in zuul (prod) and zuul_dev (dev)"
mountpoint() { docker -H "$ZUULSTATE_TEST_DOCKER_HOST" volume inspect -f '{{.Mountpoint}}' "$1"; }
diff -r --no-dereference "$(mountpoint log_server)" "$(mountpoint dev_log_server)"
echo "  volumes: log_server and dev_log_server identical ($(find "$(mountpoint dev_log_server)" -type f | wc -l) files)"
for d in certs zuul_configuration ssh_keys; do
  diff -r --no-dereference "$demo/opt/zuul/$d" "$demo/srv/zuul-dev/$d"
done
echo "  bind mounts: certs, zuul_configuration, ssh_keys identical below $demo/srv/zuul-dev"
diff -r --no-dereference "$demo/opt/zuul/compose" "$demo/srv/paths/compose"
echo "  paths: compose identical in $demo/srv/paths/compose"

step "zuulstate drill $id --target drill (the weekly restore test: scratch places on the dev servers, verified, removed)"
logged drill "$bin" drill "$id" --target drill --scratch-dir "$demo/drill" | sed 's/^/  /'
"$bin" check --max-age 26h --max-drill-age 8d | sed 's/^/  /'

step "retention (keep the last 3 snapshots)"
logged prune "$bin" prune | sed 's/^/  /'

bold=$(printf '\033[1m') plain=$(printf '\033[0m')
cat <<EOF

${bold}demo complete in $((SECONDS - started)) s${plain}: snapshot $id of prod rebuilt as a dev instance.

Look around; first, in your shell:
  eval "\$(scripts/dev-services.sh env)"; export ZUULSTATE_CONFIG=$demo/zuulstate.yaml \\
    ZUULSTATE_S3_ACCESS_KEY="\$ZUULSTATE_TEST_S3_ACCESS_KEY" ZUULSTATE_S3_SECRET_KEY="\$ZUULSTATE_TEST_S3_SECRET_KEY"
then:
  bin/zuulstate snapshots                   # the snapshots in MinIO (bucket zuulstate-demo, prefix demo/)
  bin/zuulstate show latest                 # parts, sizes, checksums
  bin/zuulstate verify latest --deep        # re-read and re-hash every part (age key: $demo/age-identity.txt)
  bin/zuulstate diff latest~1 latest        # what changed between the last two runs
  less $demo/backup.log $demo/restore.log $demo/drill.log
  bin/zuulstate check --max-age 26h --max-drill-age 8d   # the Nagios line: backups and the last drill
  MYSQL_PWD="\$ZUULSTATE_TEST_MARIADB_PASSWORD" mariadb -h 127.0.0.1 -P 13307 -u zuulstate zuul_dev \\
    -e 'SELECT * FROM alembic_version; SELECT result, COUNT(*) FROM zuul_build GROUP BY result'
  /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:12182 ls /zuulstate-demo        # dev: keys only
  /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:12181 ls /zuulstate-demo        # prod
  docker -H \$ZUULSTATE_TEST_DOCKER_HOST volume inspect dev_log_server
  docker -H \$ZUULSTATE_TEST_DOCKER_HOST ps                                           # zuul_scheduler, running
  ls -la $demo/srv/zuul-dev/*               # the dev instance's bind paths
EOF
