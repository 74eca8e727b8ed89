// The functions fleet.hcl may call: env() and file(). Each file gets an evaluation context of
// its own so that file() reads relative to the folder of the file that calls it.
package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// unsetEnvError is returned by env() for an unset variable without a default.
type unsetEnvError struct{ name string }

func (e *unsetEnvError) Error() string {
	return fmt.Sprintf("environment variable %q is not set", e.name)
}

// envFunc implements env("NAME") and env("NAME", "default"). A variable that is set, even to the
// empty string, wins over the default.
var envFunc = function.New(&function.Spec{
	Description: "Returns the value of an environment variable, or the default if it is unset.",
	Params:      []function.Parameter{{Name: "name", Type: cty.String}},
	VarParam:    &function.Parameter{Name: "default", Type: cty.String},
	Type:        function.StaticReturnType(cty.String),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if len(args) > 2 {
			return cty.NilVal, function.NewArgErrorf(2, "env takes a name and at most one default")
		}
		name := args[0].AsString()
		if v, ok := os.LookupEnv(name); ok {
			return cty.StringVal(v), nil
		}
		if len(args) == 2 {
			return args[1], nil
		}
		return cty.NilVal, &unsetEnvError{name: name}
	},
})

// fileFunc returns file(path), which reads a file relative to dir and returns its content.
func fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the content of a file, relative to the folder of the calling file.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := absPath(dir, args[0].AsString())
			b, err := os.ReadFile(p)
			if err != nil {
				return cty.NilVal, fmt.Errorf("read %s: %w", p, err)
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

// evalContexts hands out one evaluation context per folder.
type evalContexts map[string]*hcl.EvalContext

// forFile returns the evaluation context for expressions written in filename.
func (c evalContexts) forFile(filename string) *hcl.EvalContext {
	dir := fileDir(filename)
	if ctx, ok := c[dir]; ok {
		return ctx
	}
	ctx := &hcl.EvalContext{Functions: map[string]function.Function{
		"env":  envFunc,
		"file": fileFunc(dir),
	}}
	c[dir] = ctx
	return ctx
}

// fileDir is the absolute folder of filename, against which its relative paths resolve.
func fileDir(filename string) string {
	dir, err := filepath.Abs(filepath.Dir(filename))
	if err != nil {
		return filepath.Dir(filename)
	}
	return dir
}

// absPath resolves p against dir unless it is already absolute.
func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// rewriteEnvDiags replaces HCL's generic "Error in function call" for an unset variable with a
// diagnostic that names the variable and says how to fix it.
func rewriteEnvDiags(diags hcl.Diagnostics) {
	for _, d := range diags {
		extra, ok := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d)
		if !ok {
			continue
		}
		var unset *unsetEnvError
		if !errors.As(extra.FunctionCallError(), &unset) {
			continue
		}
		d.Summary = "Environment variable not set"
		d.Detail = fmt.Sprintf("env(%q) has no value: %s is not set and no default was given; export it, or write env(%q, \"default\").",
			unset.name, unset.name, unset.name)
	}
}
