package chef

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFailingRecipe(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   string
	}{
		{"chef 10 resource error", `[Fri, 17 Jun 2011 10:00:00 +0000] INFO: Processing package[rvm] action install (rvm::default line 10)
[Fri, 17 Jun 2011 10:00:01 +0000] ERROR: execute[rvm install 1.9.2] (rvm::multi line 12) had an error:
[Fri, 17 Jun 2011 10:00:01 +0000] FATAL: Chef::Exceptions::ShellCommandFailed`, "rvm::multi"},
		{"chef 11 compile error", `================================================================================
Recipe Compile Error in /tmp/vagrant-chef-1/chef-solo-1/cookbooks/java/recipes/default.rb
================================================================================

NoMethodError
-------------
undefined method '[]' for nil:NilClass

Cookbook Trace:
---------------
  /tmp/vagrant-chef-1/chef-solo-1/cookbooks/apt/libraries/helpers.rb:3:in 'x'
  /tmp/vagrant-chef-1/chef-solo-1/cookbooks/java/recipes/default.rb:20:in 'from_file'`, "java"},
		{"chef 12 resource declaration", `Error executing action 'run' on resource 'bash[install phpenv]'
Resource Declaration:
---------------------
# In /var/chef/cache/cookbooks/phpenv/recipes/default.rb

 14: bash "install phpenv" do`, "phpenv"},
		{"recipe not found", `FATAL: Chef::Exceptions::RecipeNotFound: could not find recipe mutli for cookbook rvm`, "rvm::mutli"},
		{"cookbook not found", `FATAL: Chef::Exceptions::CookbookNotFound: Cookbook sweeper not found. If you're loading sweeper from another cookbook, make sure you configure the dependency in your metadata`, "sweeper"},
		{"colours removed before reading", "\x1b[31mERROR: execute[x] (git::ppa line 3) had an error\x1b[0m", "git::ppa"},
		{"nothing named", "FATAL: Errno::ENOSPC: No space left on device", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tw tailWriter
			tw.Write([]byte(tt.output))
			if got := failingRecipe(tw.Lines(tailKeep)); got != tt.want {
				t.Errorf("failingRecipe = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzFailingRecipe(f *testing.F) {
	f.Add("ERROR: execute[x] (rvm::multi line 12) had an error")
	f.Add("# In /x/cookbooks/a/recipes/b.rb")
	f.Fuzz(func(t *testing.T, out string) {
		var tw tailWriter
		tw.Write([]byte(out))
		if r := failingRecipe(tw.Lines(tailKeep)); r != "" {
			if _, err := parseRecipe(r); err != nil {
				t.Fatalf("failingRecipe returned %q, not a recipe: %v", r, err)
			}
		}
	})
}

func TestTailWriterKeepsTheLastLines(t *testing.T) {
	var tw tailWriter
	for i := range 1000 {
		tw.Write([]byte(strings.Repeat("x", i%3) + "\r\n"))
	}
	tw.Write([]byte("partial"))
	got := tw.Lines(3)
	want := []string{"xx", "", "partial"} // line 998 has 2 x, 999 has 0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lines(3) (-want +got):\n%s", diff)
	}
	if n := len(tw.Lines(10 * tailKeep)); n < tailKeep || n > 2*tailKeep+1 {
		t.Errorf("kept %d lines, want between %d and %d", n, tailKeep, 2*tailKeep+1)
	}
}
