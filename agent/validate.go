// The validate subcommand: load fleet.hcl, print every problem in HCL's own diagnostic format
// with source snippets, and exit 0 (valid) or 1 (invalid).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/fleet-agent/fleet/chef"
	"github.com/fleet-agent/fleet/spec"
)

func init() { commands = append(commands, newValidateCmd) }

func newValidateCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check fleet.hcl and report every problem with its file and line",
		Long: `Validate loads fleet.hcl (or every *.hcl file of the folder given with -c, override files
merged last) and checks it completely without touching VirtualBox or Redis: the schema, every
value, references between blocks and the recipes each pool names. Every problem is printed to
stderr with its file, line and source; the exit code is 0 when the fleet is valid, 1 otherwise.
With --json the result is printed to stdout instead, in the shape of terraform validate -json
(docs/PLAN-JSON.md), with the same exit code.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := a.configFile()
			if err != nil {
				return err
			}
			loader := spec.NewLoader()
			fleet, diags := loader.Load(path)
			if fleet != nil {
				diags = append(diags, resolveRecipes(fleet)...)
			}
			if asJSON {
				if err := writeDiagnosticsJSON(a.stdout, diags, loader.Files()); err != nil {
					return err
				}
				if diags.HasErrors() {
					return exitCodeError{exitError}
				}
				return nil
			}
			if len(diags) > 0 {
				width, color := diagStyle(a.stderr)
				if err := loader.WriteDiagnostics(a.stderr, diags, width, color); err != nil {
					return fmt.Errorf("write diagnostics: %w", err)
				}
			}
			if diags.HasErrors() {
				fmt.Fprintf(a.stderr, "%s is invalid: %s.\n", path, countErrors(diags))
				return exitCodeError{exitError}
			}
			vms := 0
			for _, p := range fleet.Pools {
				vms += p.VMs
			}
			fmt.Fprintf(a.stdout, "%s is valid (boxes: %d, pools: %d, VMs: %d).\n", path, len(fleet.Boxes), len(fleet.Pools), vms)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON, in the shape of terraform validate -json (docs/PLAN-JSON.md)")
	return cmd
}

// diagStyle returns the wrap width and colour for diagnostics written to w: the terminal's width
// and colour on a terminal (unless NO_COLOR is set), no wrapping and no colour otherwise.
func diagStyle(w io.Writer) (width uint, color bool) {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return 0, false
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		width = uint(cols)
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return width, !noColor
}

// countErrors says how many errors diags holds, for the closing line.
func countErrors(diags hcl.Diagnostics) string {
	n := len(diags.Errs())
	if n == 1 {
		return "1 error"
	}
	return fmt.Sprintf("%d errors", n)
}

// resolveRecipes resolves every pool's run list against its cookbook folders and reports what
// cannot be resolved on the recipe that asked for it. Cookbook folders absent from this machine
// (vendored later, e.g. by Berkshelf) are a warning: the recipes cannot be checked here.
func resolveRecipes(fleet *spec.Fleet) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, p := range fleet.Pools {
		c := p.Provision
		if c == nil {
			continue
		}
		var missing []string
		for _, dir := range c.Cookbooks {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				missing = append(missing, dir)
			}
		}
		if len(missing) > 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Cookbook folder not found",
				Detail: fmt.Sprintf("Pool %q: %s not found on this machine, so its recipes were not checked; create it or fix the path before the agent provisions.",
					p.Name, strings.Join(missing, ", ")),
				Subject: c.CookbooksRange.Ptr(),
			})
			continue
		}
		res, err := chef.Resolve(c.Cookbooks, c.Recipes)
		if err != nil {
			diags = append(diags, recipeDiags(p, err)...)
			continue
		}
		for _, w := range res.Warnings {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Recipe include not followed",
				Detail:   fmt.Sprintf("Pool %q: %s.", p.Name, w),
				Subject:  c.RecipesRange.Ptr(),
			})
		}
	}
	return diags
}

// recipeDiags turns chef.Resolve's joined errors into one diagnostic each, placed on the recipe
// (element of the recipes list) whose resolution failed.
func recipeDiags(p *spec.Pool, err error) hcl.Diagnostics {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	c := p.Provision
	at := func(i int) *hcl.Range {
		if i >= 0 && i < len(c.RecipeRanges) {
			return c.RecipeRanges[i].Ptr()
		}
		return c.RecipesRange.Ptr()
	}
	var diags hcl.Diagnostics
	for _, e := range errs {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot resolve recipes", Subject: c.RecipesRange.Ptr()}
		var re *chef.RecipeError
		var de *chef.DependencyError
		switch {
		case errors.As(e, &re):
			d.Summary, d.Subject = "Recipe not found", at(re.Index)
			if errors.Is(re, chef.ErrCookbookNotFound) {
				d.Summary = "Cookbook not found"
			} else if errors.Is(re, chef.ErrInvalidRecipe) {
				d.Summary = "Invalid recipe name"
			}
		case errors.As(e, &de):
			d.Summary, d.Subject = "Missing cookbook dependency", at(de.Index)
		}
		d.Detail = fmt.Sprintf("Pool %q: %v", p.Name, e)
		if !strings.HasSuffix(d.Detail, "?") {
			d.Detail += "."
		}
		diags = append(diags, d)
	}
	return diags
}
