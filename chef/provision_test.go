package chef

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fleet-agent/fleet/chef/chefsim"
	"github.com/google/go-cmp/cmp"
)

const provisionCookbooks = "testdata/provision/cookbooks"

// bundleFor resolves recipes in testdata/provision and bundles them with attrs.
func bundleFor(t *testing.T, recipes []string, attrs map[string]any) []byte {
	t.Helper()
	res, err := Resolve([]string{provisionCookbooks}, recipes)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Bundle(res, Node{Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProvisionRunsChefSoloWithTheRunList(t *testing.T) {
	g := newLocalGuest(t)
	attrs := map[string]any{"rvm": map[string]any{"rubies": []any{"1.9.2"}}}
	var log bytes.Buffer
	err := Provision(context.Background(), g, bundleFor(t, []string{"app"}, attrs), Options{}, &log)
	if err != nil {
		t.Fatalf("Provision: %v\nlog:\n%s", err, log.String())
	}
	runs, err := chefsim.ReadRuns(g.root)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("stand-in ran %d times, want 1", len(runs))
	}
	got := runs[0]
	want := chefsim.Run{
		RunList:    []string{"recipe[app]"},
		Applied:    []string{"base::default", "app::default"},
		Attributes: attrs,
		User:       "vagrant",
		OK:         true,
	}
	ignore := func(r chefsim.Run) chefsim.Run { r.Config, r.JSON, r.CookbookPath = "", "", nil; return r }
	if diff := cmp.Diff(want, ignore(got)); diff != "" {
		t.Errorf("recorded run (-want +got):\n%s", diff)
	}
	if filepath.Base(got.Config) != "solo.rb" || len(got.CookbookPath) != 1 || filepath.Dir(got.CookbookPath[0]) != filepath.Dir(got.Config) {
		t.Errorf("stand-in read config %s with cookbook_path %v, want the bundle's", got.Config, got.CookbookPath)
	}
	for _, line := range []string{"chef-solo-sim", "Recipe: app::default", "INFO: app applied"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, log.String())
		}
	}
	if b, err := os.ReadFile(filepath.Join(g.home, "converged.txt")); err != nil || string(b) != "converged\n" {
		t.Errorf("the execute resource left %q, %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(g.root, "tmp", "fleet-chef.*")); len(left) != 0 {
		t.Errorf("unpacked folders left behind: %v", left)
	}
}

func TestProvisionFailureCarriesChefsLastLinesAndRecipe(t *testing.T) {
	tests := []struct {
		name       string
		recipes    []string
		extra      string // a run-list entry added after resolution, as if the bundle lacked it
		wantRecipe string
		wantLine   string
	}{
		{name: "a resource fails", recipes: []string{"base", "broken"}, wantRecipe: "broken",
			wantLine: "Expected process to exit with [0], but received '3'"},
		{name: "a recipe is missing from the uploaded cookbooks", recipes: []string{"base"}, extra: "ghost::server",
			wantRecipe: "ghost", wantLine: "FATAL: Chef::Exceptions::CookbookNotFound: Cookbook ghost not found"},
		{name: "a recipe file is missing", recipes: []string{"base"}, extra: "base::server",
			wantRecipe: "base::server", wantLine: "could not find recipe server for cookbook base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newLocalGuest(t)
			res, err := Resolve([]string{provisionCookbooks}, tt.recipes)
			if err != nil {
				t.Fatal(err)
			}
			if tt.extra != "" {
				res.RunList = append(res.RunList, tt.extra)
			}
			bundle, err := Bundle(res, Node{})
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			err = Provision(context.Background(), g, bundle, Options{TailLines: 8}, &log)
			var pe *ProvisionError
			if !errors.As(err, &pe) {
				t.Fatalf("Provision error %v, want a *ProvisionError\nlog:\n%s", err, log.String())
			}
			got := []any{pe.Step, pe.ExitCode, pe.Recipe, len(pe.Tail)}
			if diff := cmp.Diff([]any{"chef-solo", 1, tt.wantRecipe, 8}, got); diff != "" {
				t.Errorf("step, exit code, recipe, tail length (-want +got):\n%s", diff)
			}
			if !strings.Contains(strings.Join(pe.Tail, "\n"), tt.wantLine) {
				t.Errorf("tail lacks %q:\n%s", tt.wantLine, strings.Join(pe.Tail, "\n"))
			}
			if !strings.Contains(pe.Error(), tt.wantLine) || !strings.Contains(pe.Error(), "recipe "+tt.wantRecipe) {
				t.Errorf("error text lacks the line or the recipe:\n%v", pe)
			}
			if st, err := os.Stat(pe.Dir); err != nil || !st.IsDir() {
				t.Errorf("failed run's folder %q not kept for debugging: %v", pe.Dir, err)
			}
			runs, err := chefsim.ReadRuns(g.root)
			if err != nil || len(runs) != 1 || runs[0].OK {
				t.Errorf("recorded runs %+v, %v: want one failed run", runs, err)
			}
		})
	}
}

