// validate --json and plan --json diagnostics: the `terraform validate -json` shape
// (spec.ValidateJSON, docs/PLAN-JSON.md) on stdout.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"

	"github.com/fleet-agent/fleet/spec"
)

// writeDiagnosticsJSON prints diags as one indented spec.ValidateJSON document.
func writeDiagnosticsJSON(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(spec.DiagnosticsJSON(diags, files)); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	return nil
}

// planWithDiagnostics adds the warnings of a valid fleet to the plan document as
// "diagnostics" (same elements as validate --json); with none, the plan is unchanged.
func planWithDiagnostics(plan []byte, diags hcl.Diagnostics, files map[string]*hcl.File) ([]byte, error) {
	if len(diags) == 0 {
		return plan, nil
	}
	var d bytes.Buffer
	enc := json.NewEncoder(&d)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(spec.DiagnosticsJSON(diags, files).Diagnostics); err != nil {
		return nil, err
	}
	plan = bytes.TrimRight(plan, " \n")
	if len(plan) < 2 || plan[len(plan)-1] != '}' {
		return nil, fmt.Errorf("plan JSON is not an object")
	}
	joined := append(append(append(plan[:len(plan)-1:len(plan)-1], `,"diagnostics":`...), bytes.TrimSpace(d.Bytes())...), '}')
	var out bytes.Buffer
	if err := json.Indent(&out, joined, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
