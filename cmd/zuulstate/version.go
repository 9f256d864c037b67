package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are stamped by `make build` and `make dist`
// (-ldflags "-X main.version=… -X main.commit=…", from git describe), so
// a manifest, the run record and the metrics say which build wrote them.
var (
	version = ""
	commit  = ""
)

// toolVersion is the stamped version; a `go install …@vX` build has its
// module version instead, and a plain `go build` is "dev".
func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// toolCommit is the stamped commit, else the one the Go toolchain
// recorded (not with -buildvcs=false), else "unknown".
func toolCommit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// versionLine is what `zuulstate --version` prints.
func versionLine() string {
	return fmt.Sprintf("zuulstate %s (commit %s, %s, %s/%s)\n",
		toolVersion(), toolCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
