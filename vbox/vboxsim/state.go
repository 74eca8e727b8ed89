// This file holds the simulator's persistent model (machines, snapshots,
// forwards, extradata) and the store that keeps it in VBOXSIM_HOME under a
// host-wide file lock, so several simulator processes can run at once.

package vboxsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// Machine states as VBoxManage prints them in VMState.
const (
	StatePoweroff = "poweroff"
	StateRunning  = "running"
	StatePaused   = "paused"
	StateSaved    = "saved"
	StateAborted  = "aborted"
)

// Forward is one NAT port-forwarding rule of NIC 1.
type Forward struct {
	Name      string `json:"name"`
	Proto     string `json:"proto"`
	HostIP    string `json:"host_ip"`
	HostPort  int    `json:"host_port"`
	GuestIP   string `json:"guest_ip"`
	GuestPort int    `json:"guest_port"`
}

// Snapshot is one node of a machine's snapshot tree. Its disk copy lives in
// the machine's Snapshots folder under its UUID.
type Snapshot struct {
	UUID        string      `json:"uuid"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Online      bool        `json:"online"`
	Taken       time.Time   `json:"taken"`
	Children    []*Snapshot `json:"children,omitempty"`
}

// Link records that a machine is a linked clone of a snapshot of another
// machine: the parent snapshot cannot be deleted and its machine cannot be
// unregistered while the link exists.
type Link struct {
	VM       string `json:"vm"`
	Snapshot string `json:"snapshot"`
}

// Session is a lock on a machine held by a simulator process (PID, while it
// is alive) or lingering after a stop (Until).
type Session struct {
	PID   int       `json:"pid,omitempty"`
	Until time.Time `json:"until,omitzero"`
}

// Machine is one registered VM.
type Machine struct {
	UUID        string            `json:"uuid"`
	Name        string            `json:"name"`
	OSType      string            `json:"ostype"`
	Description string            `json:"description,omitempty"`
	Memory      int               `json:"memory"`
	CPUs        int               `json:"cpus"`
	MAC         string            `json:"mac"`
	DiskUUID    string            `json:"disk_uuid"`
	Dir         string            `json:"dir"`
	State       string            `json:"state"`
	StateChange time.Time         `json:"state_change"`
	Forwards    []Forward         `json:"forwards,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
	Props       map[string]string `json:"props,omitempty"`
	Snapshots   *Snapshot         `json:"snapshots,omitempty"`
	Current     string            `json:"current,omitempty"`
	GuestPID    int               `json:"guest_pid,omitempty"`
	Session     *Session          `json:"session,omitempty"`
	LinkedFrom  *Link             `json:"linked_from,omitempty"`
	// LocalhostReachable is NIC 1's NAT "localhost reachable" setting (version.go): whether
	// the guest reaches the host's loopback through 10.0.2.2. Always true before 7.0.
	LocalhostReachable bool `json:"localhost_reachable,omitempty"`
	// Broken marks a clone that died half way: registered, disk incomplete.
	Broken bool `json:"broken,omitempty"`
}

// State is everything the simulator persists: machines in registration
// order and the hit counters of injected faults.
type State struct {
	Machines  []*Machine     `json:"machines"`
	FaultHits map[string]int `json:"fault_hits,omitempty"`
}

// Disk returns the directory that is the machine's disk.
func (m *Machine) Disk() string { return filepath.Join(m.Dir, "disk") }

// CfgFile returns the machine's settings file path.
func (m *Machine) CfgFile() string { return filepath.Join(m.Dir, m.Name+".vbox") }

// SnapDir returns the machine's snapshot folder.
func (m *Machine) SnapDir() string { return filepath.Join(m.Dir, "Snapshots") }

// SavFile returns the saved-state file path used while the machine is saved.
func (m *Machine) SavFile() string { return filepath.Join(m.SnapDir(), "state.sav") }

// SSHPort returns the host port of the NAT rule forwarding to guest port 22,
// or 0 when there is none.
func (m *Machine) SSHPort() int {
	for _, f := range m.Forwards {
		if f.GuestPort == 22 && f.Proto == "tcp" {
			return f.HostPort
		}
	}
	return 0
}

// walk visits the snapshot tree in pre-order with the VBoxManage suffix of
// each node ("", "-1", "-1-2", ...).
func (m *Machine) walk(fn func(s *Snapshot, suffix string, parent *Snapshot)) {
	var rec func(s *Snapshot, suffix string, parent *Snapshot)
	rec = func(s *Snapshot, suffix string, parent *Snapshot) {
		fn(s, suffix, parent)
		for i, c := range s.Children {
			rec(c, fmt.Sprintf("%s-%d", suffix, i+1), s)
		}
	}
	if m.Snapshots != nil {
		rec(m.Snapshots, "", nil)
	}
}

