// The schema of fleet.hcl and the raw block tree each file decodes into. Keeping the raw
// *hcl.Attribute (expression and range) until the override merge is done is what lets a merged
// value still point at the file and line that set it.
package spec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// blockSchema lists the attributes and nested blocks allowed in one kind of block.
type blockSchema struct {
	attrs    []string
	required []string
	blocks   map[string]*nestedBlock
}

// nestedBlock describes a block type allowed inside another. A multi block may appear once per
// distinct label (box, pool); a repeat block any number of times (report); any other block at
// most once.
type nestedBlock struct {
	labels []string
	multi  bool
	repeat bool
	schema *blockSchema
}

var (
	sshSchema       = &blockSchema{attrs: []string{"user", "private_key", "port"}}
	provisionSchema = &blockSchema{
		attrs:    []string{"cookbooks", "recipes", "json", "timeout", "sudo_path", "chef_solo_path"},
		required: []string{"recipes"},
	}
	jobSchema     = &blockSchema{attrs: []string{"timeout", "log_silence", "max_log"}}
	rolloutSchema = &blockSchema{attrs: []string{"max_unavailable"}}
	boxSchema     = &blockSchema{
		attrs:    []string{"version", "url", "checksum", "format", "cmdline"},
		required: []string{"version", "url"},
		blocks:   map[string]*nestedBlock{"ssh": {schema: sshSchema}},
	}
	poolSchema = &blockSchema{
		attrs:    []string{"box", "provider", "vms", "memory", "cpus", "queues", "rollback"},
		required: []string{"box"},
		blocks: map[string]*nestedBlock{
			"provision": {labels: []string{"provisioner"}, schema: provisionSchema},
			"job":       {schema: jobSchema},
			"rollout":   {schema: rolloutSchema},
			"ssh":       {schema: poolSSHSchema},
			"network":   {schema: networkSchema},
		},
	}
	rootSchema = &blockSchema{blocks: map[string]*nestedBlock{
		"host":       {schema: &blockSchema{attrs: []string{"name", "state_dir"}}},
		"virtualbox": {schema: &blockSchema{attrs: []string{"manage", "max_parallel", "ssh_port_range", "call_timeout"}}},
		"qemu":       {schema: &blockSchema{attrs: []string{"binary", "accel"}}},
		"queue":      {schema: &blockSchema{attrs: []string{"redis", "namespace", "max_attempts", "host_lease", "heartbeat", "username", "password_file", "password_env"}}},
		"reconcile":  {schema: &blockSchema{attrs: []string{"resync"}}},
		"metrics":    {schema: &blockSchema{attrs: []string{"listen"}}},
		"web":        {schema: &blockSchema{attrs: []string{"listen", "auth_file", "read_only"}}},
		"box":        {labels: []string{"name"}, multi: true, schema: boxSchema},
		"pool":       {labels: []string{"name"}, multi: true, schema: poolSchema},
		"report":     {labels: []string{"kind"}, repeat: true, schema: reportSchema},
	}}
)

// hclSchema turns s into the schema HCL checks a body against. Nothing is marked required here:
// an override file sets only what it changes, so required attributes are checked after merging.
func (s *blockSchema) hclSchema() *hcl.BodySchema {
	hs := &hcl.BodySchema{}
	for _, a := range s.attrs {
		hs.Attributes = append(hs.Attributes, hcl.AttributeSchema{Name: a})
	}
	for typ, nb := range s.blocks {
		hs.Blocks = append(hs.Blocks, hcl.BlockHeaderSchema{Type: typ, LabelNames: nb.labels})
	}
	return hs
}

// node is one block (or a file's top level) before evaluation: its header and raw attributes.
type node struct {
	typ         string
	labels      []string
	defRange    hcl.Range
	labelRanges []hcl.Range
	attrs       map[string]*hcl.Attribute
	blocks      []*node
}

// key identifies a block for duplicate detection and override matching.
func (n *node) key() string { return n.typ + "\x00" + strings.Join(n.labels, "\x00") }

