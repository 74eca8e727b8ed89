package vbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func infoWith(name, uuid, state string, forwards ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%q\nUUID=%q\nVMState=%q\nnic1=\"nat\"\n", name, uuid, state)
	for i, f := range forwards {
		fmt.Fprintf(&b, "Forwarding(%d)=%q\n", i, f)
	}
	return b.String()
}

func TestAllocateForward(t *testing.T) {
	ctx := context.Background()
	list := step{args: []string{"list", "vms"}, stdout: `"Ubuntu" {` + uuidA + "}\n\"go-virtualbox\" {" + uuidB + "}\n"}
	tests := []struct {
		name    string
		steps   []step
		want    Forward
		wantErr error
	}{
		{name: "lowest port no VM uses, on a stopped VM",
			steps: []step{list,
				{args: []string{"showvminfo", uuidA, "--machinereadable"}, stdout: infoWith("Ubuntu", uuidA, "running", "ssh,tcp,127.0.0.1,2222,,22")},
				{args: []string{"showvminfo", uuidB, "--machinereadable"}, stdout: infoWith("go-virtualbox", uuidB, "poweroff", "web,tcp,,2223,,80")},
				{args: []string{"modifyvm", "go-virtualbox", "--natpf1", "ssh,tcp,127.0.0.1,2224,,22"}},
			},
			want: Forward{NIC: 1, Name: "ssh", Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2224, GuestPort: 22}},
		{name: "existing rule is returned unchanged",
			steps: []step{list,
				{args: []string{"showvminfo", uuidA, "--machinereadable"}, stdout: infoWith("Ubuntu", uuidA, "running")},
				{args: []string{"showvminfo", uuidB, "--machinereadable"}, stdout: infoWith("go-virtualbox", uuidB, "poweroff", "ssh,tcp,127.0.0.1,2223,,22")},
			},
			want: Forward{NIC: 1, Name: "ssh", Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2223, GuestPort: 22}},
		{name: "a VM deleted since the list frees its ports",
			steps: []step{list,
				{args: []string{"showvminfo", uuidA, "--machinereadable"}, stderr: sample(t, "error-not-found-showvminfo-5.x.txt"), exit: 1},
				{args: []string{"showvminfo", uuidB, "--machinereadable"}, stdout: infoWith("go-virtualbox", uuidB, "running")},
				{args: []string{"controlvm", "go-virtualbox", "natpf1", "ssh,tcp,127.0.0.1,2222,,22"}},
			},
			want: Forward{NIC: 1, Name: "ssh", Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2222, GuestPort: 22}},
		{name: "full range",
			steps: []step{list,
				{args: []string{"showvminfo", uuidA, "--machinereadable"}, stdout: infoWith("Ubuntu", uuidA, "running", "a,tcp,,2222,,1", "b,tcp,,2223,,1")},
				{args: []string{"showvminfo", uuidB, "--machinereadable"}, stdout: infoWith("go-virtualbox", uuidB, "poweroff", "c,udp,,2224,,1")},
			},
			wantErr: ErrNoFreePort},
		{name: "VM not registered",
			steps: []step{{args: []string{"list", "vms"}, stdout: `"Ubuntu" {` + uuidA + "}\n"},
				{args: []string{"showvminfo", uuidA, "--machinereadable"}, stdout: infoWith("Ubuntu", uuidA, "running")},
			},
			wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := transcriptDriver(t, tt.steps...)
			got, err := d.AllocateForward(ctx, "go-virtualbox", "ssh", 22)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("AllocateForward = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// fakeHost is a shared, in-memory VirtualBox with only what port allocation needs. Several
// drivers (standing for several agent processes) use it at once.
type fakeHost struct {
	mu    sync.Mutex
	names []string
	rules map[string][]string
}

func (h *fakeHost) run(_ context.Context, args []string, _ io.Writer) (result, error) {
	runtime.Gosched() // widen the window a missing lock would leave open
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case len(args) == 2 && args[0] == "list":
		var b strings.Builder
		for i, n := range h.names {
			fmt.Fprintf(&b, "%q {%08x-0000-0000-0000-000000000000}\n", n, i)
		}
		return result{stdout: []byte(b.String())}, nil
	case args[0] == "showvminfo":
		var i int
		fmt.Sscanf(args[1], "%08x", &i)
		return result{stdout: []byte(infoWith(h.names[i], args[1], "poweroff", h.rules[h.names[i]]...))}, nil
	case args[0] == "modifyvm" && strings.HasPrefix(args[2], "--natpf"):
		h.rules[args[1]] = append(h.rules[args[1]], args[3])
		return result{}, nil
	}
	return result{exitCode: 2, stderr: []byte("VBoxManage: error: unexpected call\n")}, nil
}

func TestAllocateForwardIsExclusiveAcrossDrivers(t *testing.T) {
	host := &fakeHost{rules: map[string][]string{}}
	for i := range 12 {
		host.names = append(host.names, fmt.Sprintf("w%d", i))
	}
	lockDir := t.TempDir()
	var drivers []*Driver
	for range 3 { // three agents on one host, sharing only the lock directory
		d := New(Config{LockDir: lockDir, PortRange: [2]int{3000, 3099}, RetryBase: time.Microsecond}, nil)
		d.run = host.run
		drivers = append(drivers, d)
	}
	var wg sync.WaitGroup
	ports := make([]int, len(host.names))
	for i, name := range host.names {
		wg.Go(func() {
			f, err := drivers[i%len(drivers)].AllocateForward(context.Background(), name, "ssh", 22)
			if err != nil {
				t.Error(err)
			}
			ports[i] = f.HostPort
		})
	}
	wg.Wait()
	seen := map[int]string{}
	for i, p := range ports {
		if other, dup := seen[p]; dup {
			t.Errorf("port %d given to %s and %s", p, other, host.names[i])
		}
		seen[p] = host.names[i]
	}
}
