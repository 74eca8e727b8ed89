package vboxsim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseProfile(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Profile
		wantErr bool
	}{
		{name: "empty", text: "", want: Profile{Delays: map[string]time.Duration{}}},
		{name: "ops and comments", text: "# c\nboot = 27s # gitian#166\n\nshowvminfo=85ms\nscale = 0.5\n",
			want: Profile{Delays: map[string]time.Duration{"boot": 27 * time.Second, "showvminfo": 85 * time.Millisecond}, Scale: 0.5}},
		{name: "missing value", text: "boot =\n", wantErr: true},
		{name: "bad duration", text: "boot = soon\n", wantErr: true},
		{name: "negative", text: "boot = -1s\n", wantErr: true},
		{name: "bad scale", text: "scale = x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProfile(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestProfileScaleShrinksDelays(t *testing.T) {
	p := Profile{Delays: map[string]time.Duration{"boot": 10 * time.Second}, Scale: 0.01}
	if got := p.Delay("boot"); got != 100*time.Millisecond {
		t.Errorf("Delay = %v, want 100ms", got)
	}
}

// TestRealisticProfileCitesASourceForEveryNumber keeps each number next to
// where it came from, as VBOX-TIMINGS.md section 3 requires.
func TestRealisticProfileCitesASourceForEveryNumber(t *testing.T) {
	p, err := LoadProfile("realistic")
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"boot", "startvm", "startvm_saved", "snapshot_restore", "clonevm_link", "clonevm_full", "import", "snapshot_take", "lock_linger"} {
		if p.Delay(op) == 0 {
			t.Errorf("realistic profile has no %s", op)
		}
	}
	for _, line := range strings.Split(RealisticProfile(), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, src, ok := strings.Cut(line, "#"); !ok || strings.TrimSpace(src) == "" {
			t.Errorf("no source next to %q", line)
		}
	}
}

func TestParseFaults(t *testing.T) {
	got, err := ParseFaults([]byte(`[{"op":"startvm","kind":"abort","after":"2s"},{"id":"x","op":"list","nth":3}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Fault{{ID: "0", Op: "startvm", Kind: FaultAbort, After: Duration(2 * time.Second)}, {ID: "x", Op: "list", Nth: 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{`[{"kind":"abort"}]`, `[{"op":"x","kind":"nope"}]`, `{`, `[{"op":"x","after":"soon"}]`} {
		if _, err := ParseFaults([]byte(bad)); err == nil {
			t.Errorf("ParseFaults(%s) succeeded", bad)
		}
	}
}

func TestHitCountsNthAndTimes(t *testing.T) {
	st := &State{}
	faults := []Fault{{ID: "a", Op: "list", Nth: 2, Times: 2}, {ID: "b", Op: "list", VM: "other"}}
	var fired []int
	for i := 1; i <= 5; i++ {
		if len(hit(st, faults, "list", "vm", nil)) > 0 {
			fired = append(fired, i)
		}
	}
	if diff := cmp.Diff([]int{2, 3}, fired); diff != "" {
		t.Errorf("fired calls (-want +got):\n%s", diff)
	}
}

func TestParseOVFRoundTrip(t *testing.T) {
	in := ovfInfo{Name: "lucid32", OSType: "Ubuntu", Memory: 384, CPUs: 2, Disk: "box-disk1.vmdk"}
	got, err := parseOVF(renderOVF(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := parseOVF(strings.Replace(renderOVF(in), "box-disk1.vmdk", "../etc", 1)); err == nil {
		t.Error("a disk reference leaving the appliance folder was accepted")
	}
}

func TestParseRule(t *testing.T) {
	tests := []struct {
		in      string
		want    Forward
		wantErr bool
	}{
		{in: "ssh,tcp,127.0.0.1,2222,,22", want: Forward{Name: "ssh", Proto: "tcp", HostIP: "127.0.0.1", HostPort: 2222, GuestPort: 22}},
		{in: ",tcp,,32978,,22", want: Forward{Name: "tcp32978", Proto: "tcp", HostPort: 32978, GuestPort: 22}},
		{in: "a,icmp,,1,,2", wantErr: true},
		{in: "a,tcp,,1,2", wantErr: true},
		{in: "a,tcp,,70000,,2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRule(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseProfile(f *testing.F) {
	f.Add(RealisticProfile())
	f.Add("boot = 1s\nscale=0.1")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProfile(s)
		if err != nil {
			return
		}
		for op := range p.Delays {
			if p.Delay(op) < 0 {
				t.Fatalf("negative delay for %s", op)
			}
		}
	})
}

func FuzzParseFaults(f *testing.F) {
	f.Add(`[{"op":"startvm","kind":"no-ssh"}]`)
	f.Add(`[{"op":"list","nth":2,"times":-1,"block":"locked"}]`)
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ParseFaults([]byte(s))
		if err != nil {
			return
		}
		for _, fl := range fs {
			if fl.Op == "" || fl.ID == "" {
				t.Fatalf("accepted fault without op or id: %+v", fl)
			}
		}
	})
}

func FuzzParseOVF(f *testing.F) {
	f.Add(renderOVF(ovfInfo{Name: "a", Disk: "d.vmdk", Memory: 1, CPUs: 1}))
	f.Fuzz(func(t *testing.T, s string) {
		i, err := parseOVF(s)
		if err != nil {
			return
		}
		if strings.Contains(i.Disk, "..") || strings.HasPrefix(i.Disk, "/") {
			t.Fatalf("unsafe disk reference accepted: %q", i.Disk)
		}
	})
}

func FuzzParseRule(f *testing.F) {
	f.Add("ssh,tcp,127.0.0.1,2222,,22")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRule(s)
		if err != nil {
			return
		}
		if r.Name == "" || r.HostPort < 0 || r.HostPort > 65535 {
			t.Fatalf("bad rule accepted: %+v", r)
		}
	})
}
