package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/fleet-agent/fleet/"

// forbidden maps a package (relative to the module) to the module packages it must never import,
// directly or through another package. A prefix ending in "/..." covers a whole subtree.
var forbidden = map[string][]string{
	"spec":         {"vbox/...", "chef/...", "queue/...", "guest/...", "reconcile/...", "sandbox/...", "agent/...", "qemu/..."},
	"vbox":         {"vbox/vboxsim/...", "spec/...", "chef/...", "queue/...", "guest/...", "reconcile/...", "sandbox/...", "agent/...", "qemu/..."},
	"vbox/vboxsim": {"vbox", "spec/...", "chef/...", "queue/...", "guest/...", "reconcile/...", "sandbox/...", "agent/...", "qemu/..."},
	"guest":        {"vbox/...", "spec/...", "chef/...", "queue/...", "reconcile/...", "sandbox/...", "agent/...", "qemu/..."},
	"chef":         {"vbox/...", "spec/...", "queue/...", "reconcile/...", "sandbox/...", "agent/...", "qemu/..."},
	"queue":        {"vbox/...", "spec/...", "chef/...", "guest/...", "reconcile/...", "sandbox/...", "agent/...", "qemu/..."},
	"reconcile":    {"queue/...", "sandbox/...", "agent/..."},
	"sandbox":      {"reconcile/...", "agent/...", "chef/..."},
	"report":       {"vbox/...", "chef/...", "guest/...", "reconcile/...", "sandbox/...", "agent/...", "qemu/..."},
}

type listed struct {
	ImportPath string
	Deps       []string
}

func TestPackagesRespectTheLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Deps", "github.com/fleet-agent/fleet/...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p listed
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		seen++
		rel := strings.TrimPrefix(p.ImportPath, module)
		rules, ok := forbidden[rel]
		if !ok {
			continue
		}
		for _, dep := range p.Deps {
			if !strings.HasPrefix(dep, module) {
				continue
			}
			d := strings.TrimPrefix(dep, module)
			for _, rule := range rules {
				if matches(rule, d) {
					t.Errorf("%s imports %s (rule %q): dependencies must point inward", rel, d, rule)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("go list returned no packages")
	}
}

func matches(rule, pkg string) bool {
	if base, ok := strings.CutSuffix(rule, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == rule
}

func TestMatches(t *testing.T) {
	tests := []struct {
		rule, pkg string
		want      bool
	}{
		{"vbox/...", "vbox", true},
		{"vbox/...", "vbox/vboxsim", true},
		{"vbox/...", "vboxer", false},
		{"vbox", "vbox/vboxsim", false},
		{"vbox", "vbox", true},
	}
	for _, tt := range tests {
		if got := matches(tt.rule, tt.pkg); got != tt.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tt.rule, tt.pkg, got, tt.want)
		}
	}
}
