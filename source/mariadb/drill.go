package mariadb

import (
	"context"
	"errors"
	"fmt"

	"github.com/zuulstate/zuulstate/config"
	restoremariadb "github.com/zuulstate/zuulstate/restore/mariadb"
	"github.com/zuulstate/zuulstate/snapshot"
	"github.com/zuulstate/zuulstate/source"
)

// maxDatabaseName is MariaDB's limit on database names, in characters;
// scratch names are ASCII.
const maxDatabaseName = 64

// drillScratch restores every database of a snapshot under a scratch name
// on the target's server; users and grants (server-wide) are never loaded.
type drillScratch struct {
	r      source.DrillRequest
	config restoremariadb.Config
	// admin checks and drops scratch databases; it maps nothing.
	admin *restoremariadb.Restorer
	built *restoremariadb.Restorer
}

func drill(r source.DrillRequest) (source.Scratch, error) {
	conn, _, workers, ok := r.Config.MariaDBTarget()
	if !ok {
		return nil, fmt.Errorf("%w: this snapshot has mariadb parts: configure the target's mariadb (or %s) to say which server the drill uses", config.ErrInvalid, section)
	}
	tlsConfig, err := conn.TLS.TLSConfig()
	if err != nil {
		return nil, err
	}
	c := restoremariadb.Config{Addr: conn.Addr, Socket: conn.Socket, User: conn.User, Password: conn.Password.Reveal(), TLS: tlsConfig,
		Workers: workers, Log: r.Log, Out: r.Out}
	return &drillScratch{r: r, config: c, admin: restoremariadb.New(c)}, nil
}

func (d *drillScratch) Plan(ctx context.Context, parts []snapshot.Part) (source.ScratchPlan, error) {
	databases, serverWide, err := restoremariadb.Databases(parts)
	if err != nil {
		return source.ScratchPlan{}, err
	}
	c := d.config
	c.DBMap = map[string]string{}
	var names []source.ScratchName
	for _, db := range databases {
		scratch := source.ScratchNameFor(d.r.Prefix, db, "-", maxDatabaseName)
		c.DBMap[db] = scratch
		names = append(names, source.ScratchName{Source: Source.Name, Kind: "database", Name: scratch, Where: "mariadb " + d.admin.Addr()})
	}
	d.built = restoremariadb.New(c)
	return source.ScratchPlan{Restorer: d.built, Destination: fmt.Sprintf("mariadb %s as %s, databases renamed %s…", d.admin.Addr(), c.User, d.r.Prefix),
		Names: names, Unloaded: serverWide}, nil
}

func (d *drillScratch) Existing(ctx context.Context, names []source.ScratchName) ([]source.ScratchName, error) {
	found, err := d.admin.ExistingDatabases(ctx, source.Names(names))
	if err != nil {
		return nil, err
	}
	return source.Pick(names, found), nil
}

func (d *drillScratch) Remove(ctx context.Context, names []source.ScratchName) error {
	if err := source.RefuseForeign(names); err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if err := d.admin.DropDatabase(ctx, n.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (d *drillScratch) Close() error {
	err := d.admin.Close()
	if d.built != nil {
		err = errors.Join(err, d.built.Close())
	}
	return err
}
