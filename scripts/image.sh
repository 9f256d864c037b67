#!/usr/bin/env bash
# image.sh builds the zuulstate container image (Dockerfile) around a
# static binary with the classic builder: FROM scratch needs no registry,
# so it builds on a machine that cannot pull anything. `make image` calls
# it; IMAGE, VERSION and COMMIT come from the Makefile.
#
#   scripts/image.sh check           one line and exit 1 when no engine answers
#   scripts/image.sh build BINARY    tag IMAGE:VERSION and IMAGE:latest
#
# The engine: $DOCKER_HOST when set, else the dev engine of
# scripts/dev-services.sh when it runs, else the docker client's default.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-zuulstate}
VERSION=${VERSION:-unknown}
COMMIT=${COMMIT:-unknown}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

say() { printf 'image: %s\n' "$*" >&2; }

choose_engine() {
	[[ -z ${DOCKER_HOST:-} ]] || return 0
	local dev
	dev=$(eval "$(scripts/dev-services.sh env 2>/dev/null)" && echo "${ZUULSTATE_TEST_DOCKER_HOST:-}") || dev=
	[[ -z $dev ]] || export DOCKER_HOST=$dev
}

check() {
	if ! command -v docker >/dev/null; then
		say "error: no docker client: apt-get install docker.io"
		exit 1
	fi
	if ! timeout 30 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
		say "error: no Docker engine answers at ${DOCKER_HOST:-the default socket}: start one (scripts/dev-services.sh start for the dev engine, or systemctl start docker) or set DOCKER_HOST"
		exit 1
	fi
}

build() {
	local binary=$1 context size
	[[ -x $binary ]] || { say "error: $binary is not an executable (run make image)"; exit 1; }
	[[ -s $CA_BUNDLE ]] || { say "error: no CA bundle at $CA_BUNDLE: apt-get install ca-certificates"; exit 1; }
	context=$(mktemp -d "${TMPDIR:-/tmp}/zuulstate-image.XXXXXX")
	# shellcheck disable=SC2064 # expand now: context is local
	trap "rm -rf '$context'" EXIT
	cp Dockerfile "$context/Dockerfile"
	cp "$binary" "$context/zuulstate"
	cp "$CA_BUNDLE" "$context/ca-certificates.crt"
	printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n' >"$context/passwd"
	printf 'root:x:0:\nnonroot:x:65532:\n' >"$context/group"
	chmod 644 "$context"/{Dockerfile,ca-certificates.crt,passwd,group}
	chmod 755 "$context/zuulstate"
	say "building $IMAGE:$VERSION against ${DOCKER_HOST:-the default engine}"
	# The legacy builder: BuildKit would want its buildx plugin and a
	# frontend image, neither of which this machine can fetch. Newer
	# clients warn about that on every build: the output is shown only
	# when the build fails.
	local out
	if ! out=$(DOCKER_BUILDKIT=0 docker build --quiet --build-arg "VERSION=$VERSION" --build-arg "COMMIT=$COMMIT" \
		-t "$IMAGE:$VERSION" -t "$IMAGE:latest" "$context" 2>&1); then
		printf '%s\n' "$out" >&2
		say "error: docker build failed"
		exit 1
	fi
	size=$(docker image inspect -f '{{.Size}}' "$IMAGE:$VERSION")
	say "built $IMAGE:$VERSION and $IMAGE:latest ($((size / 1024)) KiB)"
}

choose_engine
case ${1:-} in
check) check ;;
build)
	[[ $# == 2 ]] || { say "usage: $0 build BINARY"; exit 2; }
	check
	build "$2"
	;;
*)
	say "usage: $0 check|build BINARY"
	exit 2
	;;
esac