func TestProvisionKillsARunThatExceedsTheTimeout(t *testing.T) {
	g := newLocalGuest(t)
	var log bytes.Buffer
	err := Provision(context.Background(), g, bundleFor(t, []string{"slow"}, nil), Options{Timeout: 2 * time.Second}, &log)
	var pe *ProvisionError
	if !errors.As(err, &pe) || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Provision error %v, want a *ProvisionError wrapping ErrTimeout and the deadline", err)
	}
	if pe.Step != "chef-solo" {
		t.Errorf("step %q, want chef-solo", pe.Step)
	}
	// The recipe's command wrote its pid before sleeping; it must be gone with its group.
	b, err := os.ReadFile(filepath.Join(g.home, "slow.pid"))
	if err != nil {
		t.Skipf("the recipe did not start before the timeout on this machine: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("recipe process %d still alive after the timeout", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProvisionStopsAtTheFirstFailingStep(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		bundle   []byte
		wantStep string
	}{
		{"folder cannot be made", Options{Dir: "/proc/fleet-chef-test"}, []byte("x"), "prepare"},
		{"bundle is not a tar.gz", Options{}, []byte("not a tarball"), "unpack"},
		{"chef-solo missing", Options{ChefSolo: "/nonexistent/chef-solo"}, nil, "chef-solo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newLocalGuest(t)
			bundle := tt.bundle
			if bundle == nil {
				bundle = bundleFor(t, []string{"base"}, nil)
			}
			err := Provision(context.Background(), g, bundle, tt.opts, nil)
			var pe *ProvisionError
			if !errors.As(err, &pe) {
				t.Fatalf("Provision error %v, want a *ProvisionError", err)
			}
			if pe.Step != tt.wantStep || pe.ExitCode <= 0 {
				t.Errorf("step %q exit code %d, want step %q and a non-zero exit code: %v", pe.Step, pe.ExitCode, tt.wantStep, err)
			}
		})
	}
}

func TestProvisionIntoAGivenFolderReplacesIt(t *testing.T) {
	g := newLocalGuest(t)
	dir := filepath.Join(g.root, "tmp", "golden")
	writeFile(t, dir, "stale/file", "from an earlier run")
	err := Provision(context.Background(), g, bundleFor(t, []string{"base"}, nil), Options{Dir: dir, Keep: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); !os.IsNotExist(err) {
		t.Errorf("stale content survived: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cookbooks", "base", "recipes", "default.rb")); err != nil {
		t.Errorf("bundle not unpacked into %s: %v", dir, err)
	}
}

func TestChefCommand(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"defaults", Options{}, "sudo -n chef-solo -c /tmp/f/solo.rb -j /tmp/f/node.json"},
		{"paths and args", Options{Sudo: "/usr/bin/sudo", ChefSolo: "/opt/ruby/bin/chef-solo", Args: []string{"--no-color", "-l", "debug"}},
			"/usr/bin/sudo -n /opt/ruby/bin/chef-solo -c /tmp/f/solo.rb -j /tmp/f/node.json --no-color -l debug"},
		{"no sudo, quoted", Options{NoSudo: true, ChefSolo: "/opt/my chef/chef-solo"}, "'/opt/my chef/chef-solo' -c /tmp/f/solo.rb -j /tmp/f/node.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chefCommand("/tmp/f", tt.opts); got != tt.want {
				t.Errorf("chefCommand = %q, want %q", got, tt.want)
			}
		})
	}
}
