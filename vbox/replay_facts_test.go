package vbox

// The facts half of replay: for every call whose output the driver parses (showvminfo,
// list vms/runningvms, snapshot list, getextradata enumerate, snapshot take), the recorded
// output and the simulator's are parsed by the driver's own parsers into the facts the agent
// acts on, and compared. Host-specific details (settings file paths, state-change times,
// descriptions) are left out; UUIDs are compared through the pairing replay builds.

import (
	"fmt"
	"sort"
	"strings"
)

// callFacts is what the driver learns from one call's stdout, in a comparable form; ok is
// false for calls whose output the driver does not parse.
func callFacts(args []string, exit int, stdout string, uuid func(string) string) (facts []string, ok bool, err error) {
	if exit != 0 || len(args) == 0 {
		return nil, false, nil
	}
	out := []byte(stdout)
	has := func(s string) bool {
		for _, a := range args {
			if a == s {
				return true
			}
		}
		return false
	}
	switch {
	case args[0] == "showvminfo" && has("--machinereadable"):
		info, err := ParseVMInfo(out)
		if err != nil {
			return nil, true, err
		}
		f := []string{
			"name=" + info.Name, "uuid=" + uuid(info.UUID), "state=" + info.State,
			fmt.Sprintf("memory=%d", info.Memory), fmt.Sprintf("cpus=%d", info.CPUs),
			"session=" + info.SessionName, fmt.Sprintf("inaccessible=%t", info.Inaccessible),
			"current_snapshot=" + info.CurrentSnapshot, "current_snapshot_uuid=" + uuid(info.CurrentSnapshotUUID),
		}
		for _, n := range info.NICs {
			f = append(f, fmt.Sprintf("nic%d=%s", n.Index, n.Attachment))
		}
		for _, fw := range info.Forwards {
			f = append(f, fmt.Sprintf("forward nic%d %s", fw.NIC, fw.Rule()))
		}
		f = append(f, snapshotFacts(info.Snapshots, uuid)...)
		return f, true, nil
	case args[0] == "list" && len(args) > 1 && (args[1] == "vms" || args[1] == "runningvms"):
		refs, err := ParseList(out)
		if err != nil {
			return nil, true, err
		}
		var f []string
		for _, r := range refs {
			f = append(f, fmt.Sprintf("vm %q %s inaccessible=%t", r.Name, uuid(r.UUID), r.Inaccessible))
		}
		sort.Strings(f)
		return f, true, nil
	case args[0] == "snapshot" && len(args) > 2 && args[2] == "list" && has("--machinereadable"):
		tree, err := ParseSnapshots(out)
		if err != nil {
			return nil, true, err
		}
		return snapshotFacts(tree, uuid), true, nil
	case args[0] == "snapshot" && len(args) > 2 && args[2] == "take":
		u, err := parseSnapshotTaken(out)
		if err != nil {
			return nil, true, err
		}
		return []string{"taken=" + uuid(u)}, true, nil
	case args[0] == "getextradata" && len(args) > 2 && args[2] == "enumerate":
		m, err := parseExtraData(out)
		if err != nil {
			return nil, true, err
		}
		var f []string
		for k, v := range m {
			f = append(f, k+"="+v)
		}
		sort.Strings(f)
		return f, true, nil
	}
	return nil, false, nil
}

func snapshotFacts(t *SnapshotTree, uuid func(string) string) []string {
	if t == nil || t.Root == nil {
		return []string{"snapshots=none"}
	}
	var f []string
	var walk func(s *Snapshot, depth int)
	walk = func(s *Snapshot, depth int) {
		f = append(f, fmt.Sprintf("snapshot %s%q %s", strings.Repeat("  ", depth), s.Name, uuid(s.UUID)))
		for _, c := range s.Children {
			walk(c, depth+1)
		}
	}
	walk(t.Root, 0)
	return append(f, "current="+t.CurrentName+" "+uuid(t.CurrentUUID))
}
