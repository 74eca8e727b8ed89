package chef

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ciEnvironment is the generated 76-cookbook tree (see internal/gencookbooks).
const ciEnvironment = "testdata/ci_environment"

// workerStandard is a 2012-style run list of travis-boxes' worker.standard.yml, restricted to the
// cookbooks that tree had.
var workerStandard = []string{
	"travis_build_environment", "apt", "build-essential", "networking_basic", "openssl", "sysctl",
	"git::ppa", "mercurial", "bazaar", "subversion", "scons", "unarchivers", "libqt4", "libxml",
	"libssl", "java::multi", "ant", "maven3", "leiningen", "sbt", "gradle::tarball", "sqlite", "rvm",
	"rvm::multi", "python", "python::pip", "nodejs::multi", "postgresql::server",
	"mysql::server_on_ramfs", "golang::multi", "iptables", "timezone", "sweeper", "firefox",
}

func TestResolveCIEnvironmentWithoutFalseErrors(t *testing.T) {
	res, err := Resolve([]string{ciEnvironment}, workerStandard)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	var warnings []string
	for _, w := range res.Warnings {
		rel, _ := filepath.Rel(ciEnvironment, w.File)
		warnings = append(warnings, fmt.Sprintf("%s:%d", filepath.ToSlash(rel), w.Line))
	}
	// Each is an include that only Ruby can evaluate, or of a cookbook for another platform.
	want := []string{
		"build-essential/recipes/default.rb:9", // xcode if mac_os_x
		"iptables/recipes/default.rb:8",        // windows::firewall if windows
		"java/recipes/multi.rb:9",              // java::#{v} in a loop
		"postgresql/recipes/server.rb:9",       // postgresql::server_#{platform_family}
		"python/recipes/default.rb:8",          // python::#{install_method}
		"sweeper/recipes/default.rb:8",         // %w(apt git).each { |r| include_recipe r }
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	var names []string
	for _, cb := range res.Cookbooks {
		names = append(names, cb.Name)
	}
	wantCookbooks := strings.Fields(`ant apt bazaar build-essential firefox git golang gradle iptables java
		leiningen libqt4 libssl libxml maven3 mercurial mysql networking_basic nodejs openssl postgresql
		python ramfs rvm sbt scons sqlite subversion sweeper sysctl timezone travis_build_environment unarchivers xserver`)
	if diff := cmp.Diff(wantCookbooks, names); diff != "" {
		t.Errorf("cookbooks (-want +got):\n%s", diff)
	}
	if _, ok := res.Cookbook("php"); ok {
		t.Error("php is bundled although nothing uses it")
	}
}

func TestResolveCIEnvironmentRealMistake(t *testing.T) {
	// The 2012 php cookbook depends on "php-build" while the folder is phpbuild.
	_, err := Resolve([]string{ciEnvironment}, []string{"apt", "php::multi"})
	var de *DependencyError
	if !errors.As(err, &de) {
		t.Fatalf("error %v, want a *DependencyError", err)
	}
	got := []any{de.Cookbook, de.Dependency, de.Index, de.Suggestions}
	want := []any{"php", "php-build", 1, []string{"phpbuild"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dependency error (-want +got):\n%s", diff)
	}
}

// allDefaults is a run list of every cookbook's default recipe but php's (see the test above).
func allDefaults(tb testing.TB) []string {
	entries, err := os.ReadDir(ciEnvironment)
	if err != nil {
		tb.Fatal(err)
	}
	var recipes []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "php" && e.Name() != "composer" {
			recipes = append(recipes, e.Name())
		}
	}
	return recipes
}

// BenchmarkResolveAndFingerprint resolves and fingerprints every cookbook of the 76-cookbook,
// 361-file tree: the cost of noticing that a pool's image must be rebuilt.
func BenchmarkResolveAndFingerprint(b *testing.B) {
	recipes := allDefaults(b)
	files := 0
	for b.Loop() {
		res, err := Resolve([]string{ciEnvironment}, recipes)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Fingerprint(res, Node{Attributes: rubiesAttrs()}); err != nil {
			b.Fatal(err)
		}
		files = 0
		for _, cb := range res.Cookbooks {
			files += len(cb.Files)
		}
	}
	b.ReportMetric(float64(files), "files")
}

// BenchmarkBundle writes the tar.gz of the same resolution.
func BenchmarkBundle(b *testing.B) {
	res, err := Resolve([]string{ciEnvironment}, allDefaults(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Bundle(res, Node{Attributes: rubiesAttrs()}); err != nil {
			b.Fatal(err)
		}
	}
}
