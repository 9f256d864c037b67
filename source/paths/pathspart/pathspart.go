// Package pathspart is what both directions of the paths source share
// about its parts: the manifest metadata of a copied host directory. The
// archive inside is dirtar's.
package pathspart

import "github.com/zuulstate/zuulstate/dirtar"

// SourceName is the source name recorded in manifests.
const SourceName = "paths"

// Meta is recorded in the manifest for each part.
type Meta struct {
	Path    string            `json:"path"`
	Exclude []string          `json:"exclude,omitempty"`
	Stats   dirtar.WriteStats `json:"stats"`
}
