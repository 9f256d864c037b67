#!/usr/bin/env bash
# End-to-end demo of zuulstate on local services: back up a Zuul-like host
# layout to MinIO (TLS, age-encrypted), list, show and deep-verify the
# snapshot, restore it into an empty directory and compare it with the
# original, then show what prune would do. Run through `make demo`.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bin="$here/bin/zuulstate"
demo="${ZUULSTATE_DEMO_DIR:-/tmp/zuulstate-demo}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

eval "$(scripts/dev-services.sh env)"
: "${ZUULSTATE_TEST_S3_ENDPOINT:?MinIO is not running: scripts/dev-services.sh start}"

step "preparing a Zuul-like host layout in $demo/opt/zuul"
rm -rf "$demo"
mkdir -p "$demo"/opt/zuul/{certs,ssh_keys,zuul_configuration/tenants,empty}
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=zookeeper -days 30 \
  -keyout "$demo/opt/zuul/certs/zookeeper.key" -out "$demo/opt/zuul/certs/zookeeper.crt" 2>/dev/null
chmod 600 "$demo/opt/zuul/certs/zookeeper.key"
ssh-keygen -q -t ed25519 -N '' -f "$demo/opt/zuul/ssh_keys/nodepool" 2>/dev/null \
  || head -c 400 /dev/urandom | base64 > "$demo/opt/zuul/ssh_keys/nodepool"
printf '[keystore]\npassword=<kept in the real zuul.conf>\n' > "$demo/opt/zuul/zuul_configuration/zuul.conf"
printf -- '- tenant:\n    name: demo\n' > "$demo/opt/zuul/zuul_configuration/tenants/main.yaml"
ln -s zuul.conf "$demo/opt/zuul/zuul_configuration/current.conf"
ln "$demo/opt/zuul/zuul_configuration/zuul.conf" "$demo/opt/zuul/zuul_configuration/zuul.conf.hardlink"
touch -d '1969-07-20 20:17:40.123456789 UTC' "$demo/opt/zuul/zuul_configuration/tenants/main.yaml"
chown -h 10001:10001 "$demo/opt/zuul/ssh_keys/nodepool" 2>/dev/null || true
echo "stale" > "$demo/opt/zuul/zuul_configuration/scratch.tmp"

step "creating an age key pair (backup host keeps only the public key)"
recipient="$("$bin" keygen --output "$demo/age-identity.txt")"
echo "recipient: $recipient"

cat > "$demo/zuulstate.yaml" <<YAML
host: demo-zuul01
repository:
  s3:
    endpoint: $ZUULSTATE_TEST_S3_ENDPOINT
    bucket: zuulstate-demo
    prefix: demo-$(date +%s)/
    ca_file: $ZUULSTATE_TEST_S3_CA_FILE
    lookup: path
  encryption:
    recipients: [$recipient]
sources:
  paths:
    - name: certs
      path: $demo/opt/zuul/certs
    - name: ssh-keys
      path: $demo/opt/zuul/ssh_keys
    - name: zuul-config
      path: $demo/opt/zuul/zuul_configuration
      exclude: ["*.tmp"]
retention:
  keep_last: 1
YAML
export ZUULSTATE_CONFIG="$demo/zuulstate.yaml"
export ZUULSTATE_S3_ACCESS_KEY="$ZUULSTATE_TEST_S3_ACCESS_KEY" ZUULSTATE_S3_SECRET_KEY="$ZUULSTATE_TEST_S3_SECRET_KEY"

step "zuulstate config check (secrets redacted)"
"$bin" config check --connect

step "zuulstate backup (twice, to have something to prune)"
"$bin" backup --tag demo
id="$("$bin" backup --tag demo)"
echo "second snapshot: $id"

step "zuulstate snapshots"
"$bin" snapshots

step "zuulstate show latest"
"$bin" show latest

step "zuulstate verify latest --deep (with the private key)"
ZUULSTATE_AGE_IDENTITY_FILE="$demo/age-identity.txt" "$bin" verify latest --deep

step "zuulstate restore latest --target $demo/restored"
ZUULSTATE_AGE_IDENTITY_FILE="$demo/age-identity.txt" "$bin" restore "$id" --target "$demo/restored"

step "comparing the restore with the original"
for part in certs:certs ssh-keys:ssh_keys zuul-config:zuul_configuration; do
  name="${part%%:*}" dir="${part##*:}"
  diff -r --no-dereference "$demo/opt/zuul/$dir" "$demo/restored/$name" --exclude='*.tmp'
  (cd "$demo/opt/zuul/$dir" && find . ! -name '*.tmp' -printf '%p %m %U:%G %T@ %l\n' | sort) > "$demo/orig.list"
  (cd "$demo/restored/$name" && find . -printf '%p %m %U:%G %T@ %l\n' | sort) > "$demo/rest.list"
  diff "$demo/orig.list" "$demo/rest.list"
  echo "$name: contents, modes, owners, nanosecond mtimes and links identical"
done
test ! -e "$demo/restored/zuul-config/scratch.tmp" && echo "excluded *.tmp file was not backed up"

step "restoring again into the same target is refused (exit code 7)"
set +e
ZUULSTATE_AGE_IDENTITY_FILE="$demo/age-identity.txt" "$bin" restore "$id" --target "$demo/restored"
echo "exit code: $?"
set -e

step "zuulstate prune --dry-run (retention keep_last: 1)"
"$bin" prune --dry-run

printf '\n\033[1mdemo complete\033[0m: snapshot %s backed up to MinIO and restored identically.\n' "$id"
