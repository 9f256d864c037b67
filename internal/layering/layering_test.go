package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/zuulstate/zuulstate/"

// rule forbids packages whose module-relative path matches from to depend,
// directly or not, on packages matching to.
type rule struct {
	from, to string
	why      string
}

// Descriptors are source and source/<name>; what both directions of a
// source share is below them (source/<name>/<package>).
const (
	backupSide  = `^backup(/.*)?$`
	restoreSide = `^restore(/.*)?$`
	descriptors = `^source(/[^/]+)?$`
	shared      = `^source/[^/]+/.+$`
	core        = `^job$`
)

var rules = []rule{
	{restoreSide, backupSide, "the two directions share code only through neutral packages"},
	{backupSide, restoreSide, "the two directions share code only through neutral packages"},
	{backupSide, descriptors + `|` + core, "a direction does not know how it is wired"},
	{restoreSide, descriptors + `|` + core, "a direction does not know how it is wired"},
	{shared, backupSide + `|` + restoreSide + `|` + descriptors + `|` + core + `|^config$`, "shared code sits below both directions and the configuration"},
	{`^config$`, backupSide + `|` + restoreSide + `|^source(/.*)?$|` + core, "the configuration sits below every source"},
	{`^snapdiff$`, backupSide + `|` + restoreSide + `|` + descriptors + `|` + core, "diff reads parts through the shared formats"},
	{`^(backup|restore|source|config|repository|snapshot|storage|snapdiff|monitor|dirtar|sqlstream)(/.*)?$`, core + `|^cmd/`, "only the CLI calls the jobs"},
}

type pkg struct {
	ImportPath string
	Deps       []string
}

// TestImportRules checks every rule against `go list -deps` of the module.
func TestImportRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages: run from the module", len(pkgs))
	}
	checked := 0
	for _, r := range rules {
		from, to := regexp.MustCompile(r.from), regexp.MustCompile(r.to)
		for _, p := range pkgs {
			rel, ok := strings.CutPrefix(p.ImportPath, module)
			if !ok || !from.MatchString(rel) {
				continue
			}
			checked++
			for _, d := range p.Deps {
				if dep, ok := strings.CutPrefix(d, module); ok && to.MatchString(dep) {
					t.Errorf("%s depends on %s: %s", rel, dep, r.why)
				}
			}
		}
	}
	t.Logf("%d rules checked on %d packages (%d package-rule pairs)", len(rules), len(pkgs), checked)
}
