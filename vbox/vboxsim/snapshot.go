// This file is the snapshot command: take copies the disk, restore copies
// it back (so files written after the snapshot are really gone), delete
// refuses while linked clones hang off the snapshot, list prints the tree.

package vboxsim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const noSnapshots = "This machine does not have any snapshots\n"

func (c *cli) snapshot(args []string) error {
	if len(args) < 2 {
		return syntaxError("snapshot", "Not enough parameters")
	}
	vm, sub, rest := args[0], args[1], args[2:]
	switch sub {
	case "list":
		return c.snapshotList(vm, rest)
	case "take":
		return c.snapshotTake(vm, rest)
	case "restore", "delete":
		if len(rest) != 1 {
			// Syntax problems inside snapshot exit 1, not 2 (hrc = E_FAIL).
			e := syntaxError("snapshot", "Expecting snapshot name only")
			e.code = 1
			return e
		}
		return c.snapshotRestoreDelete(vm, sub, rest[0])
	case "restorecurrent":
		return c.snapshotRestoreDelete(vm, "restore", "")
	}
	return syntaxError("snapshot", "Invalid parameter '%s'", sub)
}

func (c *cli) snapshotList(vm string, args []string) error {
	o, err := parseArgs("snapshot", args, map[string]string{"--machinereadable": "mr", "--details": "details"})
	if err != nil {
		return err
	}
	c.sleep("snapshot_list")
	return c.view(func(st *State) error {
		m := st.Find(vm)
		if ferr, _ := c.fault(st, "snapshot_list", vm, m); ferr != nil {
			return ferr
		}
		if m == nil {
			return notFound(vm, findContext)
		}
		if m.Snapshots == nil {
			fmt.Fprint(c.out, noSnapshots)
			return &exitError{code: 1}
		}
		if o.has("mr") {
			writeSnapshotsMR(c.out, m)
			return nil
		}
		m.walk(func(s *Snapshot, suffix string, _ *Snapshot) {
			depth := strings.Count(suffix, "-") + 1
			cur := ""
			if s.UUID == m.Current {
				cur = " *"
			}
			fmt.Fprintf(c.out, "%sName: %s (UUID: %s)%s\n", strings.Repeat("   ", depth), s.Name, s.UUID, cur)
			if s.Description != "" {
				fmt.Fprintf(c.out, "%sDescription:\n%s\n", strings.Repeat("   ", depth), s.Description)
			}
		})
		return nil
	})
}

// sharedLockRefusal is what LockMachine(Shared) says when another process
// holds the machine for a write session.
func (c *cli) sharedLockRefusal(m *Machine) error {
	if m.State != StateRunning && m.State != StatePaused && m.locked(timeNow(), c.pid) {
		return lockedForSession(m.Name, "LockMachine(a->session, LockType_Shared)")
	}
	return nil
}

func (c *cli) snapshotTake(vm string, args []string) error {
	o, err := parseArgs("snapshot", args, map[string]string{
		"--description": "description=", "-d": "description=", "--live": "live", "--pause": "pause", "--uniquename": "unique=",
	})
	if err != nil {
		return err
	}
	if len(o.pos) != 1 {
		e := syntaxError("snapshot", "Missing snapshot name")
		e.code = 1
		return e
	}
	snap := &Snapshot{UUID: newUUID(), Name: o.pos[0], Description: o.get("description")}
	var online, paused bool
	var m Machine
	pre := func(st *State, mm *Machine, _ []Fault) error {
		if err := c.sharedLockRefusal(mm); err != nil {
			return err
		}
		online = mm.State == StateRunning || mm.State == StatePaused || mm.State == StateSaved
		m = *mm
		return nil
	}
	sleep := func() {
		op := "snapshot_take"
		if m.State == StateRunning {
			op = "snapshot_take_live"
		}
		c.progress(op)
	}
	apply := func(st *State, mm *Machine) error {
		if mm.State == StateRunning && !o.has("live") {
			signalGuest(mm.GuestPID, mm.UUID, syscall.SIGSTOP)
			paused = true
		}
		err := copyDir(mm.Disk(), filepath.Join(mm.SnapDir(), snap.UUID), -1)
		if paused {
			signalGuest(mm.GuestPID, mm.UUID, syscall.SIGCONT)
		}
		if err != nil {
			return err
		}
		snap.Online, snap.Taken = online, timeNow()
		if cur, _ := mm.FindSnapshot(mm.Current); cur != nil {
			cur.Children = append(cur.Children, snap)
		} else if mm.Snapshots == nil {
			mm.Snapshots = snap
		} else {
			mm.Snapshots.Children = append(mm.Snapshots.Children, snap)
		}
		mm.Current = snap.UUID
		return nil
	}
	if c.prof.Delay("snapshot_take") == 0 && c.prof.Delay("snapshot_take_live") == 0 {
		fmt.Fprint(c.errw, progressText(100, true))
	}
	op := "snapshot_take"
	if err := c.machineOp(op, vm, findContext, pre, sleep, apply); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "Snapshot taken. UUID: %s\n", snap.UUID)
	return nil
}

