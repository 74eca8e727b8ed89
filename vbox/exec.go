package vbox

// This file is the exec seam: the only place a VBoxManage process is started. Everything
// above it (retries, serialisation, parsing) works on the raw result it returns, so tests can
// replace it with a transcript.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Driver. The zero value of every field has a documented default.
type Config struct {
	// Manage is the VBoxManage program: a name looked up on PATH or a path
	// (fleet.hcl `virtualbox { manage = ... }`). Default "VBoxManage".
	Manage string
	// Env is extra environment for every call (for example VBOXSIM_HOME=...), added to the
	// agent's own environment. LC_ALL and LANG are always forced to C after it.
	Env []string
	// MaxParallel bounds the number of mutating calls running at once in this driver
	// (fleet.hcl `virtualbox { max_parallel }`). Default 2.
	MaxParallel int
	// CallTimeout bounds one VBoxManage process, including import and clone. Default 30m.
	CallTimeout time.Duration
	// PortRange is the inclusive range [low, high] host ports for forwards are allocated
	// from. Required by AllocateForward only.
	PortRange [2]int
	// LockDir holds the host-wide lock files (ports.lock). Default
	// $TMPDIR/fleet-vbox-locks.
	LockDir string
	// OtherPorts, when set, returns the host ports other providers' VMs own (the QEMU
	// provider's UsedPorts), so AllocateForward never hands one of them out.
	OtherPorts func(ctx context.Context) (map[int]bool, error)
	// Retries is how many times a call failing with ErrLocked or ErrTransient is retried.
	// Default 5; a negative value disables retries.
	Retries int
	// RetryBase is the first backoff delay; each retry doubles it, up to 8s. Default 250ms.
	RetryBase time.Duration
	// PollInterval is how often Shutdown polls the VM state. Default 500ms.
	PollInterval time.Duration
	// Record, when set, is a directory a transcript of every VBoxManage call is written to
	// (record.go; `agent doctor --record DIR`).
	Record string
}

func (c Config) withDefaults() Config {
	if c.Manage == "" {
		c.Manage = "VBoxManage"
	}
	if c.MaxParallel <= 0 {
		c.MaxParallel = 2
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 30 * time.Minute
	}
	if c.LockDir == "" {
		c.LockDir = filepath.Join(os.TempDir(), "fleet-vbox-locks")
	}
	if c.Retries == 0 {
		c.Retries = 5
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 250 * time.Millisecond
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	return c
}

// result is the raw outcome of one VBoxManage process.
type result struct {
	stdout, stderr []byte
	exitCode       int
}

// runFunc runs VBoxManage with args and returns its raw result. Progress output on stderr is
// also copied to progress when it is not nil. An error is returned only when the process
// could not be run to completion (not installed, killed by the context).
type runFunc func(ctx context.Context, args []string, progress io.Writer) (result, error)

// Driver runs VBoxManage. It is safe for concurrent use.
type Driver struct {
	cfg Config
	log *slog.Logger
	run runFunc

	// slots bounds concurrent mutating calls (capacity MaxParallel).
	slots chan struct{}
	// slotWaiters counts calls blocked in acquireSlot.
	slotWaiters atomic.Int32

	mu    sync.Mutex          // guards vms and names
	vms   map[string]*vmEntry // per-VM mutation locks, by lockKey (resolve.go)
	names map[string]string   // VM name -> UUID, learnt from list and showvminfo
	// stopped holds when this driver last powered each VM off or saved it (by lockKey), for
	// the lock poll after a stop (retry.go).
	stopped map[string]time.Time

	// record is the open transcript file when Config.Record is set (closed by Close).
	record *os.File
}

// New returns a Driver for cfg. A nil log discards the driver's debug output.
func New(cfg Config, log *slog.Logger) *Driver {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Driver{
		cfg:   cfg,
		log:   log,
		slots: make(chan struct{}, cfg.MaxParallel),
		vms:   make(map[string]*vmEntry),
		names: make(map[string]string),
	}
	d.run = d.execManage
	if cfg.Record != "" {
		rec, f, err := openRecorder(cfg.Record)
		if err != nil {
			log.Warn("VBoxManage transcript not recorded", "err", err)
		} else {
			d.record = f
			d.run = rec.wrap(d.run, func(err error) { log.Warn("VBoxManage transcript", "err", err) })
		}
	}
	return d
}

// execManage is the exec seam: one VBoxManage process per call, English locale, bounded by
// CallTimeout, with the argv logged at debug level.
func (d *Driver) execManage(ctx context.Context, args []string, progress io.Writer) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.CallTimeout)
	defer cancel()
	argv := args
	if len(args) > 0 && args[0] != "--version" {
		// --nologo keeps the banner old versions printed before any output away from the
		// parsers; it is a global option and must precede the command.
		argv = append([]string{"--nologo"}, args...)
	}
	cmd := exec.CommandContext(ctx, d.cfg.Manage, argv...)
	cmd.Env = append(append(os.Environ(), d.cfg.Env...), "LC_ALL=C", "LANG=C", "LANGUAGE=")
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if progress != nil {
		cmd.Stderr = io.MultiWriter(&stderr, progress)
	}
	start := time.Now()
	d.log.Debug("vboxmanage call", "args", args)
	err := cmd.Run()
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), exitCode: cmd.ProcessState.ExitCode()}
	d.log.Debug("vboxmanage done", "args", args, "exit_code", res.exitCode, "took", time.Since(start))
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exitErr) && ctx.Err() == nil:
		return res, nil // a non-zero exit is VBoxManage's answer, classified by the caller
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
		return res, &CmdError{Args: args, ExitCode: -1, Class: ErrNotInstalled, Cause: err}
	case ctx.Err() != nil:
		return res, &CmdError{Args: args, ExitCode: -1, Stderr: string(res.stderr), Cause: ctx.Err()}
	default:
		return res, &CmdError{Args: args, ExitCode: -1, Stderr: string(res.stderr), Cause: err}
	}
}
