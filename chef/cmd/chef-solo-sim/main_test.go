package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCookbookPathReadsFleetAndVagrantSoloRB(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, solo string
		want       []string
	}{
		{"fleet, relative to solo.rb", "root = File.expand_path(File.dirname(__FILE__))\ncookbook_path [File.join(root, \"cookbooks\")]\n",
			[]string{filepath.Join(dir, "cookbooks")}},
		{"vagrant 2011, an array of guest paths", "file_cache_path \"/tmp/vagrant-chef\"\ncookbook_path [\"/tmp/vagrant-chef/cookbooks-0\",\"/tmp/vagrant-chef/cookbooks-1\"]\n",
			[]string{"/tmp/vagrant-chef/cookbooks-0", "/tmp/vagrant-chef/cookbooks-1"}},
		{"travis, one string", "cookbook_path '/tmp/vm-provisioning/travis-cookbooks/ci_environment'\n",
			[]string{"/tmp/vm-provisioning/travis-cookbooks/ci_environment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			solo := filepath.Join(dir, "solo.rb")
			if err := os.WriteFile(solo, []byte(tt.solo), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := cookbookPath(solo)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("cookbook_path (-want +got):\n%s", diff)
			}
		})
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.rb"), []byte("log_level :info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cookbookPath(filepath.Join(dir, "empty.rb")); err == nil {
		t.Error("a solo.rb without cookbook_path was accepted")
	}
}
