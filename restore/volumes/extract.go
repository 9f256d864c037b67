package volumes

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/zuulstate/zuulstate/dirtar"
	"github.com/zuulstate/zuulstate/source/volumes/engine"
	"github.com/zuulstate/zuulstate/source/volumes/volumespart"
)

// HelperCommand is the hidden zuulstate subcommand a restore helper runs:
// HelperCommand... "extract" DIR [flags], archive on stdin, ExtractStats
// as JSON on stdout.
var HelperCommand = []string{"volumes-helper", "extract"}

// Helper flags, shared with the command's definition.
const (
	FlagReplace      = "--replace"
	FlagAllowDevices = "--allow-devices"
)

func (r *Restorer) options() dirtar.ExtractOptions {
	return dirtar.ExtractOptions{Staged: true, Replace: r.cfg.Force, NoDevices: !r.cfg.AllowDevices, Owners: os.Geteuid() == 0}
}

// extract writes the stream into the target the chosen way.
func (r *Restorer) extract(ctx context.Context, eng *engine.Engine, t *target, src io.Reader) (dirtar.ExtractStats, error) {
	if t.way == volumespart.WayDirect {
		return dirtar.Extract(ctx, src, t.path, r.options())
	}
	img, err := r.image(ctx, eng)
	if err != nil {
		return dirtar.ExtractStats{}, err
	}
	cmd := append([]string{engine.HelperBinaryPath}, HelperCommand...)
	cmd = append(cmd, engine.HelperMountPath)
	if r.cfg.Force {
		cmd = append(cmd, FlagReplace)
	}
	if r.cfg.AllowDevices {
		cmd = append(cmd, FlagAllowDevices)
	}
	h, err := eng.CreateHelper(ctx, img, mountOf(t), cmd, true)
	if err != nil {
		return dirtar.ExtractStats{}, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if err := h.Remove(cctx); err != nil {
			r.cfg.Log.Warn("helper container left behind", "error", err)
		}
	}()
	out, err := h.Run(ctx, src)
	if err != nil {
		return dirtar.ExtractStats{}, err
	}
	var stats dirtar.ExtractStats
	if err := json.Unmarshal(out, &stats); err != nil {
		return stats, fmt.Errorf("helper container printed no result (%q): %w", out, err)
	}
	return stats, nil
}

// image imports the helper image holding the static zuulstate, once.
func (r *Restorer) image(ctx context.Context, eng *engine.Engine) (string, error) {
	bin, err := r.helperBinary()
	if err != nil {
		return "", err
	}
	return eng.HelperImage(ctx, bin)
}

// HelperExtract is the helper side of the API way: it extracts the
// archive on in into dir with the restore's options and writes the stats
// as JSON to out. Run by the hidden volumes-helper command inside the
// helper container, as root.
func HelperExtract(ctx context.Context, in io.Reader, out io.Writer, dir string, replace, allowDevices bool) error {
	opts := dirtar.ExtractOptions{Staged: true, Replace: replace, NoDevices: !allowDevices, Owners: true}
	stats, err := dirtar.Extract(ctx, in, dir, opts)
	if err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(stats)
}
