// Package codec names the compressions a snapshot can record and gives each
// one's encoders and decoders: a streaming decoder for format 2 parts (one
// stream of frames per part) and block encode/decode for format 3 chunks
// (one frame per chunk). Writers stamp the name they used; readers pick the
// codec by that name, so adding a compression is one new file here.
package codec

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
)

// Default is the compression new parts and chunks are written with.
const Default = "zstd"

// Codec is one compression.
type Codec interface {
	// Name is what manifests and indexes record ("zstd").
	Name() string
	// Ext is the file extension of a stored stream (".zst"), so an
	// operator can tell how to decode an object by hand.
	Ext() string
	// NewStreamReader decodes a whole stored stream.
	NewStreamReader(r io.Reader) (io.ReadCloser, error)
	// EncodeBlock appends the compressed form of src at level (0 means
	// the codec's default) to dst. Safe for concurrent use.
	EncodeBlock(dst, src []byte, level int) ([]byte, error)
	// DecodeBlock appends the decompressed src to dst and fails when the
	// output would pass maxSize bytes, so a forged block cannot bomb
	// memory. Safe for concurrent use.
	DecodeBlock(dst, src []byte, maxSize int) ([]byte, error)
}

var (
	mu       sync.RWMutex
	registry = map[string]Codec{}
)

// Register makes c available by its name; a codec file calls it from init.
func Register(c Codec) {
	mu.Lock()
	defer mu.Unlock()
	registry[c.Name()] = c
}

// Lookup returns the codec recorded as name.
func Lookup(name string) (Codec, error) {
	mu.RLock()
	c, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown compression %q (this zuulstate reads %v): upgrade zuulstate", name, Names())
	}
	return c, nil
}

// Names lists the registered codecs.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return slices.Clip(names)
}
