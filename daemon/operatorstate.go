// Operator state persistence: the workers drained one by one (`agent drain VM`) and the
// replacement requests not yet done (`agent replace TARGET`) live in state_dir/operator.json,
// written atomically like drain.json, so a restarted agent keeps both.
package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// OperatorFile is the operator state's file name in state_dir.
const OperatorFile = "operator.json"

// OperatorState is what operators asked of single workers. The zero value asks nothing.
type OperatorState struct {
	// Drained maps the names of workers drained by `agent drain VM` to when. A name, not a VM
	// ID: a worker recreated under the same name stays drained until `agent resume VM`.
	Drained map[string]time.Time `json:"drained,omitempty"`
	// Replace lists the replacement requests with VMs still to replace.
	Replace []ReplaceRequest `json:"replace,omitempty"`
}

// ReplaceRequest is one `agent replace TARGET`, resolved when it was made.
type ReplaceRequest struct {
	Target string    `json:"target"`
	At     time.Time `json:"at"`
	// IDs are the VMs still to replace (reconcile.ResolveReplace); the request is done when
	// none of them is observed any more.
	IDs []string `json:"ids"`
}

// ParseOperatorState decodes an operator file. Unknown fields are ignored so a newer agent's
// file still reads; a file that is not JSON is an error, never "nothing asked".
func ParseOperatorState(b []byte) (OperatorState, error) {
	var s OperatorState
	if err := json.Unmarshal(b, &s); err != nil {
		return OperatorState{}, fmt.Errorf("parse operator state: %w", err)
	}
	for name := range s.Drained {
		if name == "" {
			return OperatorState{}, errors.New("parse operator state: drained worker with an empty name")
		}
	}
	s.Replace = slices.DeleteFunc(s.Replace, func(r ReplaceRequest) bool { return len(r.IDs) == 0 })
	if len(s.Replace) == 0 {
		s.Replace = nil
	}
	return s, nil
}

// LoadOperatorState reads the operator state of stateDir; a missing file asks nothing.
func LoadOperatorState(stateDir string) (OperatorState, error) {
	path := filepath.Join(stateDir, OperatorFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return OperatorState{}, nil
	}
	if err != nil {
		return OperatorState{}, fmt.Errorf("read operator state: %w", err)
	}
	s, err := ParseOperatorState(b)
	if err != nil {
		return OperatorState{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// SaveOperatorState writes s to stateDir atomically.
func SaveOperatorState(stateDir string, s OperatorState) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("write operator state: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(stateDir, OperatorFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write operator state: %w", err)
	}
	return nil
}

// clone returns a deep copy, so a failed save leaves the state in force untouched.
func (s OperatorState) clone() OperatorState {
	out := OperatorState{}
	if len(s.Drained) > 0 {
		out.Drained = map[string]time.Time{}
		for k, v := range s.Drained {
			out.Drained[k] = v
		}
	}
	for _, r := range s.Replace {
		r.IDs = slices.Clone(r.IDs)
		out.Replace = append(out.Replace, r)
	}
	return out
}

// replaceIDs returns every VM ID a pending request still replaces, sorted.
func (s OperatorState) replaceIDs() []string {
	var ids []string
	for _, r := range s.Replace {
		ids = append(ids, r.IDs...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// forget drops the IDs not in observed and the requests left with none; it reports whether
// anything changed.
func (s *OperatorState) forget(observed map[string]bool) bool {
	changed := false
	for i := range s.Replace {
		r := &s.Replace[i]
		n := len(r.IDs)
		r.IDs = slices.DeleteFunc(r.IDs, func(id string) bool { return !observed[id] })
		changed = changed || len(r.IDs) != n
	}
	n := len(s.Replace)
	s.Replace = slices.DeleteFunc(s.Replace, func(r ReplaceRequest) bool { return len(r.IDs) == 0 })
	if len(s.Replace) == 0 {
		s.Replace = nil
	}
	return changed || len(s.Replace) != n
}
