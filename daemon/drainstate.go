// Drain persistence: whether the host is drained lives in state_dir/drain.json, written
// atomically (temp file, fsync, rename, fsync of the folder), so an agent restarted while
// drained stays drained until `agent resume`, and a crash mid-write leaves the old file whole.
package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DrainFile is the drain state's file name in state_dir.
const DrainFile = "drain.json"

// DrainState is the persisted drain. The zero value is "not draining".
type DrainState struct {
	Draining bool      `json:"draining"`
	Since    time.Time `json:"since,omitzero"`
	// Deadline, when set, is when running jobs are canceled and requeued.
	Deadline time.Time `json:"deadline,omitzero"`
	// Force says the last drain request canceled the jobs running then; for the record only.
	Force bool `json:"force,omitempty"`
}

// ParseDrainState decodes a drain file. Unknown fields are ignored so a newer agent's file
// still reads; a file that is not JSON is an error, never "not draining".
func ParseDrainState(b []byte) (DrainState, error) {
	var s DrainState
	if err := json.Unmarshal(b, &s); err != nil {
		return DrainState{}, fmt.Errorf("parse drain state: %w", err)
	}
	if !s.Draining {
		return DrainState{}, nil
	}
	return s, nil
}

// LoadDrainState reads the drain state of stateDir; a missing file means not draining.
func LoadDrainState(stateDir string) (DrainState, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, DrainFile))
	if errors.Is(err, fs.ErrNotExist) {
		return DrainState{}, nil
	}
	if err != nil {
		return DrainState{}, fmt.Errorf("read drain state: %w", err)
	}
	s, err := ParseDrainState(b)
	if err != nil {
		return DrainState{}, fmt.Errorf("%s: %w", filepath.Join(stateDir, DrainFile), err)
	}
	return s, nil
}

// SaveDrainState writes s to stateDir atomically.
func SaveDrainState(stateDir string, s DrainState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("write drain state: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(stateDir, DrainFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write drain state: %w", err)
	}
	return nil
}

// WriteFileAtomic replaces path with data: a temp file in the same folder, fsynced, renamed
// over path, and the folder fsynced so the rename survives a power cut.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
