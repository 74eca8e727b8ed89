// This file resolves a run list against cookbook folders the way chef-solo's cookbook_path does
// (first folder holding a cookbook wins): it finds every recipe the run list names, follows
// metadata dependencies and literal `include_recipe` lines transitively, and reports what it
// cannot follow statically as warnings rather than errors.

package chef

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Resolution is a run list resolved against cookbook folders: the cookbooks chef-solo needs on
// the guest, and no others.
type Resolution struct {
	// Paths are the cookbook folders searched, in order.
	Paths []string
	// RunList is the run list in Chef's short form (`rvm`, `rvm::multi`), duplicates dropped as
	// Chef drops them, in the order given.
	RunList []string
	// Recipes are every recipe loaded (run list and includes) as `cookbook::recipe`, sorted.
	Recipes []string
	// Cookbooks are the cookbooks needed, sorted by name.
	Cookbooks []Cookbook
	// Warnings are what could not be followed statically, sorted by file and line.
	Warnings []Warning
}

// Cookbook is one cookbook of a Resolution.
type Cookbook struct {
	Name string
	// Dir is the cookbook's folder: a cookbook folder joined with Name.
	Dir string
	// Version is the literal version from the metadata, or empty.
	Version string
	Depends []Dependency
	// Files are the slash-separated paths relative to Dir that are bundled and hashed, sorted.
	Files []string
}

// Resolve resolves recipes (fleet.hcl's `recipes`, e.g. ["build-essential", "rvm::multi"])
// against the cookbook folders paths. It returns every problem at once, joined: each a
// *RecipeError (the entry's index, the folders searched, "did you mean" names) or a
// *DependencyError; callers list them with errors.As on each element of the
// `interface{ Unwrap() []error }` the joined error implements.
func Resolve(paths []string, recipes []string) (*Resolution, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("resolve recipes: no cookbook folders given")
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cookbook folder %s: %w", p, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("cookbook folder %s: not a directory", p)
		}
	}
	r := &resolver{
		paths:     paths,
		dirs:      map[string]string{},
		cookbooks: map[string]*Cookbook{},
		recipes:   map[string]bool{},
	}
	res := &Resolution{Paths: append([]string(nil), paths...)}
	inRunList := map[string]bool{}
	for i, entry := range recipes {
		ref, err := parseRecipe(entry)
		if err != nil {
			r.errs = append(r.errs, &RecipeError{Recipe: entry, Index: i, Err: fmt.Errorf("%w: %w", ErrInvalidRecipe, err)})
			continue
		}
		if err := r.runListRecipe(ref, entry, i); err != nil {
			r.errs = append(r.errs, err)
			continue
		}
		if !inRunList[ref.String()] {
			inRunList[ref.String()] = true
			res.RunList = append(res.RunList, ref.String())
		}
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	for name := range r.recipes {
		res.Recipes = append(res.Recipes, name)
	}
	sort.Strings(res.Recipes)
	for _, cb := range r.cookbooks {
		res.Cookbooks = append(res.Cookbooks, *cb)
	}
	sort.Slice(res.Cookbooks, func(i, j int) bool { return res.Cookbooks[i].Name < res.Cookbooks[j].Name })
	sort.SliceStable(r.warnings, func(i, j int) bool {
		a, b := r.warnings[i], r.warnings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	res.Warnings = r.warnings
	return res, nil
}

// Cookbook returns the resolved cookbook called name.
func (res *Resolution) Cookbook(name string) (*Cookbook, bool) {
	i := sort.Search(len(res.Cookbooks), func(i int) bool { return res.Cookbooks[i].Name >= name })
	if i < len(res.Cookbooks) && res.Cookbooks[i].Name == name {
		return &res.Cookbooks[i], true
	}
	return nil, false
}

// resolver is the state of one Resolve call.
type resolver struct {
	paths     []string
	dirs      map[string]string // cookbook name -> its folder, "" when in no path
	cookbooks map[string]*Cookbook
	recipes   map[string]bool // cookbook::recipe loaded
	warnings  []Warning
	errs      []error
	all       []string // every recipe that exists, short form; computed on the first error
}

// runListRecipe resolves one run-list entry, returning a *RecipeError when it cannot.
func (r *resolver) runListRecipe(ref recipeRef, entry string, index int) error {
	dir := r.lookup(ref.Cookbook)
	var why error
	switch {
	case dir == "":
		why = fmt.Errorf("%w: no cookbook %s", ErrCookbookNotFound, ref.Cookbook)
	case !isFile(recipeFile(dir, ref.Recipe)):
		why = fmt.Errorf("%w: no recipes/%s.rb in cookbook %s", ErrRecipeNotFound, ref.Recipe, dir)
	default:
		r.addRecipe(ref, index)
		return nil
	}
	return &RecipeError{
		Recipe:      entry,
		Index:       index,
		Searched:    append([]string(nil), r.paths...),
		Suggestions: suggest(ref.String(), r.allRecipes()),
		Err:         why,
	}
}

// addRecipe loads a recipe that exists: its cookbook, and what its literal includes reach.
func (r *resolver) addRecipe(ref recipeRef, index int) {
	if r.recipes[ref.full()] {
		return
	}
	r.recipes[ref.full()] = true
	r.addCookbook(ref.Cookbook, index)
	file := recipeFile(r.dirs[ref.Cookbook], ref.Recipe)
	src, err := os.ReadFile(file)
	if err != nil {
		r.warn(file, 0, fmt.Sprintf("read recipe: %v", err))
		return
	}
	for _, call := range scanCalls(src, "include_recipe") {
		for _, arg := range call.Args {
			if !arg.Literal {
				r.warn(file, call.Line, fmt.Sprintf("include_recipe %s: the name is not a literal string, so what it includes is not followed", arg.Value))
				continue
			}
			inc, err := parseRecipe(arg.Value)
			if err != nil {
				r.warn(file, call.Line, fmt.Sprintf("include_recipe %q: %v", arg.Value, err))
				continue
			}
			dir := r.lookup(inc.Cookbook)
			switch {
			case dir == "":
				r.warn(file, call.Line, fmt.Sprintf("include_recipe %q: no cookbook %s in the cookbook folders; skipped (chef-solo fails if this line runs)", arg.Value, inc.Cookbook))
			case !isFile(recipeFile(dir, inc.Recipe)):
				r.warn(file, call.Line, fmt.Sprintf("include_recipe %q: no recipes/%s.rb in cookbook %s; skipped (chef-solo fails if this line runs)", arg.Value, inc.Recipe, inc.Cookbook))
			default:
				r.addRecipe(inc, index)
			}
		}
	}
}

// addCookbook adds a cookbook that exists and, transitively, what its metadata depends on.
func (r *resolver) addCookbook(name string, index int) {
	if _, ok := r.cookbooks[name]; ok {
		return
	}
	dir := r.lookup(name)
	cb := &Cookbook{Name: name, Dir: dir}
	r.cookbooks[name] = cb // before the dependencies: a cycle stops here
	files, err := listFiles(dir)
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	cb.Files = files
	md, err := readMetadata(dir)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("cookbook %s: %w", name, err))
		return
	}
	cb.Version, cb.Depends = md.Version, md.Depends
	r.warnings = append(r.warnings, md.Warnings...)
	for _, d := range md.Depends {
		if r.lookup(d.Name) == "" {
			r.errs = append(r.errs, &DependencyError{
				Cookbook:    name,
				Dependency:  d.Name,
				File:        d.File,
				Line:        d.Line,
				Index:       index,
				Searched:    append([]string(nil), r.paths...),
				Suggestions: suggest(d.Name, r.cookbookNames()),
			})
			continue
		}
		r.addCookbook(d.Name, index)
	}
}

