package config

import (
	"fmt"
	"path"
	"path/filepath"

	"github.com/zuulstate/zuulstate/snapshot"
)

// PathItems is sources.paths: host directories, each backed up as one
// tar part named after the item.
type PathItems []PathItem

// PathItem is one host directory backed up as a tar stream.
type PathItem struct {
	Name    string   `yaml:"name"`
	Path    string   `yaml:"path"`
	Exclude []string `yaml:"exclude,omitempty"`
}

// PathsRestore says where paths parts go: DIR/<part name>, or back where
// they were taken from.
type PathsRestore struct {
	Dir      string `yaml:"dir,omitempty"`
	Original bool   `yaml:"original,omitempty"`
}

func (PathItems) resolveSecrets(string, func(string) string) error { return nil }

func (items PathItems) validate(where string) []error {
	var errs []error
	names := map[string]bool{}
	for i, p := range items {
		where := fmt.Sprintf("%s[%d]", where, i)
		if err := snapshot.CheckName(where, p.Name); err != nil {
			errs = append(errs, err)
		}
		if names[p.Name] {
			errs = append(errs, fmt.Errorf("%s: name %q is used twice", where, p.Name))
		}
		names[p.Name] = true
		if !filepath.IsAbs(p.Path) {
			errs = append(errs, fmt.Errorf("%s: path %q must be absolute", where, p.Path))
		}
		for _, g := range p.Exclude {
			if _, err := path.Match(g, ""); err != nil {
				errs = append(errs, fmt.Errorf("%s: exclude pattern %q: %w", where, g, err))
			}
		}
	}
	return errs
}

func (p *PathsRestore) validate(where string) []error {
	switch {
	case p == nil:
	case p.Dir != "" && p.Original:
		return []error{fmt.Errorf("%s: set dir or original, not both", where)}
	case p.Dir == "" && !p.Original:
		return []error{fmt.Errorf("%s: set dir (each part goes to DIR/<part name>) or original: true", where)}
	case p.Dir != "" && !filepath.IsAbs(p.Dir):
		return []error{fmt.Errorf("%s.dir %q must be an absolute path", where, p.Dir)}
	}
	return nil
}
