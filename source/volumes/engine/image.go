package engine

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/api/types/image"
)

// HelperBinaryPath is where the helper image holds zuulstate.
const HelperBinaryPath = "/zuulstate"

// CheckStatic fails unless path is a statically linked ELF executable:
// the helper image has no libc, so a dynamically linked zuulstate could
// not start in it.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("helper binary %s: %w", path, err)
	}
	defer f.Close()
	libs, _ := f.ImportedLibraries()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			libs = append(libs, "a dynamic loader")
		}
	}
	if len(libs) > 0 {
		return fmt.Errorf("helper binary %s is dynamically linked (needs %v): the engine-API restore runs zuulstate inside a container without libc; build zuulstate with CGO_ENABLED=0 or point helper_binary at such a build", path, libs)
	}
	return nil
}

// HelperImage imports, once per run, the image helper containers are made
// from: binary (a static zuulstate) as /zuulstate, or nothing when binary
// is "" (backup helpers are never started; an empty image is enough).
// The tar is generated in a stream; nothing is pulled from a registry.
func (e *Engine) HelperImage(ctx context.Context, binary string) (string, error) {
	if e.image != "" {
		return e.image, nil
	}
	if binary != "" {
		if err := CheckStatic(binary); err != nil {
			return "", err
		}
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails
	ref := "zuulstate-helper:run-" + hex.EncodeToString(b)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeLayer(pw, binary)) }()
	defer pr.Close()
	rc, err := e.API.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, ref, image.ImportOptions{
		Changes: []string{
			"LABEL " + LabelHelper + "=true",
			"LABEL " + LabelOwner + "=" + e.owner,
			`CMD ["` + HelperBinaryPath + `"]`,
		},
	})
	if err != nil {
		return "", e.Wrap(err, "import helper image")
	}
	defer rc.Close()
	if err := importResult(rc); err != nil {
		return "", e.Wrap(err, "import helper image")
	}
	e.image = ref
	return ref, nil
}

// writeLayer writes the image's only layer: the binary, or nothing.
func writeLayer(w io.Writer, binary string) error {
	tw := tar.NewWriter(w)
	if binary != "" {
		f, err := os.Open(binary)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: HelperBinaryPath[1:], Mode: 0o755, Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, f); err != nil {
			return err
		}
	}
	return tw.Close()
}

// importResult reads the engine's JSON progress stream, which reports
// failures in-band with a 200 status.
func importResult(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read import progress: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}

// Finish removes the helper image this run imported. Helper containers
// are removed by their users; Finish runs after them.
func (e *Engine) Finish(ctx context.Context) error {
	if e.image == "" {
		return nil
	}
	_, err := e.API.ImageRemove(ctx, e.image, image.RemoveOptions{PruneChildren: true})
	if err != nil && !IsNotFound(err) {
		return e.Wrap(err, "remove helper image "+e.image+" (remove it by hand: docker rmi "+e.image+")")
	}
	e.image = ""
	return nil
}