// FindSnapshot returns the first snapshot in pre-order whose UUID or name is
// key (VirtualBox picks the first match for duplicate names), and its parent.
func (m *Machine) FindSnapshot(key string) (snap, parent *Snapshot) {
	key = trimBraces(key)
	m.walk(func(s *Snapshot, _ string, p *Snapshot) {
		if snap == nil && s.UUID == key {
			snap, parent = s, p
		}
	})
	if snap != nil {
		return snap, parent
	}
	m.walk(func(s *Snapshot, _ string, p *Snapshot) {
		if snap == nil && s.Name == key {
			snap, parent = s, p
		}
	})
	return snap, parent
}

// Store is the state directory. Every read-modify-write goes through Update,
// which holds an exclusive flock on HOME/state.lock for its duration.
type Store struct {
	Home string
}

func (s *Store) statePath() string { return filepath.Join(s.Home, "state.json") }

// Update locks the store, loads the state, refreshes liveness (a running VM
// whose guest died is aborted), runs fn and saves the result if it changed.
// The state is saved even when fn returns a command failure (*exitError),
// so fault counters and lock bookkeeping persist; fn must therefore refuse
// before it mutates.
func (s *Store) Update(fn func(st *State) error) error {
	lk := flock.New(filepath.Join(s.Home, "state.lock"))
	if err := lk.Lock(); err != nil {
		return fmt.Errorf("lock state: %w", err)
	}
	defer lk.Unlock()
	st, raw, err := s.load()
	if err != nil {
		return err
	}
	refreshLiveness(st)
	ferr := fn(st)
	var ee *exitError
	if ferr != nil && !errors.As(ferr, &ee) {
		return ferr
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if !bytes.Equal(b, raw) {
		if err := s.save(b); err != nil {
			return err
		}
	}
	return ferr
}

func (s *Store) load() (*State, []byte, error) {
	b, err := os.ReadFile(s.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return &State{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state: %w", err)
	}
	st := &State{}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, nil, fmt.Errorf("decode state %s: %w", s.statePath(), err)
	}
	return st, b, nil
}

// save writes the encoded state atomically (temp file, fsync, rename).
func (s *Store) save(b []byte) error {
	tmp, err := os.CreateTemp(s.Home, "state-*.tmp")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.statePath()); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// Find looks a machine up by UUID (with or without braces) or by name.
func (st *State) Find(key string) *Machine {
	k := trimBraces(key)
	for _, m := range st.Machines {
		if m.UUID == k {
			return m
		}
	}
	for _, m := range st.Machines {
		if m.Name == key {
			return m
		}
	}
	return nil
}

// Remove unregisters the machine with the given UUID.
func (st *State) Remove(uuid string) {
	out := st.Machines[:0]
	for _, m := range st.Machines {
		if m.UUID != uuid {
			out = append(out, m)
		}
	}
	st.Machines = out
}

// linkedClones returns the machines linked to the given machine, optionally
// only those linked to one snapshot of it.
func (st *State) linkedClones(vm, snap string) []*Machine {
	var out []*Machine
	for _, m := range st.Machines {
		if m.LinkedFrom != nil && m.LinkedFrom.VM == vm && (snap == "" || m.LinkedFrom.Snapshot == snap) {
			out = append(out, m)
		}
	}
	return out
}

// refreshLiveness turns a running or paused machine whose guest process is
// gone into aborted, as VirtualBox does when the VM process dies.
func refreshLiveness(st *State) {
	for _, m := range st.Machines {
		if (m.State == StateRunning || m.State == StatePaused) && !guestAlive(m.GuestPID, m.UUID) {
			m.State = StateAborted
			m.StateChange = time.Now().UTC()
			m.GuestPID = 0
		}
	}
}

// locked reports whether a session holds the machine at time now: its VM
// process (running or paused), a lingering lock after a stop, or another
// live simulator process in the middle of an operation on it.
func (m *Machine) locked(now time.Time, self int) bool {
	if m.State == StateRunning || m.State == StatePaused {
		return true
	}
	if m.Session == nil {
		return false
	}
	if now.Before(m.Session.Until) {
		return true
	}
	return m.Session.PID != 0 && m.Session.PID != self && pidAlive(m.Session.PID)
}

func trimBraces(s string) string {
	if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
		return s[1 : len(s)-1]
	}
	return s
}

// timeNow is the clock of state changes, in UTC as VBoxManage prints it.
var timeNow = func() time.Time { return time.Now().UTC() }