func (c *cli) snapshotRestoreDelete(vm, sub, key string) error {
	op := "snapshot_" + sub
	var target Snapshot
	pre := func(st *State, m *Machine, _ []Fault) error {
		if err := c.sharedLockRefusal(m); err != nil {
			return err
		}
		if key == "" {
			if m.Current == "" {
				fmt.Fprint(c.out, noSnapshots)
				return &exitError{code: 1}
			}
			key = m.Current
		}
		s, _ := m.FindSnapshot(key)
		if s == nil {
			return snapshotNotFound(key)
		}
		target = *s
		if sub == "restore" && m.State != StatePoweroff && m.State != StateSaved && m.State != StateAborted {
			return apiError(fmt.Sprintf("Cannot delete the current state of the running machine (machine state: %s)", describeState(m.State)),
				"VBOX_E_INVALID_VM_STATE", "SessionMachine", "IMachine", "RestoreSnapshot(pSnapshot, pProgress.asOutParam())")
		}
		if sub == "delete" {
			clones := st.linkedClones(m.UUID, s.UUID)
			if n := len(clones) + len(s.Children); len(clones) > 0 || len(s.Children) > 1 {
				return progressFailure(0, "NS_ERROR_FAILURE", "Snapshot operation failed",
					fmt.Sprintf("Hard disk '%s' has more than one child hard disk (%d)", filepath.Join(m.SnapDir(), "{"+s.UUID+"}.vmdk"), n+1),
					"SessionMachine", "IMachine", "RTEXITCODE handleSnapshot(HandlerArg*)")
			}
		}
		verb := map[string]string{"restore": "Restoring", "delete": "Deleting"}[sub]
		fmt.Fprintf(c.out, "%s snapshot '%s' (%s)\n", verb, s.Name, s.UUID)
		return nil
	}
	delayed := c.prof.Delay(op) > 0
	apply := func(st *State, m *Machine) error {
		// Re-check under the lock; only one of the two passes prints.
		saved := c.out
		if delayed {
			c.out = discard{}
		}
		err := pre(st, m, nil)
		c.out = saved
		if err != nil {
			return err
		}
		dir := filepath.Join(m.SnapDir(), target.UUID)
		if sub == "delete" {
			deleteNode(m, target.UUID)
			return os.RemoveAll(dir)
		}
		tmp := m.Disk() + ".restoring"
		os.RemoveAll(tmp)
		if err := copyDir(dir, tmp, -1); err != nil {
			return err
		}
		os.RemoveAll(m.Disk())
		if err := os.Rename(tmp, m.Disk()); err != nil {
			return fmt.Errorf("restore disk: %w", err)
		}
		m.Current = target.UUID
		m.State, m.StateChange = StatePoweroff, timeNow()
		if target.Online {
			os.MkdirAll(m.SnapDir(), 0o755)
			os.WriteFile(m.SavFile(), []byte("vboxsim saved state of snapshot "+target.UUID+"\n"), 0o644)
			m.State = StateSaved
		}
		return nil
	}
	sleep := func() { c.progress(op) }
	// pre prints the "Restoring snapshot" line; with no delay apply calls
	// pre itself, so run the check-only pass silently.
	out := c.out
	if !delayed {
		c.out = discard{}
	}
	err := c.machineOp(op, vm, findContext, func(st *State, m *Machine, f []Fault) error {
		e := pre(st, m, f)
		c.out = out
		return e
	}, sleep, apply)
	c.out = out
	if err == nil && !delayed {
		fmt.Fprint(c.errw, progressText(100, true))
	}
	return err
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// deleteNode removes a snapshot from the tree; its only child (if any)
// takes its place, as a merge does.
func deleteNode(m *Machine, uuid string) {
	s, parent := m.FindSnapshot(uuid)
	if s == nil {
		return
	}
	var repl []*Snapshot
	repl = append(repl, s.Children...)
	if parent == nil {
		m.Snapshots = nil
		if len(repl) == 1 {
			m.Snapshots = repl[0]
		}
	} else {
		var kids []*Snapshot
		for _, k := range parent.Children {
			if k.UUID == uuid {
				kids = append(kids, repl...)
			} else {
				kids = append(kids, k)
			}
		}
		parent.Children = kids
	}
	if m.Current == uuid {
		m.Current = ""
		if parent != nil {
			m.Current = parent.UUID
		}
	}
}
