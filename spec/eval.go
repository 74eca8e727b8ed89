// Evaluation of single attributes into Go values, with their defaults. Each helper returns the
// attribute it read (nil when the default was used or the value was wrong) so that callers can
// point later diagnostics at the expression the user wrote.
package spec

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// decoder evaluates attributes and collects every diagnostic on the way.
type decoder struct {
	ctxs  evalContexts
	diags hcl.Diagnostics
}

// errorf records an error diagnostic on rng.
func (d *decoder) errorf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   sentence(fmt.Sprintf(format, args...)),
		Subject:  rng.Ptr(),
	})
}

// sentence starts a diagnostic detail with a capital letter: the texts reused from parse.go are
// Go error strings, lower case by convention.
func sentence(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// warnf records a warning diagnostic on rng.
func (d *decoder) warnf(rng hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// value evaluates attribute name of n converted to ty. It returns a nil attribute when the
// attribute is absent, null or wrong (the last one reported).
func (d *decoder) value(n *node, name string, ty cty.Type) (cty.Value, *hcl.Attribute) {
	if n == nil {
		return cty.NilVal, nil
	}
	a, ok := n.attrs[name]
	if !ok {
		return cty.NilVal, nil
	}
	v, diags := a.Expr.Value(d.ctxs.forFile(a.Range.Filename))
	rewriteEnvDiags(diags)
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() || v.IsNull() || !v.IsWhollyKnown() {
		return cty.NilVal, nil
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(a.Expr.Range(), "Incorrect attribute value type", "Inappropriate value for attribute %q: %s.", name, err)
		return cty.NilVal, nil
	}
	return cv, a
}

// str returns a string attribute or def.
func (d *decoder) str(n *node, name, def string) (string, *hcl.Attribute) {
	v, a := d.value(n, name, cty.String)
	if a == nil {
		return def, nil
	}
	return v.AsString(), a
}

// integer returns a whole-number attribute or def.
func (d *decoder) integer(n *node, name string, def int) (int, *hcl.Attribute) {
	v, a := d.value(n, name, cty.Number)
	if a == nil {
		return def, nil
	}
	var i int
	if err := gocty.FromCtyValue(v, &i); err != nil {
		d.errorf(a.Expr.Range(), "Incorrect attribute value type", "Inappropriate value for attribute %q: %s; write a whole number.",
			name, err)
		return def, nil
	}
	return i, a
}

// strs returns a list-of-strings attribute or def. Null elements are reported.
func (d *decoder) strs(n *node, name string, def []string) ([]string, *hcl.Attribute) {
	v, a := d.value(n, name, cty.List(cty.String))
	if a == nil {
		return def, nil
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			d.errorf(a.Expr.Range(), "Incorrect attribute value type", "Inappropriate value for attribute %q: elements must not be null.", name)
			return def, nil
		}
		out = append(out, e.AsString())
	}
	return out, a
}

// elemRanges returns one range per element of a list attribute: the element's own range when
// it is written as a list literal with n elements, else the whole expression's range.
func elemRanges(a *hcl.Attribute, n int) []hcl.Range {
	out := make([]hcl.Range, n)
	tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr)
	for i := range out {
		if ok && len(tuple.Exprs) == n {
			out[i] = tuple.Exprs[i].Range()
		} else {
			out[i] = a.Expr.Range()
		}
	}
	return out
}

// duration returns a duration attribute ("50m") or def.
func (d *decoder) duration(n *node, name string, def time.Duration) time.Duration {
	s, a := d.str(n, name, "")
	if a == nil {
		return def
	}
	v, err := parseDuration(s)
	if err != nil {
		d.errorf(a.Expr.Range(), "Invalid duration", "%s: %s.", name, err)
		return def
	}
	return v
}

// size returns a byte size attribute ("4MiB") or def.
func (d *decoder) size(n *node, name string, def int64) int64 {
	s, a := d.str(n, name, "")
	if a == nil {
		return def
	}
	v, err := ParseSize(s)
	if err != nil {
		d.errorf(a.Expr.Range(), "Invalid size", "%s: %s.", name, err)
		return def
	}
	return v
}

// path returns a path attribute made absolute against its file's folder; def is resolved against
// dir when the attribute is absent. An empty def stays empty.
func (d *decoder) path(n *node, name, dir, def string) string {
	s, a := d.str(n, name, "")
	if a == nil {
		if def == "" {
			return ""
		}
		return absPath(dir, def)
	}
	if s == "" {
		d.errorf(a.Expr.Range(), "Empty path", "%s cannot be empty; leave the attribute out to use its default.", name)
		return ""
	}
	return absPath(fileDir(a.Range.Filename), s)
}

// bounded checks lo <= v <= hi for an attribute that was set, reporting summary and why.
func (d *decoder) bounded(a *hcl.Attribute, v, lo, hi int, summary, why string) {
	if a == nil || (v >= lo && v <= hi) {
		return
	}
	d.errorf(a.Expr.Range(), summary, "Got %s = %d, but it must be between %d and %d%s.", a.Name, v, lo, hi, why)
}

// toGo converts a cty value into plain Go values: string, float64, bool, nil, []any and
// map[string]any, the shapes encoding/json produces.
func toGo(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		return f
	case t == cty.Bool:
		return v.True()
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, toGo(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = toGo(e)
		}
		return out
	}
	return nil
}
