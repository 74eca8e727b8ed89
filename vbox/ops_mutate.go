package vbox

// This file holds the mutations of one existing VM: power, snapshots, settings, extradata and
// deletion. Each holds the VM's mutation lock and one MaxParallel slot per process.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// mutate runs one mutating call on vm under its mutation lock.
func (d *Driver) mutate(ctx context.Context, vm string, c call) (result, error) {
	var res result
	c.vm = vm
	err := d.withVM(ctx, vm, func() error {
		var err error
		res, err = d.do(ctx, c)
		return err
	})
	return res, err
}

var startedRe = regexp.MustCompile(`VM ".*" has been successfully started`)

// Start starts the VM headless and returns once it is running. A saved VM resumes from its
// saved state. A VM that is already running or paused matches ErrInvalidState: startvm's lock
// error is retried only while the VM is stopped (the lock lag after a poweroff).
func (d *Driver) Start(ctx context.Context, vm string) error {
	c := call{args: []string{"startvm", vm, "--type", "headless"}, mutate: true,
		beforeRetry: func(ctx context.Context, err error) error {
			if !errors.Is(err, ErrLocked) {
				return nil
			}
			st, serr := d.State(ctx, vm)
			if serr == nil && IsRunning(st) {
				return fmt.Errorf("vm is %s: %w", st, ErrInvalidState)
			}
			return nil
		}}
	res, err := d.mutate(ctx, vm, c)
	if err != nil && res.exitCode != 0 && startedRe.Match(res.stdout) {
		// Some systems exit 1 although the VM started (Vagrant's start rule).
		return nil
	}
	if err != nil {
		return fmt.Errorf("start %s: %w", vm, err)
	}
	return nil
}

// PowerOff pulls the VM's power cord. VirtualBox may hold the session lock for a moment
// after it returns; the next mutation retries through that.
func (d *Driver) PowerOff(ctx context.Context, vm string) error {
	return d.control(ctx, vm, "poweroff")
}

// SaveState saves the running VM's state to disk and stops it (state "saved").
func (d *Driver) SaveState(ctx context.Context, vm string) error {
	return d.control(ctx, vm, "savestate")
}

// Pause pauses a running VM.
func (d *Driver) Pause(ctx context.Context, vm string) error { return d.control(ctx, vm, "pause") }

// Resume resumes a paused VM (startvm cannot).
func (d *Driver) Resume(ctx context.Context, vm string) error { return d.control(ctx, vm, "resume") }

func (d *Driver) control(ctx context.Context, vm, action string) error {
	if _, err := d.mutate(ctx, vm, call{args: []string{"controlvm", vm, action}, mutate: true}); err != nil {
		return fmt.Errorf("%s %s: %w", action, vm, err)
	}
	if action == "poweroff" || action == "savestate" {
		d.noteStopped(vm)
	}
	return nil
}

// Shutdown presses the VM's ACPI power button and waits up to grace for the guest to stop,
// then powers it off. A VM that is not running is left alone. It returns once the VM is
// stopped.
func (d *Driver) Shutdown(ctx context.Context, vm string, grace time.Duration) error {
	return d.withVM(ctx, vm, func() error {
		_, err := d.do(ctx, call{args: []string{"controlvm", vm, "acpipowerbutton"}, mutate: true})
		if errors.Is(err, ErrInvalidState) {
			return nil // not running: nothing to shut down
		}
		if err != nil {
			return fmt.Errorf("shutdown %s: %w", vm, err)
		}
		deadline := time.Now().Add(grace)
		for {
			info, err := d.showInfo(ctx, vm)
			if err != nil {
				return fmt.Errorf("shutdown %s: %w", vm, err)
			}
			if IsStopped(info.State) {
				return nil
			}
			if !time.Now().Before(deadline) {
				break
			}
			t := time.NewTimer(min(d.cfg.PollInterval, time.Until(deadline)))
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("shutdown %s: %w", vm, ctx.Err())
			case <-t.C:
			}
		}
		d.log.Debug("vbox acpi shutdown timed out", "vm", vm, "grace", grace)
		_, err = d.do(ctx, call{args: []string{"controlvm", vm, "poweroff"}, mutate: true})
		if err != nil && !errors.Is(err, ErrInvalidState) { // it may have stopped meanwhile
			return fmt.Errorf("shutdown %s: power off: %w", vm, err)
		}
		return nil
	})
}

