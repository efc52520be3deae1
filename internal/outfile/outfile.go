// Package outfile writes an output file whole or not at all: the bytes go to
// a temporary file beside it, renamed over it once complete, so that a
// reader never sees half an output and a failed run leaves the old file (or
// none) in place.
package outfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is an output being written. Its zero value is not usable: see Create.
type File struct {
	path   string      // where the output lands: the target of a symbolic link
	target os.FileInfo // what path names now, nil when nothing
	tmp    *os.File
}

// Create prepares to write the file at path: it creates the temporary file
// beside it at once, so that a directory that does not exist or cannot be
// written to is found before any work is done. A symbolic link at path is
// followed: the file it points to is replaced. A path naming a directory is
// refused. Errors do not repeat path: the caller names it. The new file gets the mode of the file it replaces, or 0666 less
// the umask.
func Create(path string) (*File, error) {
	f := &File{path: path}
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		f.path = resolved
	}
	st, err := os.Stat(f.path)
	switch {
	case err == nil && st.IsDir():
		return nil, errors.New("is a directory")
	case err == nil:
		f.target = st
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	for range 100 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(b[:]))
		tmp, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot create a file in its directory %s: %w", filepath.Clean(dir), unwrapPath(err))
		}
		f.tmp = tmp
		if f.target != nil {
			if err := tmp.Chmod(f.target.Mode().Perm()); err != nil {
				f.Abort()
				return nil, err
			}
		}
		return f, nil
	}
	return nil, fmt.Errorf("cannot create a file in its directory %s: no free temporary name", filepath.Clean(dir))
}

// Same reports whether the output would replace the file st describes: the
// same file, whatever path, symbolic or hard link names it.
func (f *File) Same(st os.FileInfo) bool {
	return f.target != nil && st != nil && os.SameFile(f.target, st)
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) {
	if f.tmp == nil {
		return 0, errors.New("outfile: write after Commit or Abort")
	}
	return f.tmp.Write(p)
}

// Commit makes the output durable and renames it over the file's path. On
// error the temporary file is removed and the path left as it was.
func (f *File) Commit() error {
	if f.tmp == nil {
		return errors.New("outfile: Commit after Commit or Abort")
	}
	tmp := f.tmp
	f.tmp = nil
	err := tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Abort removes the temporary file, leaving the path as it was. It does
// nothing after Commit, so that it can be deferred.
func (f *File) Abort() {
	if f.tmp == nil {
		return
	}
	f.tmp.Close()
	os.Remove(f.tmp.Name())
	f.tmp = nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
