// This file holds the errors resolution returns. They are typed so that `agent validate` can
// put each one on the `recipes` line of fleet.hcl (Index says which entry asked for it) with a
// "did you mean" from Suggestions.

package chef

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCookbookNotFound is wrapped by errors about a cookbook that is in no cookbook folder.
var ErrCookbookNotFound = errors.New("cookbook not found")

// ErrRecipeNotFound is wrapped by errors about a recipe file missing from its cookbook.
var ErrRecipeNotFound = errors.New("recipe not found")

// ErrInvalidRecipe is wrapped by errors about a run-list entry that is not a recipe name.
var ErrInvalidRecipe = errors.New("invalid recipe name")

// RecipeError says that a recipe of the run list cannot be resolved.
type RecipeError struct {
	// Recipe is the entry as given, e.g. "rvm::mutli".
	Recipe string
	// Index is the entry's position in the recipes passed to Resolve.
	Index int
	// Searched are the cookbook folders looked in, in order.
	Searched []string
	// Suggestions are existing recipe names close to Recipe, nearest first (may be empty).
	Suggestions []string
	// Err is ErrCookbookNotFound, ErrRecipeNotFound or ErrInvalidRecipe, possibly wrapped.
	Err error
}

// Error says which recipe, why, where it was looked for and what was meant.
func (e *RecipeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "recipe %q (recipes[%d]): %v", e.Recipe, e.Index, e.Err)
	writeSearched(&b, e.Searched, e.Suggestions)
	return b.String()
}

// Unwrap returns Err.
func (e *RecipeError) Unwrap() error { return e.Err }

// DependencyError says that a cookbook's metadata depends on a cookbook that is in no cookbook
// folder. Chef allows dependency cycles; it does not allow a missing dependency.
type DependencyError struct {
	// Cookbook declares the dependency; Dependency is the cookbook missing.
	Cookbook   string
	Dependency string
	// File and Line locate the declaration (Line is 0 in metadata.json).
	File string
	Line int
	// Index is the position, in the recipes passed to Resolve, of the entry whose resolution
	// reached Cookbook.
	Index int
	// Searched are the cookbook folders looked in, in order.
	Searched []string
	// Suggestions are existing cookbook names close to Dependency, nearest first.
	Suggestions []string
}

// Error says who depends on what, where, and what was meant.
func (e *DependencyError) Error() string {
	var b strings.Builder
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	fmt.Fprintf(&b, "cookbook %s depends on %s (%s): %v", e.Cookbook, e.Dependency, loc, ErrCookbookNotFound)
	writeSearched(&b, e.Searched, e.Suggestions)
	return b.String()
}

// Unwrap returns ErrCookbookNotFound.
func (e *DependencyError) Unwrap() error { return ErrCookbookNotFound }

func writeSearched(b *strings.Builder, searched, suggestions []string) {
	if len(searched) > 0 {
		fmt.Fprintf(b, " (searched %s)", strings.Join(searched, ", "))
	}
	if len(suggestions) > 0 {
		fmt.Fprintf(b, "; did you mean %s?", strings.Join(suggestions, " or "))
	}
}

// Warning is something resolution could not decide statically and skipped, such as an
// `include_recipe` of an interpolated name or of a cookbook only some platforms have.
type Warning struct {
	File string
	Line int // 0 when the file has no lines to point at (metadata.json)
	Text string
}

// String formats the warning as file:line: text.
func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Text)
	}
	return fmt.Sprintf("%s: %s", w.File, w.Text)
}
