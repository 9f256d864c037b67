package volumes

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// copyAPI streams the item through a never-started helper container: the
// engine's archive of the mount, rewritten into dirtar's layout.
func (s *Snapshotter) copyAPI(ctx context.Context, eng *engine.Engine, it *item, w io.Writer) (dirtar.WriteStats, error) {
	img, err := eng.HelperImage(ctx, "")
	if err != nil {
		return dirtar.WriteStats{}, err
	}
	m := engine.Mount{Bind: it.path, ReadOnly: true}
	if it.kind == volumespart.KindVolume {
		m = engine.Mount{Volume: it.vol.Name, ReadOnly: true}
	}
	h, err := eng.CreateHelper(ctx, img, m, []string{engine.HelperBinaryPath}, false)
	if err != nil {
		return dirtar.WriteStats{}, err
	}
	defer func() {
		cctx, cancel := cleanupContext(ctx, 0)
		defer cancel()
		if err := h.Remove(cctx); err != nil {
			s.cfg.Log.Warn("helper container left behind", "error", err)
		}
	}()
	rc, err := h.CopyFrom(ctx, engine.HelperMountPath+"/.")
	if err != nil {
		return dirtar.WriteStats{}, err
	}
	defer rc.Close()
	return Reencode(ctx, rc, w, it.exclude)
}

// Reencode rewrites the engine's archive of a directory (entries "./",
// "./a", ...) into dirtar's layout: the root as "./", other names relative
// without "./", PAX headers with numeric owners only, and no records but
// xattrs. Entries matching exclude are dropped with their subtrees, like
// dirtar.Write does. It reads r to EOF.
func Reencode(ctx context.Context, r io.Reader, w io.Writer, exclude []string) (dirtar.WriteStats, error) {
	var st dirtar.WriteStats
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read the engine's archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := relName(hdr.Name)
		if name != "" && dirtar.Excluded(exclude, name) {
			continue
		}
		out, err := convert(hdr, name, exclude)
		if errors.Is(err, errSkip) {
			st.Skipped++
			continue
		}
		if err != nil {
			return st, err
		}
		if err := tw.WriteHeader(out); err != nil {
			return st, fmt.Errorf("%q: %w", name, err)
		}
		if out.Typeflag == tar.TypeReg {
			// Hide tar.Writer's ReaderFrom so our larger buffer is used.
			n, err := io.CopyBuffer(struct{ io.Writer }{tw}, &ctxReader{ctx: ctx, r: tr}, buf)
			if err != nil {
				return st, fmt.Errorf("%q: %w", name, err)
			}
			st.Bytes += n
		}
		count(&st, out.Typeflag)
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	_, err := io.Copy(io.Discard, r)
	return st, err
}

var errSkip = errors.New("skip entry")

// relName turns "./a/b/", "a/b" or "./" into "a/b" or "" (the root).
func relName(n string) string {
	n = strings.TrimPrefix(n, "./")
	n = strings.TrimSuffix(n, "/")
	if n == "." {
		return ""
	}
	return n
}

func convert(hdr *tar.Header, name string, exclude []string) (*tar.Header, error) {
	out := &tar.Header{
		Typeflag: hdr.Typeflag, Name: name, Mode: hdr.Mode & 0o7777,
		Uid: hdr.Uid, Gid: hdr.Gid, ModTime: hdr.ModTime, Format: tar.FormatPAX,
	}
	for k, v := range hdr.PAXRecords {
		if strings.HasPrefix(k, "SCHILY.xattr.") {
			if out.PAXRecords == nil {
				out.PAXRecords = map[string]string{}
			}
			out.PAXRecords[k] = v
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		out.Name = name + "/"
		if name == "" {
			out.Name = "./"
		}
	case tar.TypeReg:
		out.Size = hdr.Size
	case tar.TypeSymlink:
		out.Linkname = hdr.Linkname
	case tar.TypeLink:
		out.Linkname = relName(hdr.Linkname)
		if dirtar.Excluded(exclude, out.Linkname) {
			return nil, errSkip // its data went with the excluded first name
		}
	case tar.TypeFifo, tar.TypeChar, tar.TypeBlock:
		out.Devmajor, out.Devminor = hdr.Devmajor, hdr.Devminor
	default:
		return nil, fmt.Errorf("%q: unexpected entry type %q in the engine's archive", name, hdr.Typeflag)
	}
	if name == "" && hdr.Typeflag != tar.TypeDir {
		return nil, errors.New("the engine's archive does not start with a directory")
	}
	return out, nil
}

func count(st *dirtar.WriteStats, typ byte) {
	switch typ {
	case tar.TypeReg:
		st.Files++
	case tar.TypeDir:
		st.Dirs++
	case tar.TypeSymlink:
		st.Symlinks++
	case tar.TypeLink:
		st.Hardlinks++
	default:
		st.Other++
	}
}

// ctxReader makes a long copy cancellable.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
