package cli

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
)

// ErrVersion is what Parse returns for --version: Run prints Version and
// the command exits 0.
var ErrVersion = errors.New("version requested")

// BuildInfo says which build of bitqueue is running.
type BuildInfo struct {
	Version   string // module version, "(devel)" for a build from a work tree without VCS stamping
	Revision  string // VCS revision, "unknown" when the build has none
	Time      string // time of the revision, RFC 3339, empty when unknown
	Modified  bool   // the work tree had changes not in Revision
	GoVersion string // the Go toolchain that built the binary
}

// Build returns the BuildInfo of the running binary, from
// runtime/debug.ReadBuildInfo.
func Build() BuildInfo {
	b := BuildInfo{Version: "(devel)", Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	return buildInfo(bi)
}

func buildInfo(bi *debug.BuildInfo) BuildInfo {
	b := BuildInfo{Version: bi.Main.Version, Revision: "unknown", GoVersion: bi.GoVersion}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String formats b as "VERSION (REVISION[, modified], GOVERSION)".
func (b BuildInfo) String() string {
	rev := b.Revision
	if b.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("%s (%s, %s)", b.Version, rev, b.GoVersion)
}

// Version is the line --version prints: "NAME VERSION (REVISION[, modified],
// GOVERSION)".
func Version(name string) string { return name + " " + Build().String() }