// TakeSnapshot takes a snapshot named name and returns its UUID. With live, a running VM is
// not paused while the snapshot is taken.
func (d *Driver) TakeSnapshot(ctx context.Context, vm, name string, live bool) (string, error) {
	args := []string{"snapshot", vm, "take", name}
	if live {
		args = append(args, "--live")
	}
	res, err := d.mutate(ctx, vm, call{args: args, mutate: true})
	if err != nil {
		return "", fmt.Errorf("take snapshot %s of %s: %w", name, vm, err)
	}
	uuid, err := parseSnapshotTaken(res.stdout)
	if err != nil {
		return "", fmt.Errorf("take snapshot %s of %s: %w", name, vm, err)
	}
	return uuid, nil
}

// RestoreSnapshot restores the snapshot with the given UUID (or name: the first match) on a
// stopped or saved VM. A snapshot taken while running leaves the VM "saved".
func (d *Driver) RestoreSnapshot(ctx context.Context, vm, snapshot string) error {
	if _, err := d.mutate(ctx, vm, call{args: []string{"snapshot", vm, "restore", snapshot}, mutate: true}); err != nil {
		return fmt.Errorf("restore snapshot %s of %s: %w", snapshot, vm, err)
	}
	return nil
}

// DeleteSnapshot deletes the snapshot with the given UUID (or name: the first match).
func (d *Driver) DeleteSnapshot(ctx context.Context, vm, snapshot string) error {
	if _, err := d.mutate(ctx, vm, call{args: []string{"snapshot", vm, "delete", snapshot}, mutate: true}); err != nil {
		return fmt.Errorf("delete snapshot %s of %s: %w", snapshot, vm, err)
	}
	return nil
}

// ModifyOptions are the settings Modify changes; zero fields are left alone.
type ModifyOptions struct {
	Memory int // MiB
	CPUs   int
	// LocalhostReachable sets, per NAT adapter number (1-based), whether the guest reaches the
	// host's loopback through 10.0.2.2 (`--nat-localhostreachable<N> on|off`). VirtualBox 7.0
	// added the option; older versions refuse the whole call (ErrUsage, nothing changed).
	LocalhostReachable map[int]bool
}

// Modify changes the settings of a stopped VM.
func (d *Driver) Modify(ctx context.Context, vm string, o ModifyOptions) error {
	args := []string{"modifyvm", vm}
	if o.Memory > 0 {
		args = append(args, "--memory", strconv.Itoa(o.Memory))
	}
	if o.CPUs > 0 {
		args = append(args, "--cpus", strconv.Itoa(o.CPUs))
	}
	for _, n := range slices.Sorted(maps.Keys(o.LocalhostReachable)) {
		v := "off"
		if o.LocalhostReachable[n] {
			v = "on"
		}
		args = append(args, "--nat-localhostreachable"+strconv.Itoa(n), v)
	}
	if len(args) == 2 {
		return nil
	}
	if _, err := d.mutate(ctx, vm, call{args: args, mutate: true}); err != nil {
		return fmt.Errorf("modify %s: %w", vm, err)
	}
	return nil
}

// SetExtraData sets one extradata key; an empty value deletes it.
func (d *Driver) SetExtraData(ctx context.Context, vm, key, value string) error {
	args := []string{"setextradata", vm, key}
	if value != "" {
		args = append(args, value)
	}
	if _, err := d.mutate(ctx, vm, call{args: args, mutate: true}); err != nil {
		return fmt.Errorf("set extradata %s %s: %w", vm, key, err)
	}
	return nil
}

// DeleteExtraData removes one extradata key.
func (d *Driver) DeleteExtraData(ctx context.Context, vm, key string) error {
	return d.SetExtraData(ctx, vm, key, "")
}

// Unregister unregisters the VM and deletes its files (`unregistervm --delete`).
func (d *Driver) Unregister(ctx context.Context, vm string) error {
	if _, err := d.mutate(ctx, vm, call{args: []string{"unregistervm", vm, "--delete"}, mutate: true}); err != nil {
		return fmt.Errorf("unregister %s: %w", vm, err)
	}
	d.forget(vm)
	return nil
}
