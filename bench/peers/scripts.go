package peers

import (
	"embed"
	"os"
	"path/filepath"
)

// The peers' Python travels inside the binary, so that a benchmark runs them
// from any directory.
//
//go:embed bitjob.py celery_job.py pool_job.py
var scripts embed.FS

// writeScripts copies the peers' Python into a new temporary directory and
// returns its path; the caller removes it.
func writeScripts() (string, error) {
	dir, err := os.MkdirTemp("", "bitqueue-peers-")
	if err != nil {
		return "", err
	}
	entries, err := scripts.ReadDir(".")
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	for _, e := range entries {
		b, err := scripts.ReadFile(e.Name())
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}
