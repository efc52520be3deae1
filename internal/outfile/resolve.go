package outfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxLinks bounds the symbolic links resolve follows, as the kernel bounds
// them (ELOOP).
const maxLinks = 40

// resolve follows the symbolic links of path to the name the output is
// written at. Unlike filepath.EvalSymlinks it stops at a name that does not
// exist, the target of a dangling link, where the output is then created;
// and at a link inside /proc, whose target is a kernel object (an open
// descriptor: a pipe, a socket, a deleted or appended-to file), not a name
// to rename over: proc reports it, and the output is opened through the
// link, which the kernel follows.
func resolve(path string) (name string, proc bool, err error) {
	p := path
	for range maxLinks {
		dir, base := filepath.Split(p)
		if base == "" || base == "." || base == ".." {
			return p, false, nil // a directory, or no name at all: Create says which
		}
		if dir == "" {
			dir = "."
		}
		if rdir, err := filepath.EvalSymlinks(dir); err == nil {
			p = filepath.Join(rdir, base)
		}
		st, err := os.Lstat(p)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return p, false, nil
		}
		if inProc(p) {
			return p, true, nil
		}
		dest, err := os.Readlink(p)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(dest) {
			// Not Join: cleaning "link/.." away would skip where the
			// link leads; the next round's EvalSymlinks resolves it.
			dest = filepath.Dir(p) + string(filepath.Separator) + dest
		}
		p = dest
	}
	return "", false, errors.New("too many levels of symbolic links")
}

// inProc reports whether p, its directory's links resolved, is inside /proc.
func inProc(p string) bool {
	abs, err := filepath.Abs(p)
	return err == nil && strings.HasPrefix(abs, "/proc/")
}
