// This file holds recipe names (`rvm`, `rvm::multi`, `recipe[rvm::multi]`) and the "did you
// mean" suggestions made from the names that do exist.

package chef

import (
	"fmt"
	"sort"
	"strings"
)

// recipeRef is a recipe named as `cookbook::recipe`.
type recipeRef struct {
	Cookbook string
	Recipe   string
}

// String returns the short form Chef prints: `rvm` for rvm::default, else `rvm::multi`.
func (r recipeRef) String() string {
	if r.Recipe == "default" {
		return r.Cookbook
	}
	return r.Cookbook + "::" + r.Recipe
}

// full returns the `cookbook::recipe` form, default included.
func (r recipeRef) full() string { return r.Cookbook + "::" + r.Recipe }

// parseRecipe reads a run-list entry: `name` (meaning name::default), `name::recipe`, or either
// wrapped as `recipe[...]`, the way Vagrant's add_recipe accepts them. Roles are not recipes.
func parseRecipe(s string) (recipeRef, error) {
	name := strings.TrimSpace(s)
	if inner, ok := strings.CutPrefix(name, "recipe["); ok {
		var closed bool
		name, closed = strings.CutSuffix(inner, "]")
		if !closed {
			return recipeRef{}, fmt.Errorf("unclosed recipe[")
		}
	} else if strings.HasPrefix(name, "role[") {
		return recipeRef{}, fmt.Errorf("roles are not supported in the run list, name recipes")
	}
	cb, rec, found := strings.Cut(name, "::")
	if !found {
		rec = "default"
	}
	if err := checkName(cb); err != nil {
		return recipeRef{}, fmt.Errorf("cookbook name: %w", err)
	}
	if err := checkName(rec); err != nil {
		return recipeRef{}, fmt.Errorf("recipe name: %w", err)
	}
	return recipeRef{Cookbook: cb, Recipe: rec}, nil
}

// checkName accepts the names a cookbook or recipe file can have on disk.
func checkName(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if s == "." || s == ".." || strings.HasPrefix(s, ".") {
		return fmt.Errorf("%q is not a name", s)
	}
	for _, c := range s {
		ok := c == '-' || c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return fmt.Errorf("%q has the character %q", s, c)
		}
	}
	return nil
}

// suggest returns up to three candidates close to name, nearest first, ties by name. A candidate
// is close when its edit distance is at most a third of the longer name (at least 1).
func suggest(name string, candidates []string) []string {
	type scored struct {
		s string
		d int
	}
	var close []scored
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := distance(strings.ToLower(name), strings.ToLower(c))
		limit := max(1, max(len(name), len(c))/3)
		if d <= limit {
			close = append(close, scored{c, d})
		}
	}
	sort.Slice(close, func(i, j int) bool {
		if close[i].d != close[j].d {
			return close[i].d < close[j].d
		}
		return close[i].s < close[j].s
	})
	var out []string
	for i := 0; i < len(close) && i < 3; i++ {
		out = append(out, close[i].s)
	}
	return out
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance between a and b, so a
// swapped pair of letters (mutli/multi) counts as one edit.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
