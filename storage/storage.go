// Package storage defines the object-store contract that every repository
// backend (local directory, S3) implements, and the errors callers can test for.
//
// Keys are slash-separated and relative to the backend's root (bucket prefix or
// directory). A backend never interprets keys beyond that.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors. Backends wrap them with %w so callers use errors.Is and the
// CLI can map them to exit codes and advice.
var (
	// ErrNotFound: the object (or, for Stat/Get, the key) does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrAccessDenied: the credentials were rejected or lack permission.
	ErrAccessDenied = errors.New("access denied")
	// ErrNoBucket: the configured bucket (or local root directory) does not exist.
	ErrNoBucket = errors.New("repository location does not exist")
	// ErrUnreachable: the backend could not be contacted at all.
	ErrUnreachable = errors.New("storage unreachable")
	// ErrShortObject: a ranged read reaches past the object's end.
	ErrShortObject = errors.New("object is shorter than the requested range")
	// ErrRetained: the object is under a retention (S3 Object Lock) that
	// forbids deleting it yet.
	ErrRetained = errors.New("object is retained")
)

// Retainer is implemented by stores that write some objects with a
// retention period (S3 Object Lock). RetainedUntil returns the time before
// which key cannot be deleted, or the zero time if it can be now.
type Retainer interface {
	RetainedUntil(ctx context.Context, key string) (time.Time, error)
}

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is the object-store contract. Put must be atomic: a reader sees either
// the complete previous object, the complete new one, or nothing; an aborted Put
// (reader error or cancelled context) leaves no visible object behind.
type Store interface {
	// Put stores everything read from r under key, replacing any existing
	// object. The length of r is not known in advance.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens the object for streaming. The caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange opens length bytes of the object starting at offset. A
	// range that reaches past the end of the object is an error wrapping
	// ErrShortObject (the object is not what the caller's index says).
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat returns the object's metadata or an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for each object whose key starts with prefix, in
	// lexical key order. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Delete removes the object. Deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// String names the location for messages (never includes credentials).
	String() string
}
