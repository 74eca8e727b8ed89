package vbox

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseVMInfoReadsLocalhostReachablePerNATAdapter(t *testing.T) {
	head := "name=\"w1\"\nUUID=\"" + uuidA + "\"\nVMState=\"poweroff\"\n"
	tests := []struct {
		name     string
		out      string
		wantOpen []int
		wantNAT  []int
		// wantSet is, per NIC index, whether the setting was printed.
		wantSet map[int]bool
	}{
		{name: "7.x prints one value per NAT adapter after its settings",
			out: head + "natnet1=\"nat\"\nnic1=\"nat\"\nmtu=\"0\"\ntcpWndRcv=\"64\"\nlocalhostReachable=\"0\"\n" +
				"natnet2=\"nat\"\nnic2=\"nat\"\nmtu=\"0\"\nlocalhostReachable=\"1\"\nnic3=\"none\"\n",
			wantOpen: []int{2}, wantNAT: []int{1, 2}, wantSet: map[int]bool{1: true, 2: true, 3: false}},
		{name: "6.x prints nothing so nothing is known open",
			out:     head + "natnet1=\"nat\"\nnic1=\"nat\"\nmtu=\"0\"\ntcpWndRcv=\"64\"\nnic2=\"none\"\n",
			wantNAT: []int{1}, wantSet: map[int]bool{1: false, 2: false}},
		{name: "a value before any adapter is ignored",
			out:     head + "localhostReachable=\"1\"\nnic1=\"nat\"\n",
			wantNAT: []int{1}, wantSet: map[int]bool{1: false}},
		{name: "an unreadable value is not guessed",
			out:     head + "nic1=\"nat\"\nlocalhostReachable=\"maybe\"\n",
			wantNAT: []int{1}, wantSet: map[int]bool{1: false}},
		{name: "on and off spellings are read too",
			out:      head + "nic1=\"nat\"\nlocalhostReachable=\"on\"\r\n",
			wantOpen: []int{1}, wantNAT: []int{1}, wantSet: map[int]bool{1: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseVMInfo([]byte(tt.out))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.wantOpen, info.HostLoopbackOpen()); d != "" {
				t.Errorf("HostLoopbackOpen (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantNAT, info.NATAdapters()); d != "" {
				t.Errorf("NATAdapters (-want +got):\n%s", d)
			}
			for _, n := range info.NICs {
				if got := info.LocalhostSetting(n.Index) != ""; got != tt.wantSet[n.Index] {
					t.Errorf("nic %d setting known = %v, want %v", n.Index, got, tt.wantSet[n.Index])
				}
			}
		})
	}
}
