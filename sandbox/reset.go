// Reset: a rollback without a job, for the daemon to run before a worker's first job, so a VM
// that an agent killed mid-job left dirty is clean before anything else runs on it.

package sandbox

import "context"

// Reset rolls the VM back to its ready snapshot exactly as after a job and verifies it. A
// failure marks the sandbox broken and is returned as a *BrokenError.
func (s *Sandbox) Reset(ctx context.Context) error {
	if err := s.Broken(); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RollbackTimeout)
	defer cancel()
	if err := s.rollback(rctx, ""); err != nil {
		s.markBroken(err)
		return err
	}
	return nil
}
