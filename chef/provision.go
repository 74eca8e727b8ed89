// This file runs chef-solo on a guest over a small session interface: upload the bundle, unpack
// it into a fresh folder, run `sudo -n chef-solo -c solo.rb -j node.json` with its output
// streamed to the log, and turn a failure into an error that carries chef's last lines and the
// recipe chef blamed. The guest package's SSH client satisfies Session; so does anything that
// can run a shell command and write a file.

package chef

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// Session is the guest connection Provision needs. Implementations must kill the remote command
// (its whole process group) when ctx ends, and return from Run with ctx's error.
type Session interface {
	// Upload writes r to path on the guest with mode; a relative path is relative to the
	// session user's home.
	Upload(ctx context.Context, path string, mode fs.FileMode, r io.Reader) error
	// Run runs cmd with a POSIX shell on the guest, streaming its output. A command that exits
	// non-zero returns an error with an `ExitCode() int` method (found with errors.As).
	Run(ctx context.Context, cmd string, stdout, stderr io.Writer) error
}

// Options configure Provision. The zero value runs `sudo -n chef-solo` in a fresh temporary
// folder with no time limit other than ctx's.
type Options struct {
	// Dir is the guest folder to unpack into. It is removed and created again. Empty means a
	// fresh `mktemp -d` folder under the guest's $TMPDIR (default /tmp).
	Dir string
	// Sudo is the sudo command, default "sudo"; it is run with -n so it never prompts.
	Sudo string
	// NoSudo runs chef-solo as the session user.
	NoSudo bool
	// ChefSolo is the chef-solo command, default "chef-solo" (e.g. "/opt/chef/bin/chef-solo").
	ChefSolo string
	// Args are extra chef-solo arguments, e.g. ["--no-color"].
	Args []string
	// Timeout bounds the chef-solo run; a run that exceeds it is killed. Zero means no limit.
	Timeout time.Duration
	// TailLines is how many of chef's last lines an error carries, default 20.
	TailLines int
	// Keep leaves the unpacked folder on the guest after a successful run (a failed run always
	// leaves it, for debugging).
	Keep bool
}

// ErrTimeout is wrapped by the error of a chef-solo run that exceeded Options.Timeout.
var ErrTimeout = errors.New("provision timed out")

// ProvisionError is a failed provisioning step.
type ProvisionError struct {
	// Step is "prepare", "upload", "unpack" or "chef-solo".
	Step string
	// Dir is the guest folder the bundle was unpacked into, when known.
	Dir string
	// ExitCode is the command's exit code, or -1 when it did not exit (killed, no connection).
	ExitCode int
	// Recipe is the recipe chef's output names as failing, or empty.
	Recipe string
	// Tail are the last lines of the step's output, ANSI colours removed.
	Tail []string
	Err  error
}

// Error names the step, the failing recipe and the cause, then the output's last lines.
func (e *ProvisionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provision: %s", e.Step)
	if e.Recipe != "" {
		fmt.Fprintf(&b, " failed in recipe %s", e.Recipe)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if len(e.Tail) > 0 {
		fmt.Fprintf(&b, "\nlast lines of output:\n  %s", strings.Join(e.Tail, "\n  "))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ProvisionError) Unwrap() error { return e.Err }

// Provision unpacks bundle (from WriteBundle) on the guest and runs chef-solo on it, streaming
// chef's output to log. It returns nil when chef-solo exits 0, else a *ProvisionError.
func Provision(ctx context.Context, sess Session, bundle []byte, opts Options, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	tail := &tailWriter{}
	out := io.MultiWriter(&lockedWriter{w: log}, tail)
	nTail := opts.TailLines
	if nTail <= 0 {
		nTail = 20
	}
	fail := func(step, dir string, err error) error {
		pe := &ProvisionError{Step: step, Dir: dir, ExitCode: exitCode(err), Tail: tail.Lines(nTail), Err: err}
		if step == "chef-solo" {
			pe.Recipe = failingRecipe(tail.Lines(tailKeep))
		}
		return pe
	}

	dir := opts.Dir
	var prep string
	if dir == "" {
		prep = `mktemp -d "${TMPDIR:-/tmp}/fleet-chef.XXXXXX"`
	} else {
		prep = fmt.Sprintf("rm -rf %s && mkdir -p %s && echo %s", shellQuote(dir), shellQuote(dir), shellQuote(dir))
	}
	var stdout bytes.Buffer
	if err := sess.Run(ctx, prep, &stdout, out); err != nil {
		return fail("prepare", dir, err)
	}
	dir = strings.TrimSpace(stdout.String())
	if dir == "" || strings.ContainsAny(dir, "\n\x00") {
		return fail("prepare", "", fmt.Errorf("guest folder: unexpected output %q", stdout.String()))
	}

	archive := dir + "/bundle.tar.gz"
	if err := sess.Upload(ctx, archive, 0o600, bytes.NewReader(bundle)); err != nil {
		return fail("upload", dir, err)
	}
	unpack := fmt.Sprintf("tar -xzf %s -C %s && rm -f %s", shellQuote(archive), shellQuote(dir), shellQuote(archive))
	if err := sess.Run(ctx, unpack, out, out); err != nil {
		return fail("unpack", dir, err)
	}

	runCtx := ctx
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	if err := sess.Run(runCtx, chefCommand(dir, opts), out, out); err != nil {
		if ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w after %v: %w", ErrTimeout, opts.Timeout, err)
		}
		return fail("chef-solo", dir, err)
	}
	if !opts.Keep {
		// Best effort: the folder holds root-owned cache files, and a leftover in the guest's
		// temporary folder harms nothing.
		_ = sess.Run(ctx, privileged(opts)+"rm -rf "+shellQuote(dir), io.Discard, io.Discard)
	}
	return nil
}

// chefCommand is the chef-solo command line for a bundle unpacked in dir.
func chefCommand(dir string, opts Options) string {
	chef := opts.ChefSolo
	if chef == "" {
		chef = "chef-solo"
	}
	args := []string{shellQuote(chef), "-c", shellQuote(dir + "/" + SoloRBName), "-j", shellQuote(dir + "/" + NodeJSONName)}
	for _, a := range opts.Args {
		args = append(args, shellQuote(a))
	}
	return privileged(opts) + strings.Join(args, " ")
}

// privileged is the sudo prefix for a command, or "" with NoSudo.
func privileged(opts Options) string {
	if opts.NoSudo {
		return ""
	}
	sudo := opts.Sudo
	if sudo == "" {
		sudo = "sudo"
	}
	return shellQuote(sudo) + " -n "
}

// exitCode returns the exit code an error carries, or -1.
func exitCode(err error) int {
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return -1
}

// shellQuote quotes s for a POSIX shell, leaving plainly safe words as they are.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
