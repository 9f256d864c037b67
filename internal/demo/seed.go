package demo

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/zuulstate/zuulstate/config"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/zookeeper/zkconn"
)

// Services are the connections Seed needs; the prod database itself is
// filled by scripts/zuuldb.
type Services struct {
	Engine        *engine.Engine
	ZKProd, ZKDev *zkconn.Client // without chroot: Seed manages s.ZKRoot
	DevDB         *sql.DB        // the dev MariaDB server
	Log           func(format string, args ...any)
}

// Seed builds prod (host directories, volume, container, ZooKeeper tree)
// and empties the dev side (its directories, volume, ZooKeeper chroot and
// database), replacing whatever an earlier run left.
func Seed(ctx context.Context, s Setup, sv *Services) error {
	log := sv.Log
	if log == nil {
		log = func(string, ...any) {}
	}
	if err := os.RemoveAll(filepath.Join(s.Dir, "srv")); err != nil {
		return err
	}
	log("host directories under %s (certs, zuul_configuration, ssh_keys, compose)", s.ProdRoot())
	if err := WriteHostFiles(s); err != nil {
		return fmt.Errorf("host files: %w", err)
	}
	log("volume %s with the logs of %d builds; container %s running with the bind mounts", s.Volume, s.Builds, s.Container)
	if err := SeedDocker(ctx, sv.Engine, s); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	log("zookeeper tree under %s: /keystorage, /keystorage-oidc, /zuul-system, /nodepool, /zuul", s.ZKRoot)
	if err := SeedZooKeeper(ctx, sv.ZKProd, sv.ZKDev, s.ZKRoot); err != nil {
		return err
	}
	log("dev side emptied: database %s, volume %s, %s", s.DevDB, s.DevVolume, filepath.Join(s.Dir, "srv"))
	q := "`" + strings.ReplaceAll(s.DevDB, "`", "``") + "`"
	if _, err := sv.DevDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+q); err != nil {
		return fmt.Errorf("dev mariadb: drop %s: %w", s.DevDB, err)
	}
	return nil
}

// Connect opens the Services from the dev services' environment
// (scripts/dev-services.sh env); Close them when done.
func Connect(ctx context.Context, getenv func(string) string) (*Services, error) {
	env := map[string]string{}
	for _, name := range []string{"ZUULSTATE_TEST_DOCKER_HOST", "ZUULSTATE_TEST_ZK_PROD_TLS_ADDR", "ZUULSTATE_TEST_ZK_DEV_TLS_ADDR",
		"ZUULSTATE_TEST_ZK_CA_FILE", "ZUULSTATE_TEST_ZK_CERT_FILE", "ZUULSTATE_TEST_ZK_KEY_FILE",
		"ZUULSTATE_TEST_MARIADB_DEV_ADDR", "ZUULSTATE_TEST_MARIADB_USER", "ZUULSTATE_TEST_MARIADB_PASSWORD"} {
		if env[name] = getenv(name); env[name] == "" {
			return nil, fmt.Errorf("%s is not set: run scripts/dev-services.sh start, then eval \"$(scripts/dev-services.sh env)\"", name)
		}
	}
	sv := &Services{}
	var err error
	if sv.Engine, err = engine.Connect(ctx, engine.Conn{Host: env["ZUULSTATE_TEST_DOCKER_HOST"]}, nil); err != nil {
		return nil, err
	}
	tlsCfg, err := (&config.TLSConf{CAFile: env["ZUULSTATE_TEST_ZK_CA_FILE"], CertFile: env["ZUULSTATE_TEST_ZK_CERT_FILE"],
		KeyFile: env["ZUULSTATE_TEST_ZK_KEY_FILE"]}).TLSConfig()
	if err != nil {
		sv.Close()
		return nil, err
	}
	for _, z := range []struct {
		c    **zkconn.Client
		addr string
	}{{&sv.ZKProd, env["ZUULSTATE_TEST_ZK_PROD_TLS_ADDR"]}, {&sv.ZKDev, env["ZUULSTATE_TEST_ZK_DEV_TLS_ADDR"]}} {
		*z.c, err = zkconn.Connect(ctx, zkconn.Config{Servers: []string{z.addr}, TLS: tlsCfg.Clone(), ConnectTimeout: 20 * time.Second})
		if err != nil {
			sv.Close()
			return nil, fmt.Errorf("zookeeper %s: %w", z.addr, err)
		}
	}
	mc := mysql.NewConfig()
	mc.Net, mc.Addr, mc.User, mc.Passwd = "tcp", env["ZUULSTATE_TEST_MARIADB_DEV_ADDR"], env["ZUULSTATE_TEST_MARIADB_USER"], env["ZUULSTATE_TEST_MARIADB_PASSWORD"]
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		sv.Close()
		return nil, err
	}
	sv.DevDB = sql.OpenDB(conn)
	return sv, nil
}

// Close closes every open connection.
func (sv *Services) Close() {
	if sv.Engine != nil {
		sv.Engine.Close()
	}
	for _, c := range []*zkconn.Client{sv.ZKProd, sv.ZKDev} {
		if c != nil {
			c.Close()
		}
	}
	if sv.DevDB != nil {
		sv.DevDB.Close()
	}
}
