#!/usr/bin/env bash
# dev-services.sh starts, stops and describes the real services the
# integration tests talk to: two MariaDB servers, two ZooKeeper servers (plain
# and TLS client ports), a private Docker engine and a MinIO S3 server with TLS.
# Everything listens on loopback only and lives under one state directory.
#
#   scripts/dev-services.sh start    install what is missing, start what is down
#   scripts/dev-services.sh stop     stop everything this script started
#   scripts/dev-services.sh status   one line per service; non-zero if any is down
#   scripts/dev-services.sh env      export lines for the services that are up:
#                                    eval "$(scripts/dev-services.sh env)"
#
# ZUULSTATE_DEV_DIR (default /tmp/zuulstate-dev) holds data, logs, pid files,
# certificates and generated passwords; ZUULSTATE_CACHE (default
# ~/.cache/zuulstate) holds the MinIO server binary, built once with go install.
set -euo pipefail

PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

STATE=${ZUULSTATE_DEV_DIR:-/tmp/zuulstate-dev}
CACHE=${ZUULSTATE_CACHE:-${HOME:-/root}/.cache/zuulstate}
MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN=$CACHE/bin/minio

MARIADB_PROD_PORT=13306
MARIADB_DEV_PORT=13307
ZK_PROD_PORT=12181
ZK_DEV_PORT=12182
ZK_PROD_TLS_PORT=12281
ZK_DEV_TLS_PORT=12282
MINIO_PORT=19000
# The engine's TLS listener (what a remote engine looks like: DOCKER_HOST
# tcp://…:2376 with DOCKER_TLS_VERIFY); the unix socket stays plain.
DOCKER_TLS_PORT=12376
MINIO_CONSOLE_PORT=19001
S3_REGION=us-east-1
S3_BUCKETS=(zuulstate-test zuulstate-demo)
MARIADB_USER=zuulstate

CA=$STATE/ca
RUN=$STATE/run
SECRETS=$STATE/secrets
DOCKER_SOCK=$STATE/docker.sock
READY_TIMEOUT=${ZUULSTATE_DEV_TIMEOUT:-120}

ME=$(id -un)

