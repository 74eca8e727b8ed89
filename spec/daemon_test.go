package spec

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDaemonBlocks checks the reconcile and metrics blocks' defaults and values; their invalid
// values are covered by testdata/invalid/daemon.hcl.
func TestDaemonBlocks(t *testing.T) {
	const base = "box \"b\" {\n  version = \"1\"\n  url = \"file:b.box\"\n}\npool \"p\" { box = \"b\" }\n"
	cases := []struct {
		name          string
		src           string
		wantReconcile Reconcile
		wantMetrics   Metrics
	}{
		{"defaults: 30s resync, no metrics", base, Reconcile{Resync: 30 * time.Second}, Metrics{}},
		{"resync set", base + "reconcile { resync = \"2m\" }\n", Reconcile{Resync: 2 * time.Minute}, Metrics{}},
		{"metrics on loopback", base + "metrics { listen = \"127.0.0.1:9464\" }\n",
			Reconcile{Resync: 30 * time.Second}, Metrics{Listen: "127.0.0.1:9464"}},
		{"metrics on every interface", base + "metrics { listen = \":9464\" }\n",
			Reconcile{Resync: 30 * time.Second}, Metrics{Listen: ":9464"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, diags := LoadBytes("/etc/fleet/fleet.hcl", []byte(c.src))
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if diff := cmp.Diff(c.wantReconcile, f.Reconcile); diff != "" {
				t.Errorf("reconcile (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.wantMetrics, f.Metrics); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
		})
	}
}
