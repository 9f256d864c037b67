package repository

import "github.com/zuulstate/zuulstate/storage"

// WrapStore returns a repository with r's options over wrap(r's store),
// for a store that adds behaviour around another (tests aim faults and
// kills with it).
func (r *Repository) WrapStore(wrap func(storage.Store) storage.Store) *Repository {
	return New(wrap(r.store), r.opts)
}
