package outfile

import (
	"os"
	"path/filepath"
	"strings"
)

// tempSuffixLen is the length of the random part of a temporary file's
// name: 6 bytes in hex.
const tempSuffixLen = 12

// isTempOf reports whether name is one of the temporary files of the file
// named base, as createTemp names them.
func isTempOf(name, base string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix(base))
	if !ok || len(rest) != tempSuffixLen {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// removeStale removes the temporary files of the file named base in dir
// that no process holds locked, own (the caller's, locked) aside, and
// returns their paths. A temporary file's writer holds its lock from just
// after creating it until it is renamed or removed, and the kernel drops
// the lock when the writer dies, even by SIGKILL: an unlocked one was left
// by a process that is gone. Failures are not errors: a stale file left in
// place costs only its room.
func removeStale(dir, base string, own *os.File) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range es {
		path := filepath.Join(dir, e.Name())
		if !isTempOf(e.Name(), base) || path == own.Name() || !e.Type().IsRegular() {
			continue
		}
		if removeIfStale(path) {
			removed = append(removed, path)
		}
	}
	return removed
}

// removeIfStale removes the file at path if no process holds its lock and
// it is still, once locked, the file at that name.
func removeIfStale(path string) bool {
	f := lockStale(path)
	if f == nil {
		return false
	}
	defer f.Close()
	st, err1 := f.Stat()
	now, err2 := os.Lstat(path)
	if err1 != nil || err2 != nil || !os.SameFile(st, now) {
		return false
	}
	return os.Remove(path) == nil
}
