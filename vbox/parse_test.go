package vbox

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	uuidA = "2e16b1fc-675d-4a7a-a9a1-e89a8bde7874"
	uuidB = "def44546-e3da-4902-8d15-b91c99c80cbc"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []VMRef
		wantErr error
	}{
		{name: "empty output is no VMs", out: ""},
		{name: "quote and brace in a name end at the last brace pair",
			out:  `"a "b" {c}" {` + uuidA + "}\n",
			want: []VMRef{{Name: `a "b" {c}`, UUID: uuidA}}},
		{name: "upper-case UUID is lowered",
			out:  `"x" {2E16B1FC-675D-4A7A-A9A1-E89A8BDE7874}` + "\n",
			want: []VMRef{{Name: "x", UUID: uuidA}}},
		{name: "name spanning lines is rejoined",
			out:  "\"one\ntwo\nthree\" {" + uuidA + "}\n\"b\" {" + uuidB + "}\n",
			want: []VMRef{{Name: "one\ntwo\nthree", UUID: uuidA}, {Name: "b", UUID: uuidB}}},
		{name: "unterminated name does not swallow the next entry",
			out:  "\"broken\n\"b\" {" + uuidB + "}\n",
			want: []VMRef{{Name: "b", UUID: uuidB}}},
		{name: "warning block before the list is skipped",
			out:  "WARNING: The vboxdrv kernel module is not loaded.\n         Please run ...\n\n\"b\" {" + uuidB + "}\n",
			want: []VMRef{{Name: "b", UUID: uuidB}}},
		{name: "CRLF line endings",
			out:  "\"a\" {" + uuidA + "}\r\n\"b\" {" + uuidB + "}\r\n",
			want: []VMRef{{Name: "a", UUID: uuidA}, {Name: "b", UUID: uuidB}}},
		{name: "human output is unexpected", out: "Name:            x\nGroups: /\n", wantErr: ErrUnexpectedOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList([]byte(tt.out))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMachineReadable(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want []KeyValue
	}{
		{name: "7.x escapes in values and quoted keys",
			out:  `description="say \"hi\" C:\\dir"` + "\n" + `"SATA \"x\"-0-0"="none"` + "\n",
			want: []KeyValue{{"description", `say "hi" C:\dir`}, {`SATA "x"-0-0`, "none"}}},
		{name: "raw backslashes of older versions stay",
			out:  `"IDE-1-0"="C:\Program Files\Oracle\VBoxGuestAdditions.iso"` + "\n",
			want: []KeyValue{{"IDE-1-0", `C:\Program Files\Oracle\VBoxGuestAdditions.iso`}}},
		{name: "multi-line value does not forge keys",
			out:  "description=\"line1\nname=forged\nlast\"\nmemory=1\n",
			want: []KeyValue{{"description", "line1\nname=forged\nlast"}, {"memory", "1"}}},
		{name: "quoted prefix with extra text is raw",
			out:  `VideoMode="720,400,0"@0,0 1` + "\nvrde=\"off\"\n",
			want: []KeyValue{{"VideoMode", `"720,400,0"@0,0 1`}, {"vrde", "off"}}},
		{name: "unquoted values split on the first equals sign",
			out:  "videocapopts=ac_enabled=false\nvrdeproperty[TCP/Ports]=<not set>\nVRDEClients==0\nGuestAdditionsFacility_VirtualBox Base Driver=50,1458910695598\n",
			want: []KeyValue{{"videocapopts", "ac_enabled=false"}, {"vrdeproperty[TCP/Ports]", "<not set>"}, {"VRDEClients", "=0"}, {"GuestAdditionsFacility_VirtualBox Base Driver", "50,1458910695598"}}},
		{name: "lines without a key are skipped",
			out:  "name=\"a\"\nEncryption:     disabled\n rec_screen0\n\nBIOS NVRAM File=\"/x.nvram\"\n",
			want: []KeyValue{{"name", "a"}, {"BIOS NVRAM File", "/x.nvram"}}},
		{name: "duplicate keys are kept in order",
			out:  "mtu=\"0\"\nmtu=\"1500\"\n",
			want: []KeyValue{{"mtu", "0"}, {"mtu", "1500"}}},
		{name: "raw snapshot name with a quote",
			out:  `SnapshotName="a"b"` + "\n",
			want: []KeyValue{{"SnapshotName", `a"b`}}},
		{name: "unterminated value at the end keeps its first line",
			out:  "description=\"open\nmore\n",
			want: []KeyValue{{"description", "open"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMachineReadable([]byte(tt.out))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LF (-want +got):\n%s", diff)
			}
			got = parseMachineReadable(crlf([]byte(tt.out)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CRLF (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseVMInfo(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    *VMInfo
		wantErr error
	}{
		{name: "aborted-saved keeps its hyphen and forwards follow their NAT adapter",
			out: `name="w1"
UUID="` + uuidA + `"
VMState="aborted-saved"
memory=1536
cpus=2
nic1="nat"
Forwarding(0)="ssh,tcp,127.0.0.1,2222,,22"
nic2="nat"
Forwarding(0)="web,udp,,8080,10.0.2.15,80"
Forwarding(1)="bad,tcp,,x,,80"
nic3="none"
description="a
b"
CurrentSnapshotName="ready"
CurrentSnapshotUUID="` + uuidB + `"
`,
			want: &VMInfo{Name: "w1", UUID: uuidA, State: "aborted-saved", Memory: 1536, CPUs: 2,
				Description: "a\nb", CurrentSnapshot: "ready", CurrentSnapshotUUID: uuidB,
				NICs: []NIC{{Index: 1, Attachment: "nat"}, {Index: 2, Attachment: "nat"}, {Index: 3, Attachment: "none"}},
				Forwards: []Forward{
					{NIC: 1, Name: "ssh", Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2222, GuestPort: 22},
					{NIC: 2, Name: "web", Proto: "udp", HostPort: 8080, GuestIP: "10.0.2.15", GuestPort: 80},
				}}},
		{name: "inaccessible VM",
			out:  "name=\"<inaccessible>\"\nUUID=\"" + uuidA + "\"\n",
			want: &VMInfo{Name: "<inaccessible>", UUID: uuidA, Inaccessible: true}},
		{name: "snapshot keys make a tree",
			out:  "name=\"s\"\nSnapshotName=\"golden\"\nSnapshotUUID=\"" + uuidA + "\"\nCurrentSnapshotName=\"golden\"\n",
			want: &VMInfo{Name: "s", CurrentSnapshot: "golden", Snapshots: &SnapshotTree{Root: &Snapshot{Name: "golden", UUID: uuidA}, CurrentName: "golden"}}},
		{name: "human output is unexpected", out: "Name:            x\nState:   running\n", wantErr: ErrUnexpectedOutput},
		{name: "empty output is unexpected", out: "", wantErr: ErrUnexpectedOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, out := range []string{tt.out, string(crlf([]byte(tt.out)))} {
				got, err := ParseVMInfo([]byte(out))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(VMInfo{}, "Raw")); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestParseSnapshots(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    *SnapshotTree
		wantErr error
	}{
		{name: "no snapshots message is an empty tree", out: "This machine does not have any snapshots\n", want: &SnapshotTree{}},
		{name: "raw multi-line description and a quote in a name",
			out: "SnapshotName=\"golden\"\nSnapshotUUID=\"" + uuidA + "\"\nSnapshotDescription=\"built by\nfleet\"\n" +
				"SnapshotName-1=\"say \"ready\"\"\nSnapshotUUID-1=\"" + uuidB + "\"\n" +
				"CurrentSnapshotName=\"say \"ready\"\"\nCurrentSnapshotUUID=\"" + uuidB + "\"\nCurrentSnapshotNode=\"SnapshotName-1\"\n",
			want: &SnapshotTree{
				Root:        &Snapshot{Name: "golden", UUID: uuidA, Description: "built by\nfleet", Children: []*Snapshot{{Name: `say "ready"`, UUID: uuidB}}},
				CurrentName: `say "ready"`, CurrentUUID: uuidB}},
		{name: "child without parent", out: "SnapshotName=\"a\"\nSnapshotName-1-1=\"b\"\n", wantErr: ErrUnexpectedOutput},
		{name: "UUID before name", out: "SnapshotUUID=\"" + uuidA + "\"\n", wantErr: ErrUnexpectedOutput},
		{name: "human format", out: "   Name: clean (UUID: " + uuidA + ") *\n", wantErr: ErrUnexpectedOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, out := range []string{tt.out, string(crlf([]byte(tt.out)))} {
				got, err := ParseSnapshots([]byte(out))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestSnapshotTreeFind(t *testing.T) {
	tree, err := ParseSnapshots(readSample(t, "snapshot-list-nested.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query, wantUUID string
	}{
		{"duplicate name finds the first in pre-order", "Snapshot 2", "8e12833b-c6b5-4cbd-b42b-09eff8ffc173"},
		{"UUID finds the exact node", "7b093686-2981-4ada-8b0f-4c03ae23cd1a", "7b093686-2981-4ada-8b0f-4c03ae23cd1a"},
		{"upper-case UUID", "7B093686-2981-4ADA-8B0F-4C03AE23CD1A", "7b093686-2981-4ada-8b0f-4c03ae23cd1a"},
		{"unknown", "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if s := tree.Find(tt.query); s != nil {
				got = s.UUID
			}
			if got != tt.wantUUID {
				t.Errorf("Find(%q) = %q, want %q", tt.query, got, tt.wantUUID)
			}
		})
	}
	if n := len(tree.All()); n != 11 {
		t.Errorf("All() has %d snapshots, want 11", n)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    Version
		wantErr error
	}{
		{name: "OSE suffix after the revision", out: "4.1.8r1234_OSE\n", want: Version{Major: 4, Minor: 1, Patch: 8, Revision: 1234, Build: "_OSE", Raw: "4.1.8r1234_OSE"}},
		{name: "MacPorts suffix before the revision", out: "4.1.8_MacPortsr1234\n", want: Version{Major: 4, Minor: 1, Patch: 8, Revision: 1234, Build: "_MacPorts", Raw: "4.1.8_MacPortsr1234"}},
		{name: "no revision", out: "7.0.14\r\n", want: Version{Major: 7, Minor: 0, Patch: 14, Raw: "7.0.14"}},
		{name: "empty output", out: "", wantErr: ErrUnexpectedOutput},
		{name: "warning only", out: "WARNING: The vboxdrv kernel module is not loaded.\n", wantErr: ErrUnexpectedOutput},
		{name: "not a version", out: "Oracle VM VirtualBox Command Line Management Interface\n", wantErr: ErrUnexpectedOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVersion([]byte(tt.out))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if v := (Version{Major: 7, Minor: 0}); !v.AtLeast(6, 1) || v.AtLeast(7, 1) {
		t.Errorf("AtLeast compares major.minor wrongly for %v", v)
	}
}

func TestParseExtraData(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    map[string]string
		wantErr error
	}{
		{name: "no keys", out: "", want: map[string]string{}},
		{name: "fleet keys",
			out:  "Key: fleet/owner, Value: build-01\nKey: fleet/role, Value: worker\nKey: fleet/note, Value: a, Value: b\n",
			want: map[string]string{"fleet/owner": "build-01", "fleet/role": "worker", "fleet/note": "a, Value: b"}},
		{name: "value with a newline continues", out: "Key: k, Value: a\nb\n", want: map[string]string{"k": "a\nb"}},
		{name: "garbage", out: "nonsense\n", wantErr: ErrUnexpectedOutput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExtraData(crlf([]byte(tt.out)))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgressWriterReportsStepsAsTheyArrive(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []int
	}{
		{name: "steps split across writes", chunks: []string{"0%...1", "0%...20", "%...", "100%\n"}, want: []int{0, 10, 20, 100}},
		{name: "second progress line after Interpreting does not go back",
			chunks: []string{"0%...100%\nInterpreting /x/box.ovf...\nOK.\n0%...50%...100%\n"}, want: []int{0, 100}},
		{name: "percent in an error line is not progress", chunks: []string{"VBoxManage: error: 100% wrong\n"}},
		{name: "CRLF", chunks: []string{"0%...10%...\r\n"}, want: []int{0, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			w := newProgressWriter(func(p int) { got = append(got, p) })
			for _, c := range tt.chunks {
				if _, err := w.Write([]byte(c)); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
