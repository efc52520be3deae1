// Package outfile is bitqueue's one writer of output files. What it does
// depends on what the path names when Create checks it:
//
//   - nothing, or a regular file: the bytes go to a temporary file beside it,
//     synced and renamed over it once complete, so that a reader never sees
//     half an output and a failed run leaves the old file (or none) in place.
//     A replaced file's mode is kept; a new file gets 0666 less the umask.
//   - a FIFO or a character device: it is written in place, as a shell
//     redirection writes it, with no temporary file and no rename: it stays
//     what it is. A FIFO is opened by Open, which waits for a reader.
//   - an open file descriptor (a symbolic link inside /proc, such as
//     /dev/stdout, /dev/fd/N or /proc/self/fd/N): the file the descriptor
//     has open, whatever its name, is written in place; a regular file is
//     appended to, never truncated.
//   - a directory, a socket or a block device: refused.
//
// Symbolic links are followed, a dangling one included: the output is
// created where it points, as cp and a shell redirection do, and the link
// kept. A rename only ever replaces a regular file, or creates one.
//
// Temporary files are named "." + the file's name + ".tmp-" + 12 hex digits
// and are locked (flock) by the process writing them until renamed or
// removed. Create removes the ones of the same file that no process holds
// locked: left by a producer that was killed. A temporary file of a
// producer still running is locked, so it is never removed.
package outfile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File is an output being written. Its zero value is not usable: see Create.
type File struct {
	path    string      // where the output lands: links followed
	target  os.FileInfo // what path names now, nil when nothing
	tmp     *os.File    // the temporary file, until Commit or Abort; nil in place
	inPlace bool        // written in place: a FIFO, a character device, a descriptor
	w       *os.File    // in place: the open output, nil until opened
	done    bool        // after Commit or Abort
	removed []string    // stale temporary files Create removed
}

// fifoPoll is how often Open tries a FIFO again while no reader has it open.
const fifoPoll = 50 * time.Millisecond

// Create checks path and prepares to write it, before any work is done: a
// directory that does not exist or cannot be written to, a path naming a
// directory, a socket or a block device, and an in-place output that cannot
// be opened for writing are errors. For a file written through a rename it
// creates the temporary file beside it at once, and removes the stale
// temporary files of the same path. A character device or a descriptor is
// opened at once; a FIFO is opened at once only when a reader has it open
// already, by Open otherwise, so that Create never waits. Errors do not
// repeat path: the caller names it.
func Create(path string) (*File, error) {
	name, proc, err := resolve(path)
	if err != nil {
		return nil, unwrapPath(err)
	}
	f := &File{path: name}
	st, err := os.Stat(name)
	switch {
	case err == nil:
		f.target = st
	case !errors.Is(err, fs.ErrNotExist):
		return nil, unwrapPath(err)
	}
	if st == nil || st.Mode().IsRegular() && !proc {
		if err := f.createTemp(); err != nil {
			return nil, err
		}
		return f, nil
	}
	mode := st.Mode()
	switch {
	case mode.IsDir():
		return nil, errors.New("is a directory")
	case mode&fs.ModeSocket != 0:
		return nil, errors.New("is a socket, which cannot be opened for writing")
	case mode&fs.ModeDevice != 0 && mode&fs.ModeCharDevice == 0:
		return nil, errors.New("is a block device: only files, FIFOs and character devices are written to")
	case !mode.IsRegular() && mode&(fs.ModeNamedPipe|fs.ModeCharDevice) == 0:
		return nil, fmt.Errorf("is neither a file, a FIFO nor a character device (%s)", mode.Type())
	}
	f.inPlace = true
	if mode&fs.ModeNamedPipe != 0 {
		w, err := openFIFO(name)
		switch {
		case err == nil:
			f.w = w
		case !errors.Is(err, errNoReader):
			return nil, unwrapPath(err)
		}
		return f, nil
	}
	flags := os.O_WRONLY | inPlaceFlags
	if mode.IsRegular() {
		flags |= os.O_APPEND // a descriptor's file may hold other output: a log given with >>
	}
	w, err := os.OpenFile(name, flags, 0)
	if err != nil {
		return nil, unwrapPath(err)
	}
	f.w = w
	return f, nil
}

