// Loading: finding the files, parsing them, merging override files over the rest, decoding and
// the checks that span blocks (a pool's box exists, enough SSH ports). Everything is reported at
// once; a fleet is returned only when there is no error.
package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Loader loads fleets and keeps the sources it read, so that diagnostics can be printed with
// their source snippets. A Loader is not safe for concurrent use.
type Loader struct {
	parser *hclparse.Parser
}

// NewLoader returns a Loader with no files read yet.
func NewLoader() *Loader { return &Loader{parser: hclparse.NewParser()} }

// Files returns every file the loader parsed, by name, for hcl.NewDiagnosticTextWriter.
func (l *Loader) Files() map[string]*hcl.File { return l.parser.Files() }

// Load reads the fleet at path with a fresh Loader; see Loader.Load.
func Load(path string) (*Fleet, hcl.Diagnostics) { return NewLoader().Load(path) }

// LoadFiles reads the fleet formed by paths with a fresh Loader; see Loader.LoadFiles.
func LoadFiles(paths ...string) (*Fleet, hcl.Diagnostics) { return NewLoader().LoadFiles(paths...) }

// LoadBytes reads a one-file fleet from src with a fresh Loader; see Loader.LoadBytes.
func LoadBytes(name string, src []byte) (*Fleet, hcl.Diagnostics) {
	return NewLoader().LoadBytes(name, src)
}

// Load reads a fleet from path: a single file, or a folder whose *.hcl files form one fleet with
// override.hcl and *_override.hcl merged over the rest. The fleet is nil whenever the
// diagnostics hold an error; warnings may come with a valid fleet.
func (l *Loader) Load(path string) (*Fleet, hcl.Diagnostics) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration",
			Detail:   fmt.Sprintf("%v; pass -c with a fleet.hcl file or a folder of *.hcl files.", err),
		}}
	}
	if !info.IsDir() {
		return l.load([]string{path}, false)
	}
	files, _ := filepath.Glob(filepath.Join(path, "*.hcl")) // the pattern is valid
	if len(files) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("Folder %s holds no *.hcl files; an empty fleet would run zero VMs.", path),
		}}
	}
	return l.load(files, true)
}

// LoadFiles reads the fleet formed by paths; files named override.hcl or *_override.hcl merge
// over the others, attribute by attribute.
func (l *Loader) LoadFiles(paths ...string) (*Fleet, hcl.Diagnostics) { return l.load(paths, true) }

// LoadBytes reads a one-file fleet from src, as if read from a file called name; relative paths
// resolve against name's folder.
func (l *Loader) LoadBytes(name string, src []byte) (*Fleet, hcl.Diagnostics) {
	f, diags := l.parser.ParseHCL(src, name)
	if diags.HasErrors() {
		return nil, diags
	}
	return l.build([]*hcl.File{f}, []string{name}, nil, nil)
}

// isOverride reports whether path names a Terraform-style override file.
func isOverride(path string) bool {
	base := filepath.Base(path)
	return base == "override.hcl" || strings.HasSuffix(base, "_override.hcl")
}

func (l *Loader) load(paths []string, overrides bool) (*Fleet, hcl.Diagnostics) {
	var baseNames, overNames []string
	for _, p := range paths {
		if overrides && isOverride(p) {
			overNames = append(overNames, p)
		} else {
			baseNames = append(baseNames, p)
		}
	}
	sort.Strings(baseNames)
	sort.Strings(overNames)
	var diags hcl.Diagnostics
	parse := func(names []string) []*hcl.File {
		var out []*hcl.File
		for _, n := range names {
			f, ds := l.parser.ParseHCLFile(n)
			diags = append(diags, ds...)
			if f != nil {
				out = append(out, f)
			}
		}
		return out
	}
	base, over := parse(baseNames), parse(overNames)
	if diags.HasErrors() {
		// A file that does not parse may be truncated: decoding what survived would only add
		// noise about missing blocks.
		return nil, diags
	}
	return l.build(base, append(baseNames, overNames...), over, diags)
}