// lookup returns the folder of the cookbook called name in the first cookbook folder that has
// it, or "".
func (r *resolver) lookup(name string) string {
	if dir, ok := r.dirs[name]; ok {
		return dir
	}
	dir := ""
	if checkName(name) == nil {
		for _, p := range r.paths {
			candidate := filepath.Join(p, name)
			if st, err := os.Stat(candidate); err == nil && st.IsDir() {
				dir = candidate
				break
			}
		}
	}
	r.dirs[name] = dir
	return dir
}

func (r *resolver) warn(file string, line int, text string) {
	r.warnings = append(r.warnings, Warning{File: file, Line: line, Text: text})
}

// cookbookNames lists every cookbook in the cookbook folders, sorted, once each.
func (r *resolver) cookbookNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, p := range r.paths {
		entries, _ := os.ReadDir(p) // a folder that vanished has no names to suggest
		for _, e := range entries {
			if e.IsDir() && !seen[e.Name()] && checkName(e.Name()) == nil {
				seen[e.Name()] = true
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names
}

// allRecipes lists every recipe that exists in the cookbook folders, in Chef's short form.
func (r *resolver) allRecipes() []string {
	if r.all != nil {
		return r.all
	}
	r.all = []string{}
	for _, cb := range r.cookbookNames() {
		entries, _ := os.ReadDir(filepath.Join(r.lookup(cb), "recipes"))
		for _, e := range entries {
			if rec, ok := strings.CutSuffix(e.Name(), ".rb"); ok && !e.IsDir() {
				r.all = append(r.all, recipeRef{Cookbook: cb, Recipe: rec}.String())
			}
		}
	}
	return r.all
}

func recipeFile(cookbookDir, recipe string) string {
	return filepath.Join(cookbookDir, "recipes", recipe+".rb")
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
