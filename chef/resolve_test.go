package chef

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	mainPath = "testdata/resolve/main"
	sitePath = "testdata/resolve/site"
)

// summary is the part of a Resolution the table tests compare.
type summary struct {
	RunList   []string
	Recipes   []string
	Cookbooks []string // name=folder relative to testdata/resolve
	Warnings  []string // file:line relative to testdata/resolve
}

func summarize(t *testing.T, res *Resolution) summary {
	t.Helper()
	var s summary
	s.RunList, s.Recipes = res.RunList, res.Recipes
	for _, cb := range res.Cookbooks {
		rel, err := filepath.Rel("testdata/resolve", cb.Dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Cookbooks = append(s.Cookbooks, cb.Name+"="+filepath.ToSlash(rel))
	}
	for _, w := range res.Warnings {
		rel, err := filepath.Rel("testdata/resolve", w.File)
		if err != nil {
			t.Fatal(err)
		}
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s:%d", filepath.ToSlash(rel), w.Line))
	}
	return s
}

func TestResolveFollowsDependenciesAndIncludes(t *testing.T) {
	tests := []struct {
		name    string
		paths   []string
		recipes []string
		want    summary
	}{
		{
			name:    "transitive metadata.rb depends with constraints, comments and heredocs",
			paths:   []string{mainPath},
			recipes: []string{"rvm"},
			want: summary{
				RunList:   []string{"rvm"},
				Recipes:   []string{"rvm::default"},
				Cookbooks: []string{"apt=main/apt", "build-essential=main/build-essential", "git=main/git", "rvm=main/rvm"},
			},
		},
		{
			name:    "plain include of a cookbook only the second path has",
			paths:   []string{mainPath, sitePath},
			recipes: []string{"rvm::multi"},
			want: summary{
				RunList:   []string{"rvm::multi"},
				Recipes:   []string{"rvm::default", "rvm::multi", "sweeper::default"},
				Cookbooks: []string{"apt=main/apt", "build-essential=main/build-essential", "git=main/git", "rvm=main/rvm", "sweeper=site/sweeper"},
			},
		},
		{
			name:    "plain include of a missing cookbook is a warning",
			paths:   []string{mainPath},
			recipes: []string{"rvm::multi"},
			want: summary{
				RunList:   []string{"rvm::multi"},
				Recipes:   []string{"rvm::default", "rvm::multi"},
				Cookbooks: []string{"apt=main/apt", "build-essential=main/build-essential", "git=main/git", "rvm=main/rvm"},
				Warnings:  []string{"main/rvm/recipes/multi.rb:2"},
			},
		},
		{
			name:    "conditional includes: present one followed, platform-only one warned",
			paths:   []string{mainPath},
			recipes: []string{"build-essential"},
			want: summary{
				RunList:   []string{"build-essential"},
				Recipes:   []string{"apt::default", "build-essential::default"},
				Cookbooks: []string{"apt=main/apt", "build-essential=main/build-essential"},
				Warnings:  []string{"main/build-essential/recipes/default.rb:2"},
			},
		},
		{
			name:    "interpolated include is a warning, metadata.json dependencies followed",
			paths:   []string{mainPath},
			recipes: []string{"java"},
			want: summary{
				RunList:   []string{"java"},
				Recipes:   []string{"java::default"},
				Cookbooks: []string{"apt=main/apt", "java=main/java"},
				Warnings:  []string{"main/java/recipes/default.rb:1"},
			},
		},
		{
			name:    "include with two names: missing cookbook warned, the other followed",
			paths:   []string{mainPath},
			recipes: []string{"java::openjdk"},
			want: summary{
				RunList:   []string{"java::openjdk"},
				Recipes:   []string{"java::openjdk", "java::set_java_home"},
				Cookbooks: []string{"apt=main/apt", "java=main/java"},
				Warnings:  []string{"main/java/recipes/openjdk.rb:1"},
			},
		},
		{
			name:    "dependency cycle is not an error",
			paths:   []string{mainPath},
			recipes: []string{"cyc-a"},
			want: summary{
				RunList:   []string{"cyc-a"},
				Recipes:   []string{"cyc-a::default"},
				Cookbooks: []string{"cyc-a=main/cyc-a", "cyc-b=main/cyc-b"},
			},
		},
		{
			name:    "depends built in a loop is a warning",
			paths:   []string{mainPath},
			recipes: []string{"loopy"},
			want: summary{
				RunList:   []string{"loopy"},
				Recipes:   []string{"loopy::default"},
				Cookbooks: []string{"loopy=main/loopy"},
				Warnings:  []string{"main/loopy/metadata.rb:1"},
			},
		},
		{
			name:    "first cookbook path wins: site shadows main",
			paths:   []string{sitePath, mainPath},
			recipes: []string{"apt"},
			want: summary{
				RunList:   []string{"apt"},
				Recipes:   []string{"apt::default"},
				Cookbooks: []string{"apt=site/apt"},
			},
		},
		{
			name:    "first cookbook path wins: main shadows site",
			paths:   []string{mainPath, sitePath},
			recipes: []string{"apt"},
			want: summary{
				RunList:   []string{"apt"},
				Recipes:   []string{"apt::default"},
				Cookbooks: []string{"apt=main/apt"},
			},
		},
		{
			name:    "recipe[] form and duplicates as Chef drops them",
			paths:   []string{mainPath, sitePath},
			recipes: []string{"recipe[sweeper]", "git", "sweeper", "rvm::install", "git::default"},
			want: summary{
				RunList:   []string{"sweeper", "git", "rvm::install"},
				Recipes:   []string{"git::default", "rvm::install", "sweeper::default"},
				Cookbooks: []string{"apt=main/apt", "build-essential=main/build-essential", "git=main/git", "rvm=main/rvm", "sweeper=site/sweeper"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Resolve(tt.paths, tt.recipes)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if diff := cmp.Diff(tt.want, summarize(t, res)); diff != "" {
				t.Errorf("resolution (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveWarningsNameTheInclude(t *testing.T) {
	res, err := Resolve([]string{mainPath}, []string{"build-essential", "java", "loopy"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.Text)
	}
	want := []string{
		`include_recipe "xcode": no cookbook xcode in the cookbook folders; skipped (chef-solo fails if this line runs)`,
		`include_recipe "java::#{node['java']['install_flavor']}": the name is not a literal string, so what it includes is not followed`,
		`depends cb: the name is not a literal string, so the dependency cannot be followed`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warning texts (-want +got):\n%s", diff)
	}
}

// problem is the part of a resolution error the table tests compare.
type problem struct {
	Kind        string // "recipe" or "dependency"
	Name        string // the recipe entry, or cookbook->dependency
	Index       int
	Sentinel    error
	Suggestions []string
	Location    string // metadata file:line for dependencies
}

func problems(t *testing.T, err error) []problem {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []problem
	for _, e := range errs {
		var re *RecipeError
		var de *DependencyError
		switch {
		case errors.As(e, &re):
			p := problem{Kind: "recipe", Name: re.Recipe, Index: re.Index, Suggestions: re.Suggestions}
			for _, s := range []error{ErrCookbookNotFound, ErrRecipeNotFound, ErrInvalidRecipe} {
				if errors.Is(re, s) {
					p.Sentinel = s
				}
			}
			if p.Sentinel != ErrInvalidRecipe && !cmp.Equal(re.Searched, []string{mainPath}) {
				t.Errorf("%v: searched %v, want [%s]", re, re.Searched, mainPath)
			}
			out = append(out, p)
		case errors.As(e, &de):
			rel, _ := filepath.Rel("testdata/resolve", de.File)
			out = append(out, problem{
				Kind: "dependency", Name: de.Cookbook + "->" + de.Dependency, Index: de.Index,
				Sentinel: ErrCookbookNotFound, Suggestions: de.Suggestions,
				Location: fmt.Sprintf("%s:%d", filepath.ToSlash(rel), de.Line),
			})
			if !errors.Is(de, ErrCookbookNotFound) {
				t.Errorf("%v does not wrap ErrCookbookNotFound", de)
			}
		default:
			t.Errorf("unexpected error type %T: %v", e, e)
		}
	}
	return out
}

func TestResolveReportsEveryProblemWithSuggestions(t *testing.T) {
	tests := []struct {
		name    string
		recipes []string
		want    []problem
	}{
		{
			name:    "misspelled recipe in an existing cookbook",
			recipes: []string{"apt", "rvm::mutli"},
			want:    []problem{{Kind: "recipe", Name: "rvm::mutli", Index: 1, Sentinel: ErrRecipeNotFound, Suggestions: []string{"rvm::multi"}}},
		},
		{
			name:    "misspelled cookbook",
			recipes: []string{"build-esential"},
			want:    []problem{{Kind: "recipe", Name: "build-esential", Index: 0, Sentinel: ErrCookbookNotFound, Suggestions: []string{"build-essential"}}},
		},
		{
			name:    "missing cookbook with nothing close",
			recipes: []string{"zookeeper::server"},
			want:    []problem{{Kind: "recipe", Name: "zookeeper::server", Index: 0, Sentinel: ErrCookbookNotFound}},
		},
		{
			name:    "missing dependency names the metadata line and the close name",
			recipes: []string{"git", "php::multi"},
			want: []problem{{Kind: "dependency", Name: "php->php-build", Index: 1, Sentinel: ErrCookbookNotFound,
				Suggestions: []string{"phpbuild"}, Location: "main/php/metadata.rb:2"}},
		},
		{
			name:    "every problem at once, in run-list order",
			recipes: []string{"mysql::client", "role[base]", "", "rvm::multi::x", "rvm::mutli"},
			want: []problem{
				{Kind: "dependency", Name: "mysql->openssl", Index: 0, Sentinel: ErrCookbookNotFound, Location: "main/mysql/metadata.rb:2"},
				{Kind: "recipe", Name: "role[base]", Index: 1, Sentinel: ErrInvalidRecipe},
				{Kind: "recipe", Name: "", Index: 2, Sentinel: ErrInvalidRecipe},
				{Kind: "recipe", Name: "rvm::multi::x", Index: 3, Sentinel: ErrInvalidRecipe},
				{Kind: "recipe", Name: "rvm::mutli", Index: 4, Sentinel: ErrRecipeNotFound, Suggestions: []string{"rvm::multi"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Resolve([]string{mainPath}, tt.recipes)
			if err == nil {
				t.Fatalf("Resolve succeeded with %v, want an error", res.RunList)
			}
			if diff := cmp.Diff(tt.want, problems(t, err), cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecipeErrorMessage(t *testing.T) {
	_, err := Resolve([]string{mainPath, sitePath}, []string{"rvm::mutli"})
	want := `recipe "rvm::mutli" (recipes[0]): recipe not found: no recipes/mutli.rb in cookbook testdata/resolve/main/rvm (searched testdata/resolve/main, testdata/resolve/site); did you mean rvm::multi?`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
}

func TestResolveRejectsBadCookbookFolders(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
	}{
		{"none", nil},
		{"missing folder", []string{mainPath, "testdata/resolve/nope"}},
		{"a file", []string{"testdata/resolve/main/apt/metadata.rb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(tt.paths, []string{"apt"})
			var re *RecipeError
			if err == nil {
				t.Fatal("Resolve succeeded")
			} else if errors.As(err, &re) {
				t.Errorf("error %q blames a recipe, not the folders", err)
			}
		})
	}
}