say() { printf 'dev-services: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# fail reports a service that did not come up, with the end of its log.
fail() {
	local name=$1 log=$2
	shift 2
	say "error: $name: $*"
	if [[ -f $log ]]; then
		say "last lines of $log:"
		tail -n 40 "$log" | sed 's/^/    /' >&2
	fi
	exit 1
}

# ---------------------------------------------------------------- processes

# pid_of prints the pid recorded for service name if that process is alive
# and is the expected program (comm), so a recycled pid is never mistaken
# for the service.
pid_of() {
	local name=$1 comm=$2 f pid stat
	f=$RUN/$name.pid
	[[ -s $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$comm" ]] || return 1
	stat=$(<"/proc/$pid/stat") || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]] || return 1
	echo "$pid"
}

# launch runs a command in its own session, detached from this script, so it
# outlives it, and records its pid.
launch() {
	local name=$1 log=$2
	shift 2
	mkdir -p "$RUN"
	printf '\n==== %s: starting %s\n' "$(date -Is)" "$name" >>"$log"
	setsid "$@" >>"$log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

# wait_ready polls check (a command) until it succeeds, the process dies or
# the timeout passes.
wait_ready() {
	local name=$1 comm=$2 log=$3
	shift 3
	local deadline=$((SECONDS + READY_TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		pid_of "$name" "$comm" >/dev/null || fail "$name" "$log" "process exited during startup"
		((SECONDS < deadline)) || fail "$name" "$log" "not ready after ${READY_TIMEOUT}s"
		sleep 0.5
	done
}

stop_service() {
	local name=$1 comm=$2 pid i
	if ! pid=$(pid_of "$name" "$comm"); then
		rm -f "$RUN/$name.pid"
		say "$name: not running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 120; i++)); do
		pid_of "$name" "$comm" >/dev/null || break
		sleep 0.5
	done
	if pid_of "$name" "$comm" >/dev/null; then
		say "$name: still running after 60s, killing"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		sleep 1
	fi
	rm -f "$RUN/$name.pid"
	say "$name: stopped"
}

# port_open succeeds when something accepts connections on 127.0.0.1:port.
port_open() {
	# shellcheck disable=SC2016 # $1 expands in the inner shell
	timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

ensure_port_free() {
	local name=$1 port=$2
	if port_open "$port"; then
		die "$name: 127.0.0.1:$port is already in use by a process this script did not start"
	fi
}

# ---------------------------------------------------------------- install

as_root() {
	if [[ $(id -u) == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

install_packages() {
	local pkgs=()
	command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null &&
		command -v mariadb >/dev/null && command -v mariadb-admin >/dev/null || pkgs+=(mariadb-server)
	[[ -f /usr/share/java/zookeeper.jar ]] && command -v java >/dev/null || pkgs+=(zookeeper)
	command -v dockerd >/dev/null && command -v containerd >/dev/null || pkgs+=(docker.io)
	command -v openssl >/dev/null || pkgs+=(openssl)
	command -v curl >/dev/null || pkgs+=(curl)
	# The README's restore-without-zuulstate commands, tested by make test.
	command -v age >/dev/null || pkgs+=(age)
	command -v zstd >/dev/null || pkgs+=(zstd)
	# Tools make test needs beside the services, without recommends:
	# compose runs examples/compose for real, promtool checks
	# examples/prometheus (prometheus would bring node_exporter along; this
	# machine's policy-rc.d keeps the Prometheus server from starting,
	# elsewhere `systemctl disable --now prometheus` stops it). Debian's
	# docker-compose (1.29, Python) installs in seconds; the compose v2
	# plugin cannot be `go install`ed (its go.mod has exclude directives)
	# and built through a wrapper module took 7 minutes and 1.4 GB.
	local tools=()
	command -v docker-compose >/dev/null || tools+=(docker-compose)
	command -v promtool >/dev/null || tools+=(prometheus)
	((${#pkgs[@]} + ${#tools[@]})) || return 0
	say "installing ${pkgs[*]} ${tools[*]}"
	apt_get update
	((${#pkgs[@]} == 0)) || apt_get -y install "${pkgs[@]}"
	((${#tools[@]} == 0)) || apt_get -y install --no-install-recommends "${tools[@]}"
}

apt_get() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

go_cmd() {
	command -v go || { [[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go; }
}

install_minio() {
	local go have log
	go=$(go_cmd) || go=
	if [[ -x $MINIO_BIN ]]; then
		# A binary without a go toolchain to inspect it is trusted as is.
		[[ -n $go ]] || return 0
		have=$("$go" version -m "$MINIO_BIN" 2>/dev/null | awk '$1 == "mod" && $2 == "'"$MINIO_MODULE"'" { print $3 }')
		[[ $have != "$MINIO_VERSION" ]] || return 0
		say "minio: cached binary is ${have:-of unknown version}, want $MINIO_VERSION"
	fi
	[[ -n $go ]] || die "minio: no go toolchain to build $MINIO_MODULE@$MINIO_VERSION"
	mkdir -p "$CACHE/bin"
	log=$CACHE/minio-build.log
	say "minio: building $MINIO_MODULE@$MINIO_VERSION into $CACHE/bin (takes several minutes)"
	if ! (cd / && GOBIN=$CACHE/bin GOFLAGS='' "$go" install "$MINIO_MODULE@$MINIO_VERSION") >"$log" 2>&1; then
		fail minio "$log" "go install failed"
	fi
}

# ---------------------------------------------------------------- secrets, certificates

secret() {
	local f=$SECRETS/$1
	if [[ ! -s $f ]]; then
		mkdir -p "$SECRETS"
		chmod 700 "$SECRETS"
		(umask 077 && openssl rand -hex "$2" >"$f.tmp") && mv "$f.tmp" "$f"
	fi
	cat "$f"
}

# make_certs writes a test CA, a server certificate for localhost, 127.0.0.1
# and ::1, and a client certificate, all PEM, once.
make_certs() {
	local f missing=0 tmp
	for f in ca.crt ca.key server.crt server.key server-bundle.pem client.crt client.key; do
		[[ -s $CA/$f ]] || missing=1
	done
	((missing)) || return 0
	say "generating test CA and certificates in $CA"
	tmp=$(mktemp -d "$STATE/ca.tmp.XXXXXX")
	(
		cd "$tmp"
		umask 077
		openssl req -x509 -new -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
			-subj "/CN=zuulstate test CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign"
		cat >server.ext <<-'EOF'
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=serverAuth,clientAuth
			subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
		EOF
		cat >client.ext <<-'EOF'
			basicConstraints=CA:FALSE
			keyUsage=critical,digitalSignature,keyEncipherment
			extendedKeyUsage=clientAuth
			subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
		EOF
		for leaf in server client; do
			openssl req -new -newkey rsa:2048 -nodes -keyout "$leaf.key" -out "$leaf.csr" \
				-subj "/CN=zuulstate test $leaf"
			openssl x509 -req -in "$leaf.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
				-days 3650 -sha256 -extfile "$leaf.ext" -out "$leaf.crt"
		done
		cat server.key server.crt >server-bundle.pem
		chmod 644 ca.crt server.crt client.crt
		rm -f ./*.csr ./*.ext ca.srl
	) >"$tmp/openssl.log" 2>&1 || fail certificates "$tmp/openssl.log" "openssl failed"
	rm -f "$tmp/openssl.log"
	rm -rf "$CA"
	mv "$tmp" "$CA"
}

# ---------------------------------------------------------------- MariaDB

mariadb_dir() { echo "$STATE/mariadb-$1"; }

mariadb_root_ping() {
	mariadb-admin --no-defaults --socket="$(mariadb_dir "$1")/mariadb.sock" -uroot --connect-timeout=2 ping
}

# mariadb_up checks the server the way tests reach it: TCP, as zuulstate.
mariadb_up() {
	local port=$2 pw
	pw=$(cat "$SECRETS/mariadb-password" 2>/dev/null) || return 1
	MYSQL_PWD=$pw mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$port" \
		-u"$MARIADB_USER" --connect-timeout=2 ping
}

launch_mariadb() {
	local inst=$1 port=$2 name=mariadb-$1 dir
	dir=$(mariadb_dir "$inst")
	if pid_of "$name" mariadbd >/dev/null; then
		say "$name: already running"
		return 0
	fi
	ensure_port_free "$name" "$port"
	mkdir -p "$dir"
	if [[ ! -e $dir/initialized ]]; then
		rm -rf "$dir/data" "$dir/setup-done"
		mariadb-install-db --no-defaults --datadir="$dir/data" --user="$ME" \
			--auth-root-authentication-method=socket --auth-root-socket-user="$ME" \
			--skip-test-db >"$dir/install.log" 2>&1 ||
			fail "$name" "$dir/install.log" "mariadb-install-db failed"
		touch "$dir/initialized"
	fi
	rm -f "$dir/mariadb.sock"
	# prod writes a binary log (as a production server does) so backups record
	# binlog file/position and GTID; dev does not. Both keep the default
	# max_allowed_packet (16M): tests need values larger than it.
	local extra=()
	[[ $inst != prod ]] || extra=(--log-bin="$dir/binlog" --server-id=1 --binlog-format=ROW)
	launch "$name" "$dir/mariadbd.log" mariadbd --no-defaults \
		--datadir="$dir/data" --socket="$dir/mariadb.sock" --pid-file="$dir/mariadbd.pid" \
		--port="$port" --bind-address=127.0.0.1 --user="$ME" --skip-name-resolve "${extra[@]}"
	say "$name: started on 127.0.0.1:$port"
}

ready_mariadb() {
	local inst=$1 name=mariadb-$1 dir pw sql
	dir=$(mariadb_dir "$inst")
	wait_ready "$name" mariadbd "$dir/mariadbd.log" mariadb_root_ping "$inst"
	[[ ! -e $dir/setup-done ]] || return 0
	pw=$(secret mariadb-password 16)
	sql="
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$pw';
CREATE USER IF NOT EXISTS '$MARIADB_USER'@'localhost' IDENTIFIED BY '$pw';
ALTER USER '$MARIADB_USER'@'%' IDENTIFIED BY '$pw';
ALTER USER '$MARIADB_USER'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER'@'localhost' WITH GRANT OPTION;"
	[[ $inst != prod ]] || sql+="
CREATE DATABASE IF NOT EXISTS zuul;"
	mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot -e "$sql" >>"$dir/mariadbd.log" 2>&1 ||
		fail "$name" "$dir/mariadbd.log" "creating user $MARIADB_USER failed"
	touch "$dir/setup-done"
}

# ---------------------------------------------------------------- ZooKeeper

zk_classpath() {
	local j cp=/usr/share/java/zookeeper.jar
	for j in zookeeper-jute netty-buffer netty-codec netty-common netty-handler netty-resolver \
		netty-transport netty-transport-native-epoll netty-transport-native-unix-common \
		slf4j-api slf4j-log4j12 log4j-1.2 commons-cli commons-io commons-lang3 \
		jackson-annotations jackson-core jackson-databind metrics-core snappy-java; do
		[[ ! -f /usr/share/java/$j.jar ]] || cp+=:/usr/share/java/$j.jar
	done
	echo "$cp"
}

# zk_ruok asks the plain client port whether ZooKeeper is ok.
zk_ruok() {
	# shellcheck disable=SC2016 # $1 expands in the inner shell
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf ruok >&3 && [[ $(cat <&3) == imok ]]' _ "$1"
}

# zk_tls_ruok does the same over the TLS port, as a client presenting the
# client certificate and verifying the server's against the test CA.
zk_tls_ruok() {
	local out
	out=$(printf ruok | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$1" \
		-CAfile "$CA/ca.crt" -verify_return_error -verify_ip 127.0.0.1 \
		-cert "$CA/client.crt" -key "$CA/client.key" 2>/dev/null) || true
	[[ $out == imok ]]
}

# zk_tls_rejects_anonymous succeeds when the TLS port refuses a client that
# presents no certificate.
zk_tls_rejects_anonymous() {
	local out
	out=$(printf ruok | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$1" \
		-CAfile "$CA/ca.crt" 2>/dev/null) || true
	[[ $out != *imok* ]]
}

launch_zk() {
	local inst=$1 port=$2 tls_port=$3 name=zookeeper-$1 dir
	dir=$STATE/zookeeper-$inst
	if pid_of "$name" java >/dev/null; then
		say "$name: already running"
		return 0
	fi
	ensure_port_free "$name" "$port"
	ensure_port_free "$name" "$tls_port"
	mkdir -p "$dir/data"
	cat >"$dir/zoo.cfg" <<-EOF
		tickTime=2000
		initLimit=10
		syncLimit=5
		dataDir=$dir/data
		clientPort=$port
		clientPortAddress=127.0.0.1
		secureClientPort=$tls_port
		secureClientPortAddress=127.0.0.1
		maxClientCnxns=0
		admin.enableServer=false
		4lw.commands.whitelist=*
		serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
		ssl.keyStore.location=$CA/server-bundle.pem
		ssl.keyStore.type=PEM
		ssl.trustStore.location=$CA/ca.crt
		ssl.trustStore.type=PEM
		ssl.clientAuth=need
	EOF
	cat >"$dir/log4j.properties" <<-'EOF'
		log4j.rootLogger=INFO, CONSOLE
		log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
		log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
		log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
	EOF
	launch "$name" "$dir/zookeeper.log" java -Xmx512m \
		-Dzookeeper.extendedTypesEnabled=true \
		-Dzookeeper.admin.enableServer=false \
		-Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory \
		-Dlog4j.configuration="file:$dir/log4j.properties" \
		-cp "$(zk_classpath)" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg"
	say "$name: started on 127.0.0.1:$port, TLS 127.0.0.1:$tls_port"
}

ready_zk() {
	local inst=$1 port=$2 tls_port=$3 name=zookeeper-$1 log
	log=$STATE/zookeeper-$inst/zookeeper.log
	wait_ready "$name" java "$log" zk_ruok "$port"
	wait_ready "$name" java "$log" zk_tls_ruok "$tls_port"
	zk_tls_rejects_anonymous "$tls_port" ||
		fail "$name" "$log" "TLS port $tls_port accepts clients without a certificate"
}

# ---------------------------------------------------------------- Docker

docker_ping() {
	[[ $(curl -sf --max-time 5 --unix-socket "$DOCKER_SOCK" http://docker/_ping) == OK ]]
}

launch_docker() {
	local dir=$STATE/docker
	if pid_of docker dockerd >/dev/null; then
		say "docker: already running"
		return 0
	fi
	mkdir -p "$dir"
	[[ -s $dir/daemon.json ]] || echo '{}' >"$dir/daemon.json"
	# A killed dockerd (the end of a session) leaves its pid files behind and
	# refuses to start over them; nothing of ours runs, so they are stale.
	rm -f "$DOCKER_SOCK" "$dir/dockerd.pid" "$dir/exec/containerd/containerd.pid"
	ensure_port_free docker "$DOCKER_TLS_PORT"
	launch docker "$dir/dockerd.log" dockerd \
		--host="unix://$DOCKER_SOCK" --host="tcp://127.0.0.1:$DOCKER_TLS_PORT" \
		--tlsverify --tlscacert="$CA/ca.crt" --tlscert="$CA/server.crt" --tlskey="$CA/server.key" \
		--config-file="$dir/daemon.json" \
		--data-root="$dir/data" --exec-root="$dir/exec" --pidfile="$dir/dockerd.pid" \
		--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false
	say "docker: started on unix://$DOCKER_SOCK, TLS tcp://127.0.0.1:$DOCKER_TLS_PORT"
}

ready_docker() {
	wait_ready docker dockerd "$STATE/docker/dockerd.log" docker_ping
}

# ---------------------------------------------------------------- MinIO

minio_up() {
	curl -sf --max-time 5 --cacert "$CA/ca.crt" -o /dev/null "https://127.0.0.1:$MINIO_PORT/minio/health/live"
}

launch_minio() {
	local dir=$STATE/minio user pw
	if pid_of minio minio >/dev/null; then
		say "minio: already running"
		return 0
	fi
	ensure_port_free minio "$MINIO_PORT"
	ensure_port_free minio "$MINIO_CONSOLE_PORT"
	user=zs$(secret minio-user 6)
	pw=$(secret minio-password 20)
	mkdir -p "$dir/data" "$dir/certs/CAs"
	cp "$CA/server.crt" "$dir/certs/public.crt"
	cp "$CA/server.key" "$dir/certs/private.key"
	cp "$CA/ca.crt" "$dir/certs/CAs/ca.crt"
	launch minio "$dir/minio.log" env MINIO_ROOT_USER="$user" MINIO_ROOT_PASSWORD="$pw" \
		MINIO_UPDATE=off MINIO_CI_CD=1 \
		"$MINIO_BIN" server --address "127.0.0.1:$MINIO_PORT" \
		--console-address "127.0.0.1:$MINIO_CONSOLE_PORT" --certs-dir "$dir/certs" "$dir/data"
	say "minio: started on https://127.0.0.1:$MINIO_PORT"
}

ready_minio() {
	local log=$STATE/minio/minio.log user pw bucket code out
	wait_ready minio minio "$log" minio_up
	user=zs$(secret minio-user 6)
	pw=$(secret minio-password 20)
	out=$STATE/minio/bucket.out
	for bucket in "${S3_BUCKETS[@]}"; do
		code=$(curl -sS --max-time 20 --cacert "$CA/ca.crt" \
			--aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$user:$pw" \
			-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
			-X PUT -o "$out" -w '%{http_code}' "https://127.0.0.1:$MINIO_PORT/$bucket") || code=000
		if [[ $code == 200 ]] || grep -q BucketAlreadyOwnedByYou "$out" 2>/dev/null; then
			continue
		fi
		cat "$out" >>"$log" 2>/dev/null || true
		fail minio "$log" "creating bucket $bucket failed (HTTP $code)"
	done
	rm -f "$out"
}

# ---------------------------------------------------------------- commands

cmd_start() {
	local t0=$SECONDS
	install_packages
	install_minio
	mkdir -p "$STATE" "$RUN"
	make_certs
	secret mariadb-password 16 >/dev/null

	# Launch everything first, then wait: the servers start in parallel.
	launch_mariadb prod "$MARIADB_PROD_PORT"
	launch_mariadb dev "$MARIADB_DEV_PORT"
	launch_zk prod "$ZK_PROD_PORT" "$ZK_PROD_TLS_PORT"
	launch_zk dev "$ZK_DEV_PORT" "$ZK_DEV_TLS_PORT"
	launch_docker
	launch_minio

	ready_mariadb prod
	ready_mariadb dev
	ready_zk prod "$ZK_PROD_PORT" "$ZK_PROD_TLS_PORT"
	ready_zk dev "$ZK_DEV_PORT" "$ZK_DEV_TLS_PORT"
	ready_docker
	ready_minio
	say "all services up in $((SECONDS - t0))s (state in $STATE)"
}

cmd_stop() {
	stop_service minio minio
	stop_service docker dockerd
	stop_service zookeeper-prod java
	stop_service zookeeper-dev java
	stop_service mariadb-prod mariadbd
	stop_service mariadb-dev mariadbd
}

# up_* succeed when the service is running and answering.
up_mariadb() { pid_of "mariadb-$1" mariadbd >/dev/null && mariadb_up "$1" "$2" >/dev/null 2>&1; }
up_zk() { pid_of "zookeeper-$1" java >/dev/null && zk_ruok "$2" && zk_tls_ruok "$3"; }
up_docker() { pid_of docker dockerd >/dev/null && docker_ping; }
up_minio() { pid_of minio minio >/dev/null && minio_up; }

cmd_status() {
	local down=0
	report() {
		local name=$1 where=$2
		shift 2
		if "$@"; then
			printf '%-16s up    %s\n' "$name" "$where"
		else
			printf '%-16s down  %s\n' "$name" "$where"
			down=1
		fi
	}
	report mariadb-prod "127.0.0.1:$MARIADB_PROD_PORT" up_mariadb prod "$MARIADB_PROD_PORT"
	report mariadb-dev "127.0.0.1:$MARIADB_DEV_PORT" up_mariadb dev "$MARIADB_DEV_PORT"
	report zookeeper-prod "127.0.0.1:$ZK_PROD_PORT tls 127.0.0.1:$ZK_PROD_TLS_PORT" \
		up_zk prod "$ZK_PROD_PORT" "$ZK_PROD_TLS_PORT"
	report zookeeper-dev "127.0.0.1:$ZK_DEV_PORT tls 127.0.0.1:$ZK_DEV_TLS_PORT" \
		up_zk dev "$ZK_DEV_PORT" "$ZK_DEV_TLS_PORT"
	report docker "unix://$DOCKER_SOCK" up_docker
	report minio "https://127.0.0.1:$MINIO_PORT" up_minio
	return "$down"
}

cmd_env() {
	local mariadb=0 zk=0 inst port tls_port
	export_line() { printf 'export %s=%q\n' "$1" "$2"; }
	[[ -s $CA/ca.crt ]] || return 0
	export_line ZUULSTATE_TEST_TLS_CA_FILE "$CA/ca.crt"

	for inst in prod dev; do
		if [[ $inst == prod ]]; then port=$MARIADB_PROD_PORT; else port=$MARIADB_DEV_PORT; fi
		up_mariadb "$inst" "$port" || continue
		mariadb=1
		export_line "ZUULSTATE_TEST_MARIADB_${inst^^}_ADDR" "127.0.0.1:$port"
		export_line "ZUULSTATE_TEST_MARIADB_${inst^^}_SOCKET" "$(mariadb_dir "$inst")/mariadb.sock"
	done
	if ((mariadb)); then
		export_line ZUULSTATE_TEST_MARIADB_USER "$MARIADB_USER"
		export_line ZUULSTATE_TEST_MARIADB_PASSWORD "$(cat "$SECRETS/mariadb-password")"
	fi

	for inst in prod dev; do
		if [[ $inst == prod ]]; then
			port=$ZK_PROD_PORT tls_port=$ZK_PROD_TLS_PORT
		else
			port=$ZK_DEV_PORT tls_port=$ZK_DEV_TLS_PORT
		fi
		up_zk "$inst" "$port" "$tls_port" || continue
		zk=1
		export_line "ZUULSTATE_TEST_ZK_${inst^^}_ADDR" "127.0.0.1:$port"
		export_line "ZUULSTATE_TEST_ZK_${inst^^}_TLS_ADDR" "127.0.0.1:$tls_port"
	done
	if ((zk)); then
		export_line ZUULSTATE_TEST_ZK_CA_FILE "$CA/ca.crt"
		export_line ZUULSTATE_TEST_ZK_CERT_FILE "$CA/client.crt"
		export_line ZUULSTATE_TEST_ZK_KEY_FILE "$CA/client.key"
	fi

	if up_docker; then
		export_line ZUULSTATE_TEST_DOCKER_HOST "unix://$DOCKER_SOCK"
		if port_open "$DOCKER_TLS_PORT"; then
			export_line ZUULSTATE_TEST_DOCKER_TLS_HOST "tcp://127.0.0.1:$DOCKER_TLS_PORT"
			export_line ZUULSTATE_TEST_DOCKER_CERT_FILE "$CA/client.crt"
			export_line ZUULSTATE_TEST_DOCKER_KEY_FILE "$CA/client.key"
		fi
	fi

	if up_minio; then
		export_line ZUULSTATE_TEST_S3_ENDPOINT "127.0.0.1:$MINIO_PORT"
		export_line ZUULSTATE_TEST_S3_ACCESS_KEY "zs$(cat "$SECRETS/minio-user")"
		export_line ZUULSTATE_TEST_S3_SECRET_KEY "$(cat "$SECRETS/minio-password")"
		export_line ZUULSTATE_TEST_S3_BUCKET "${S3_BUCKETS[0]}"
		export_line ZUULSTATE_TEST_S3_REGION "$S3_REGION"
		export_line ZUULSTATE_TEST_S3_CA_FILE "$CA/ca.crt"
	fi
}

usage() {
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
}

[[ $# == 1 ]] || usage
case $1 in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) cmd_env ;;
*) usage ;;
esac
