package chef

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRecipe(t *testing.T) {
	tests := []struct {
		in      string
		want    recipeRef
		wantErr bool
	}{
		{in: "rvm", want: recipeRef{"rvm", "default"}},
		{in: "rvm::multi", want: recipeRef{"rvm", "multi"}},
		{in: "recipe[rvm::multi]", want: recipeRef{"rvm", "multi"}},
		{in: " recipe[build-essential] ", want: recipeRef{"build-essential", "default"}},
		{in: "neo4j-server::tarball_1.7", want: recipeRef{"neo4j-server", "tarball_1.7"}},
		{in: "role[worker]", wantErr: true},
		{in: "recipe[rvm", wantErr: true},
		{in: "", wantErr: true},
		{in: "::multi", wantErr: true},
		{in: "rvm::", wantErr: true},
		{in: "../etc::passwd", wantErr: true},
		{in: "rvm::../../x", wantErr: true},
		{in: "a::b::c", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRecipe(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseRecipe(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseRecipe(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseRecipe(f *testing.F) {
	for _, s := range []string{"rvm", "recipe[a::b]", "role[x]", "a::b::c", "../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRecipe(s)
		if err != nil {
			return
		}
		if checkName(r.Cookbook) != nil || checkName(r.Recipe) != nil {
			t.Fatalf("parseRecipe(%q) = %+v: not names", s, r)
		}
		again, err := parseRecipe(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: %+v, %v", r.String(), again, err)
		}
	})
}

func TestSuggest(t *testing.T) {
	candidates := []string{"apt", "build-essential", "rvm", "rvm::multi", "java", "java::multi", "phpbuild", "python"}
	tests := []struct {
		name string
		want []string
	}{
		{"rvm::mutli", []string{"rvm::multi"}},
		{"build-esential", []string{"build-essential"}},
		{"php-build", []string{"phpbuild"}},
		{"jav", []string{"java"}},
		{"zookeeper", nil},
		{"RVM", []string{"rvm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, suggest(tt.name, candidates)); diff != "" {
				t.Errorf("suggest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"mutli", "multi", 1}, {"php-build", "phpbuild", 1},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
