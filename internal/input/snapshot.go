package input

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// MaxCount is the most integers one input may hold: 10^10. It keeps a run's
// counts exact wherever they are read as floating-point numbers (JSON
// readers, below 2^53), its batches numbered within a Redis bitmap's range
// (offsets below 2^32) from a batch size of 3 up, and a run within hours of
// producing: a bigger job is better split into several runs.
const MaxCount = 10_000_000_000

// Snapshot is a private copy of an input, taken in a single pass that also
// checks every token, counts the integers and hashes the bytes. Every pass
// over a Snapshot reads those same bytes, whatever happens to the original
// afterwards: it can be changed, truncated, replaced or deleted.
//
// The copy lives in a temporary file that is unlinked as soon as it is
// created where the system allows it (so that nothing is left behind even if
// the process is killed), and read through the one descriptor kept open.
// Close releases it.
type Snapshot struct {
	name  string
	f     *os.File
	path  string // the spool's path while it still has one
	size  int64
	count uint64
	id    string
	orig  os.FileInfo
}

// SnapshotFile snapshots the file at path into a temporary file in dir (the
// system's temporary directory when dir is ""). A path that cannot be read,
// a directory, a bad token, an empty input or one of more than MaxCount
// integers is an *Error; a failure to write the copy is another error.
func SnapshotFile(path, dir string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Source: path, Reason: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Source: path, Reason: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
	}
	if st.IsDir() {
		return nil, &Error{Source: path, Reason: "is a directory, want a file of integers"}
	}
	s, err := take(f, dir, path)
	if err != nil {
		return nil, err
	}
	s.orig = st
	return s, nil
}

// Open returns the integers of a run, which the caller closes: a snapshot
// of what an --input names (SnapshotPath) or, when path is "", count
// random integers drawn below max from seed (Random).
func Open(path string, stdin io.Reader, count, max, seed uint64) (Source, error) {
	if path == "" {
		return Random(seed, count, max), nil
	}
	return SnapshotPath(path, stdin)
}

// SnapshotPath snapshots what an --input names: the file at path, or stdin
// for "-", into the system's temporary directory.
func SnapshotPath(path string, stdin io.Reader) (*Snapshot, error) {
	if path == "-" {
		return SnapshotReader(stdin, "", "stdin")
	}
	return SnapshotFile(path, "")
}

// SnapshotReader snapshots what r holds (standard input, say), naming it
// name, as SnapshotFile does a file. When r is an *os.File, Original
// describes it.
func SnapshotReader(r io.Reader, dir, name string) (*Snapshot, error) {
	s, err := take(r, dir, name)
	if err != nil {
		return nil, err
	}
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			s.orig = st
		}
	}
	return s, nil
}

// take copies r into a new spool while scanning and hashing it.
func take(r io.Reader, dir, name string) (_ *Snapshot, err error) {
	f, err := os.CreateTemp(dir, "bitqueue-input-*")
	if err != nil {
		return nil, fmt.Errorf("%s: spool the input: %w", name, err)
	}
	s := &Snapshot{name: name, f: f, path: f.Name()}
	if os.Remove(f.Name()) == nil {
		s.path = "" // unlinked: the descriptor keeps the bytes
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	h := sha256.New()
	cw := &copyWriter{f: f, h: h}
	sc := NewScanner(io.TeeReader(r, cw), name)
	for {
		_, err := sc.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if cw.err != nil {
			return nil, fmt.Errorf("%s: spool the input: %w", name, cw.err)
		}
		if err != nil {
			return nil, err
		}
		if s.count++; s.count > MaxCount {
			return nil, &Error{Source: name, Reason: fmt.Sprintf("holds more than %d integers, the most one run takes; split it into several runs", uint64(MaxCount))}
		}
	}
	if cw.err != nil {
		return nil, fmt.Errorf("%s: spool the input: %w", name, cw.err)
	}
	if s.count == 0 {
		return nil, &Error{Source: name, Reason: "holds no integers"}
	}
	s.size = cw.n
	s.id = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return s, nil
}

// copyWriter writes what the scanner reads to the spool and the hash. It
// keeps its error for take to report: the scanner would only see it as the
// end of its input.
type copyWriter struct {
	f   *os.File
	h   hash.Hash
	n   int64
	err error
}

func (w *copyWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if _, err := w.f.Write(p); err != nil {
		w.err = err
		return 0, err
	}
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

// Name returns the name the snapshot was taken under: the original's path,
// or the name given to SnapshotReader.
func (s *Snapshot) Name() string { return s.name }

// Len returns how many integers the snapshot holds, at least 1.
func (s *Snapshot) Len() uint64 { return s.count }

// Identity returns "sha256:<hex>" of the bytes snapshotted, computed as they
// were copied.
func (s *Snapshot) Identity() (string, error) { return s.id, nil }

// Original describes the file the snapshot was taken from (os.SameFile
// tells whether another path names it), or is nil when that is not known.
func (s *Snapshot) Original() os.FileInfo { return s.orig }

// Open starts a new pass over the snapshotted bytes. Passes may run at the
// same time.
func (s *Snapshot) Open() (Stream, error) {
	if s.f == nil {
		return nil, fmt.Errorf("%s: snapshot already closed", s.name)
	}
	return &snapshotStream{Scanner: NewScanner(io.NewSectionReader(s.f, 0, s.size), s.name)}, nil
}

// Close releases the copy. It is safe to call more than once.
func (s *Snapshot) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if s.path != "" {
		if rerr := os.Remove(s.path); err == nil {
			err = rerr
		}
		s.path = ""
	}
	return err
}

type snapshotStream struct{ *Scanner }

func (snapshotStream) Close() error { return nil }