// createTemp creates and locks f's temporary file, then removes the stale
// temporary files of f's path.
func (f *File) createTemp() error {
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	for range 100 {
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := filepath.Join(dir, tempPrefix(base)+hex.EncodeToString(b[:]))
		tmp, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot create a file in its directory %s: %w", dirName(dir), unwrapPath(err))
		}
		if !lockOwn(tmp) {
			// Another producer's clean-up took it between its creation and
			// the lock: it is not ours to write.
			tmp.Close()
			continue
		}
		f.tmp = tmp
		if f.target != nil {
			if err := tmp.Chmod(f.target.Mode().Perm()); err != nil {
				f.Abort()
				return err
			}
		}
		f.removed = removeStale(dir, base, tmp)
		return nil
	}
	return fmt.Errorf("cannot create a file in its directory %s: no free temporary name", dirName(dir))
}

// dirName is dir, from filepath.Split, as a message names it: without its
// trailing separator, but not cleaned, so that "missing/.." still shows
// the directory that is missing.
func dirName(dir string) string {
	if d := strings.TrimRight(dir, string(filepath.Separator)); d != "" {
		return d
	}
	return dir
}

// tempPrefix is the start of the names of the temporary files of the file
// named base.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// Same reports whether the output would replace or write to the file st
// describes: the same file, whatever path, symbolic or hard link names it.
func (f *File) Same(st os.FileInfo) bool {
	return f.target != nil && st != nil && os.SameFile(f.target, st)
}

// InPlace reports whether the output is written in place (a FIFO, a
// character device, a descriptor) rather than through a temporary file:
// what is written stays written, even when the run fails afterwards.
func (f *File) InPlace() bool { return f.inPlace }

// AwaitsReader reports whether Open will wait for a reader: the output is
// a FIFO that no process had open for reading when Create checked it.
func (f *File) AwaitsReader() bool { return f.inPlace && f.w == nil && !f.done }

// Removed returns the stale temporary files Create removed.
func (f *File) Removed() []string { return f.removed }

// Open readies the output for writing. Only a FIFO that had no reader when
// Create checked it needs it: Open then waits until a process opens the
// FIFO for reading, or ctx is done. Write calls Open with
// context.Background() when the caller did not.
func (f *File) Open(ctx context.Context) error {
	if f.done {
		return errors.New("outfile: Open after Commit or Abort")
	}
	if !f.inPlace || f.w != nil {
		return nil
	}
	t := time.NewTicker(fifoPoll)
	defer t.Stop()
	for {
		w, err := openFIFO(f.path)
		if err == nil {
			f.w = w
			return nil
		}
		if !errors.Is(err, errNoReader) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no process opened the FIFO for reading: %w", context.Cause(ctx))
		case <-t.C:
		}
	}
}

// Write writes to the temporary file, or in place to the output.
func (f *File) Write(p []byte) (int, error) {
	switch {
	case f.done:
		return 0, errors.New("outfile: write after Commit or Abort")
	case f.inPlace:
		if err := f.Open(context.Background()); err != nil {
			return 0, err
		}
		return f.w.Write(p)
	default:
		return f.tmp.Write(p)
	}
}

// Commit finishes the output. A temporary file is synced and renamed over
// the file's path (which it does only while that path names a regular file
// or nothing), then the directory synced; on error the temporary file is
// removed and the path left as it was. An output written in place is
// closed (synced first when it is a regular file); one never written is
// never opened.
func (f *File) Commit() error {
	if f.done {
		return errors.New("outfile: Commit after Commit or Abort")
	}
	f.done = true
	if f.inPlace {
		if f.w == nil {
			return nil
		}
		var err error
		if f.target.Mode().IsRegular() {
			err = f.w.Sync()
		}
		if cerr := f.w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		return nil
	}
	tmp := f.tmp
	f.tmp = nil
	// The rename comes before the close: the lock, released by the close,
	// keeps other producers' clean-up off the file until it has its name.
	err := tmp.Sync()
	if err == nil {
		err = checkReplaceable(f.path)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	syncDir(filepath.Dir(f.path))
	return nil
}

// checkReplaceable returns an error unless path names a regular file or
// nothing: what was checked by Create may have changed during the run.
func checkReplaceable(path string) error {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return fmt.Errorf("not replaced: it became a %s during the run", typeName(st.Mode()))
	}
	return nil
}

// typeName names the type of a file's mode in words.
func typeName(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// syncDir makes a rename in dir durable where the file system allows;
// a failure to do so does not undo the rename, so it is not reported.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}

// Abort removes the temporary file, leaving the path as it was, or closes
// an output written in place (what was written to it stays written). It
// does nothing after Commit, so that it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if f.w != nil {
		f.w.Close()
	}
	if f.tmp != nil {
		f.tmp.Close()
		os.Remove(f.tmp.Name())
		f.tmp = nil
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
