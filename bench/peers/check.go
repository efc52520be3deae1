package peers

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DefaultPython is the interpreter the peers run on unless configured
// otherwise: Debian's, the one its python3-* packages install modules for.
const DefaultPython = "/usr/bin/python3"

// modules maps each Python module a peer imports to the Debian package that
// provides it.
var modules = []struct{ module, pkg string }{
	{"celery", "python3-celery"},
	{"redis", "python3-redis"},
	{"numpy", "python3-numpy"},
}

// MissingError says that the peers cannot run on Python, naming the Debian
// packages that would let them.
type MissingError struct {
	Python   string   // the interpreter checked
	Packages []string // the Debian packages to install: python3 itself or modules
	Err      error    // why Python could not be run, when it could not
}

func (e *MissingError) Error() string {
	what := "cannot import every module the peers need"
	if e.Err != nil {
		what = fmt.Sprintf("does not run (%v)", e.Err)
	}
	return fmt.Sprintf("peers: python %s %s: install Debian's %s (apt-get install -y %s)",
		e.Python, what, strings.Join(e.Packages, ", "), strings.Join(e.Packages, " "))
}

func (e *MissingError) Unwrap() error { return e.Err }

// Check reports whether the peers can run on DefaultPython: nil, or a
// *MissingError naming the Debian packages to install.
func Check() error { return check(context.Background(), DefaultPython) }

func check(ctx context.Context, python string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := []string{"-c", "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"}
	for _, m := range modules {
		args = append(args, m.module)
	}
	out, err := exec.CommandContext(ctx, python, args...).Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(exitErr.Stderr)))
		}
		return &MissingError{Python: python, Packages: []string{"python3"}, Err: err}
	}
	missing := strings.Fields(string(out))
	if len(missing) == 0 {
		return nil
	}
	e := &MissingError{Python: python}
	for _, m := range modules {
		for _, name := range missing {
			if name == m.module {
				e.Packages = append(e.Packages, m.pkg)
			}
		}
	}
	return e
}