// title names the block the way a user wrote it, for messages: `pool "ruby"`.
func (n *node) title() string {
	s := n.typ
	for _, l := range n.labels {
		s += fmt.Sprintf(" %q", l)
	}
	return s
}

// child returns the first nested block of type typ, or nil.
func (n *node) child(typ string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.blocks {
		if c.typ == typ {
			return c
		}
	}
	return nil
}

// decodeBody checks body against s and fills n with its attributes and nested blocks. Unknown
// attributes and blocks are reported by HCL itself, with its "Did you mean" suggestions.
func decodeBody(n *node, body hcl.Body, s *blockSchema) hcl.Diagnostics {
	content, diags := body.Content(s.hclSchema())
	n.attrs = content.Attributes
	for _, b := range content.Blocks {
		c := &node{typ: b.Type, labels: b.Labels, defRange: b.DefRange, labelRanges: b.LabelRanges}
		diags = append(diags, decodeBody(c, b.Body, s.blocks[b.Type].schema)...)
		n.blocks = append(n.blocks, c)
	}
	return diags
}

// dedupe reports every block of n (recursively) that repeats an earlier one and drops it, so
// that later stages see each block once.
func dedupe(n *node, s *blockSchema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]*node{}
	kept := n.blocks[:0]
	for _, c := range n.blocks {
		nb := s.blocks[c.typ]
		if nb.repeat {
			kept = append(kept, c) // repeats are told apart by content (checkReports)
			continue
		}
		k := c.key()
		if !nb.multi {
			k = c.typ // at most one, whatever its label
		}
		if first, dup := seen[k]; dup {
			summary := "Duplicate " + c.typ + " block"
			if nb.multi {
				summary = "Duplicate " + c.typ
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  summary,
				Detail: fmt.Sprintf("%s was already declared at %s; merge the two or rename one.",
					c.title(), first.defRange),
				Subject: c.defRange.Ptr(),
			})
			continue
		}
		seen[k] = c
		diags = append(diags, dedupe(c, nb.schema)...)
		kept = append(kept, c)
	}
	n.blocks = kept
	return diags
}

// mergeOverride merges the override tree ov into base the way Terraform override files work:
// each attribute ov sets replaces the base one, and nested blocks merge the same way. A box or
// pool that the base files do not declare is an error: an override changes, it never adds.
func mergeOverride(base, ov *node, s *blockSchema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for name, a := range ov.attrs {
		if base.attrs == nil {
			base.attrs = map[string]*hcl.Attribute{}
		}
		base.attrs[name] = a
	}
	for _, c := range ov.blocks {
		nb := s.blocks[c.typ]
		if nb.repeat {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Repeated block in override file",
				Detail: fmt.Sprintf("Override file declares %s, but such blocks may repeat, so an override could not tell which one it changes; declare it in a non-override file.",
					c.title()),
				Subject: c.defRange.Ptr(),
			})
			continue
		}
		var target *node
		for _, b := range base.blocks {
			if b.key() == c.key() {
				target = b
				break
			}
		}
		switch {
		case target != nil:
			diags = append(diags, mergeOverride(target, c, nb.schema)...)
		case nb.multi:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing base block",
				Detail: fmt.Sprintf("Override file declares %s, which no other file declares; an override can only change a block, so declare it in a non-override file.",
					c.title()),
				Subject: c.defRange.Ptr(),
			})
		default:
			base.blocks = append(base.blocks, c)
		}
	}
	return diags
}

// checkRequired reports every required attribute missing from n and its nested blocks.
func checkRequired(n *node, s *blockSchema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if n.typ == "provision" && n.labels[0] != "chef_solo" {
		return nil // reported as an unsupported provisioner; its schema is chef_solo's
	}
	for _, name := range s.required {
		if _, ok := n.attrs[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail:   fmt.Sprintf("The argument %q is required in %s, but no definition was found.", name, n.title()),
				Subject:  n.defRange.Ptr(),
			})
		}
	}
	for _, c := range n.blocks {
		diags = append(diags, checkRequired(c, s.blocks[c.typ].schema)...)
	}
	return diags
}
