package vbox

// This file parses `snapshot VM list --machinereadable` (and the same keys inside showvminfo):
// a pre-order walk where each node's suffix is its parent's plus "-<index>", with the three
// Current* lines right after the current node.

import (
	"fmt"
	"regexp"
	"strings"
)

// Snapshot is one node of a VM's snapshot tree.
type Snapshot struct {
	Name        string
	UUID        string
	Description string
	Children    []*Snapshot
}

// SnapshotTree is a VM's snapshots. VirtualBox has at most one root snapshot. Names are not
// unique; act on UUIDs.
type SnapshotTree struct {
	Root        *Snapshot // nil when the VM has no snapshots
	CurrentName string
	CurrentUUID string
}

// noSnapshots is what every version prints, on stdout with exit 1, for a VM without snapshots.
const noSnapshots = "This machine does not have any snapshots"

var snapshotKey = regexp.MustCompile(`^Snapshot(Name|UUID|Description)((?:-\d+)*)$`)

// ParseSnapshots parses `snapshot VM list --machinereadable`. The "does not have any
// snapshots" message and empty output are an empty tree. Output without snapshot entries (the
// human format) and a node whose parent was not printed are ErrUnexpectedOutput.
func ParseSnapshots(out []byte) (*SnapshotTree, error) {
	lines := skipWarnings(splitLines(out))
	text := strings.TrimSpace(strings.Join(lines, "\n"))
	if text == "" || text == noSnapshots {
		return &SnapshotTree{}, nil
	}
	tree, err := snapshotTree(parseMachineReadable(out))
	if err != nil {
		return nil, fmt.Errorf("parse snapshots: %w", err)
	}
	if tree.Root == nil {
		return nil, fmt.Errorf("parse snapshots: no snapshot entries: %w", ErrUnexpectedOutput)
	}
	return tree, nil
}

// snapshotTree builds the tree from the snapshot entries among kvs; other keys are ignored.
func snapshotTree(kvs []KeyValue) (*SnapshotTree, error) {
	tree := &SnapshotTree{}
	nodes := map[string]*Snapshot{}
	for _, kv := range kvs {
		switch kv.Key {
		case "CurrentSnapshotName":
			tree.CurrentName = kv.Value
			continue
		case "CurrentSnapshotUUID":
			tree.CurrentUUID = strings.ToLower(kv.Value)
			continue
		}
		if !strings.HasPrefix(kv.Key, "Snapshot") {
			continue
		}
		m := snapshotKey.FindStringSubmatch(kv.Key)
		if m == nil {
			continue
		}
		suffix := m[2]
		n := nodes[suffix]
		if n == nil {
			if m[1] != "Name" {
				return nil, fmt.Errorf("%s before its name: %w", kv.Key, ErrUnexpectedOutput)
			}
			n = &Snapshot{}
			if suffix == "" {
				if tree.Root != nil {
					return nil, fmt.Errorf("second root snapshot: %w", ErrUnexpectedOutput)
				}
				tree.Root = n
			} else {
				parent := nodes[suffix[:strings.LastIndexByte(suffix, '-')]]
				if parent == nil {
					return nil, fmt.Errorf("snapshot %s without parent: %w", suffix, ErrUnexpectedOutput)
				}
				parent.Children = append(parent.Children, n)
			}
			nodes[suffix] = n
		}
		switch m[1] {
		case "Name":
			n.Name = kv.Value
		case "UUID":
			n.UUID = strings.ToLower(kv.Value)
		case "Description":
			n.Description = kv.Value
		}
	}
	return tree, nil
}

// All returns every snapshot in pre-order (a parent before its children).
func (t *SnapshotTree) All() []*Snapshot {
	var all []*Snapshot
	var walk func(*Snapshot)
	walk = func(s *Snapshot) {
		all = append(all, s)
		for _, c := range s.Children {
			walk(c)
		}
	}
	if t != nil && t.Root != nil {
		walk(t.Root)
	}
	return all
}

// Find returns the snapshot with the given UUID, or else the first in pre-order with the
// given name (VirtualBox's own rule for names), or nil.
func (t *SnapshotTree) Find(nameOrUUID string) *Snapshot {
	all := t.All()
	for _, s := range all {
		if s.UUID == strings.ToLower(nameOrUUID) {
			return s
		}
	}
	for _, s := range all {
		if s.Name == nameOrUUID {
			return s
		}
	}
	return nil
}
