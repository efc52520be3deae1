package cli

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	stamped := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "eabbbd9c0ffee"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want BuildInfo
		line string
	}{
		{"clean tree", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: stamped("false")},
			BuildInfo{Version: "v1.2.3", Revision: "eabbbd9c0ffee", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.26.0"},
			"v1.2.3 (eabbbd9c0ffee, go1.26.0)"},
		{"modified tree", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20261201100000-eabbbd9c0ffe+dirty"}, Settings: stamped("true")},
			BuildInfo{Version: "v0.0.0-20261201100000-eabbbd9c0ffe+dirty", Revision: "eabbbd9c0ffee", Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.0"},
			"v0.0.0-20261201100000-eabbbd9c0ffe+dirty (eabbbd9c0ffee, modified, go1.26.0)"},
		{"no VCS stamp", debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			BuildInfo{Version: "(devel)", Revision: "unknown", GoVersion: "go1.26.0"},
			"(devel) (unknown, go1.26.0)"},
		{"no version", debug.BuildInfo{GoVersion: "go1.26.0"},
			BuildInfo{Version: "(devel)", Revision: "unknown", GoVersion: "go1.26.0"},
			"(devel) (unknown, go1.26.0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := buildInfo(&tt.bi)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.line, got.String())
		})
	}
}