// build decodes, merges and validates parsed files into a fleet.
func (l *Loader) build(base []*hcl.File, names []string, over []*hcl.File, diags hcl.Diagnostics) (*Fleet, hcl.Diagnostics) {
	root := &node{typ: "fleet"}
	if len(base) > 0 {
		root.defRange = fileStart(base[0])
	}
	decodeFile := func(f *hcl.File) *node {
		n := &node{typ: "fleet", defRange: fileStart(f)}
		if isEmpty(f) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Empty configuration file",
				Detail:   "This file declares nothing, and an empty fleet would run zero VMs; declare a box and a pool, or remove the file.",
				Subject:  n.defRange.Ptr(),
			})
		}
		diags = append(diags, decodeBody(n, f.Body, rootSchema)...)
		return n
	}
	allEmpty := true
	for _, f := range base {
		allEmpty = allEmpty && isEmpty(f)
		n := decodeFile(f)
		root.blocks = append(root.blocks, n.blocks...)
	}
	diags = append(diags, dedupe(root, rootSchema)...)
	for _, f := range over {
		diags = append(diags, mergeOverride(root, decodeFile(f), rootSchema)...)
	}
	diags = append(diags, checkRequired(root, rootSchema)...)

	d := &decoder{ctxs: evalContexts{}}
	fl := &Fleet{Files: names}
	fl.Host = d.host(root.child("host"))
	vb, portAttr := d.virtualBox(root.child("virtualbox"))
	fl.VirtualBox = vb
	fl.QEMU = d.qemu(root.child("qemu"))
	fl.Queue = d.queue(root.child("queue"))
	fl.Reconcile = d.reconcile(root.child("reconcile"))
	fl.Metrics = d.metrics(root.child("metrics"))
	fl.Web = d.web(root.child("web"))
	for _, c := range root.blocks {
		switch c.typ {
		case "box":
			fl.Boxes = append(fl.Boxes, d.box(c))
		case "pool":
			fl.Pools = append(fl.Pools, d.pool(c))
		case "report":
			if r := d.report(c); r != nil {
				fl.Reports = append(fl.Reports, r)
			}
		}
	}
	diags = append(diags, checkReports(fl.Reports)...)
	diags = append(diags, d.diags...)
	if allEmpty {
		// Every base file was already reported empty; "no pool" would say it twice.
		root.defRange = hcl.Range{}
	}
	diags = append(diags, crossCheck(fl, root, portAttr)...)
	sortDiags(diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return fl, diags
}

// crossCheck runs the checks that span blocks.
func crossCheck(fl *Fleet, root *node, portAttr *hcl.Attribute) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if len(fl.Pools) == 0 && root.defRange.Filename != "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No pool declared",
			Detail:   "A fleet without pools would run zero VMs; add a pool block (vms = 0 keeps a pool declared but empty).",
			Subject:  root.defRange.Ptr(),
		})
	}
	var boxNames []string
	for _, b := range fl.Boxes {
		boxNames = append(boxNames, b.Name)
	}
	for _, p := range fl.Pools {
		if p.Box == "" || fl.Box(p.Box) != nil {
			continue
		}
		hint := fmt.Sprintf("declare box %q, or use one of the declared boxes (%s).", p.Box, strings.Join(quoteAll(boxNames), ", "))
		if len(boxNames) == 0 {
			hint = fmt.Sprintf("declare it with box %q { version = ..., url = ... }.", p.Box)
		} else if s := suggest(p.Box, boxNames); s != "" {
			hint = fmt.Sprintf("did you mean %q?", s)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown box",
			Detail:   fmt.Sprintf("Pool %q uses box %q, which is not declared; %s", p.Name, p.Box, hint),
			Subject:  p.BoxRange.Ptr(),
		})
	}
	diags = append(diags, checkBoxFormats(fl)...)
	if need, have := fl.ports(), fl.VirtualBox.SSHPortRange[1]-fl.VirtualBox.SSHPortRange[0]+1; need > have && portAttr != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "SSH port range too small",
			Detail: fmt.Sprintf("The pools need up to %d forwarded SSH ports (one per VM plus one per golden image) but the range holds %d; widen it.",
				need, have),
			Subject: portAttr.Expr.Range().Ptr(),
		})
	}
	return diags
}

// sortDiags orders diagnostics by file and position, so they read top to bottom; those without
// a place come first.
func sortDiags(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}

// suggest returns the candidate closest to s when it is close enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(s, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// isEmpty reports whether f holds nothing but whitespace and comments.
func isEmpty(f *hcl.File) bool {
	body, ok := f.Body.(*hclsyntax.Body)
	return ok && len(body.Attributes) == 0 && len(body.Blocks) == 0
}

// fileStart is the range of the first character of f.
func fileStart(f *hcl.File) hcl.Range {
	name := f.Body.MissingItemRange().Filename
	return hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.Pos{Line: 1, Column: 1, Byte: 0}}
}

// WriteDiagnostics prints diags in HCL's own text format, each with its source snippet. width
// wraps the text (0: no wrapping); color adds ANSI colours and is meant for terminals only.
func (l *Loader) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, width uint, color bool) error {
	return hcl.NewDiagnosticTextWriter(w, l.Files(), width, color).WriteDiagnostics(diags)
}
