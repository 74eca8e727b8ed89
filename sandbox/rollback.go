// Rollback after every job: power off, restore the snapshot the job started
// from, delete every other snapshot but `ready`, start (resuming from the
// saved state), then check the VM answers SSH with its pinned host key and
// still has its ready marker. Any failure is a *BrokenError.

package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fleet-agent/fleet/guest"
)

// rollback puts the VM back in the state it was in before the job.
// perJob is the ID of the snapshot taken before the job, or "" to restore
// `ready`.
func (s *Sandbox) rollback(ctx context.Context, perJob string) error {
	vm := s.cfg.VM
	broken := func(step string, err error) error {
		return &BrokenError{VM: vm.Name(), Step: step, Err: err}
	}
	// Each step's duration goes to the debug log, to compare with the
	// provider's own costs (shared/VBOX-TIMINGS.md).
	began, last := time.Now(), time.Now()
	step := func(name string) {
		now := time.Now()
		s.log.Debug("rollback_step", "step", name, "took", now.Sub(last), "since_start", now.Sub(began))
		last = now
	}
	if err := vm.PowerOff(ctx); err != nil {
		return broken("power off", err)
	}
	step("power off")
	snaps, err := vm.Snapshots(ctx)
	if err != nil {
		return broken("list snapshots", err)
	}
	step("list snapshots")
	ready := ""
	for _, sn := range snaps {
		if sn.Name == SnapshotReady {
			ready = sn.ID
			break
		}
	}
	target := ready
	if perJob != "" && hasSnapshot(snaps, perJob) {
		target = perJob
	}
	if target == "" {
		return broken("find snapshot", fmt.Errorf("no %q snapshot", SnapshotReady))
	}
	if err := vm.RestoreSnapshot(ctx, target); err != nil {
		return broken("restore snapshot", err)
	}
	step("restore snapshot")
	// Children before parents, so each deletion removes a leaf.
	for i := len(snaps) - 1; i >= 0; i-- {
		if snaps[i].ID == ready {
			continue
		}
		if err := vm.DeleteSnapshot(ctx, snaps[i].ID); err != nil {
			return broken("delete snapshot "+snaps[i].Name, err)
		}
	}
	step("delete snapshots")
	if err := vm.Start(ctx); err != nil {
		return broken("start", err)
	}
	step("start")
	if err := s.verify(ctx); err != nil {
		return broken("verify", err)
	}
	step("verify")
	return nil
}

func hasSnapshot(snaps []Snapshot, id string) bool {
	for _, sn := range snaps {
		if sn.ID == id {
			return true
		}
	}
	return false
}

// errMarker means the marker file is missing or holds something else.
var errMarker = errors.New("ready marker missing or changed")

// verify checks the VM answers SSH with its pinned host key and holds the
// marker it was given when it became ready.
func (s *Sandbox) verify(ctx context.Context) error {
	ep, err := s.cfg.VM.Endpoint(ctx)
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	c, err := guest.WaitForSSH(ctx, s.guestConfig(ep), s.cfg.SSHWait)
	if err != nil {
		return err
	}
	defer c.Close()
	var out bytes.Buffer
	if err := c.Run(ctx, "cat "+Quote(MarkerFile), &out, nil); err != nil {
		return fmt.Errorf("read marker: %w", err)
	}
	if strings.TrimSpace(out.String()) != strings.TrimSpace(ep.Marker) {
		return errMarker
	}
	return nil
}
