// Located diagnostics for edits a running agent cannot take live: each restart-only change is
// placed on its attribute (or block) in the edited files and says a restart is needed; a live
// setting the agent failed to take (a listener that does not bind) is placed the same way. No
// value is printed: a queue URL may hold a password.
package spec

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// RestartChanges keeps the changes of class ReloadRestart.
func RestartChanges(changes []ReloadChange) []ReloadChange {
	var out []ReloadChange
	for _, c := range changes {
		if c.Class == ReloadRestart {
			out = append(out, c)
		}
	}
	return out
}

// Setting is the fleet.hcl name of a field path: "Host.StateDir" is "host.state_dir",
// "Reports" is "report".
func (c ReloadChange) Setting() string {
	block, attr, _ := strings.Cut(c.Field, ".")
	name := strings.ToLower(block)
	if name == "reports" {
		name = "report"
	}
	if attr == "" {
		return name
	}
	return name + "." + snake(attr)
}

// snake turns a Go field name into an HCL attribute name: SSHPortRange is ssh_port_range.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// RestartDiagnostics reads files (the edited fleet's Files) and returns one error per change,
// located on the setting's attribute, else its block, else the first file's start, and the
// diagnostics in HCL's text form (without source lines).
func RestartDiagnostics(changes []ReloadChange, files []string) (hcl.Diagnostics, string) {
	parsed := parseForLocating(files)
	var diags hcl.Diagnostics
	for _, c := range changes {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Restart needed",
			Detail: fmt.Sprintf("%s changed, but it is read only when the agent starts; the running agent keeps its current fleet.hcl and has not applied this edit. Restart the agent to apply it, or undo the change.",
				c.Setting()),
			Subject: locate(parsed, c.Setting()),
		})
	}
	return diags, diagText(diags)
}

// LiveDiagnostics is the located error of an edit a running agent tried to take live and
// could not (a listener that does not bind, a Redis that does not answer): setting is its
// fleet.hcl name ("metrics.listen"), cause says why. cause must hold no secret.
func LiveDiagnostics(setting, cause string, files []string) (hcl.Diagnostics, string) {
	diags := hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Edit not applied",
		Detail: fmt.Sprintf("%s changed, and the running agent could not take it: %s. The running agent keeps its current fleet.hcl and has not applied this edit; fix the setting or undo the change.",
			setting, cause),
		Subject: locate(parseForLocating(files), setting),
	}}
	return diags, diagText(diags)
}

// parseForLocating parses files for locate; files that do not parse are skipped.
func parseForLocating(files []string) []*hcl.File {
	p := hclparse.NewParser()
	var parsed []*hcl.File
	for _, name := range files {
		if f, _ := p.ParseHCLFile(name); f != nil {
			parsed = append(parsed, f)
		}
	}
	return parsed
}

// diagText is HCL's text form without source lines: the line of queue.redis may hold a
// password.
func diagText(diags hcl.Diagnostics) string {
	var buf bytes.Buffer
	for _, d := range diags {
		fmt.Fprintf(&buf, "Error: %s\n\n", d.Summary)
		if d.Subject != nil {
			fmt.Fprintf(&buf, "  on %s line %d:\n\n", d.Subject.Filename, d.Subject.Start.Line)
		}
		fmt.Fprintf(&buf, "%s\n\n", d.Detail)
	}
	return buf.String()
}

// locate finds setting ("block.attr" or "block") in files, the last file first (overrides are
// loaded last and win).
func locate(files []*hcl.File, setting string) *hcl.Range {
	block, attr, _ := strings.Cut(setting, ".")
	var blockRange *hcl.Range
	for i := len(files) - 1; i >= 0; i-- {
		body, ok := files[i].Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		for _, b := range body.Blocks {
			if b.Type != block {
				continue
			}
			if a, ok := b.Body.Attributes[attr]; ok && attr != "" {
				return a.SrcRange.Ptr()
			}
			if blockRange == nil {
				r := b.DefRange()
				blockRange = &r
			}
		}
	}
	if blockRange != nil {
		return blockRange
	}
	if len(files) > 0 {
		r := fileStart(files[0])
		return &r
	}
	return nil
}
