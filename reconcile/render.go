// The human view of a plan: one line per action with a Terraform-like mark, the target and
// the reason, then a summary line. Colour is the caller's choice (terminals only). Tested
// against testdata/*.golden.

package reconcile

import (
	"fmt"
	"io"
	"strings"
)

// ANSI colours of the marks.
const (
	ansiReset  = "\x1b[0m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

// RenderOptions configure Render.
type RenderOptions struct {
	// Color adds ANSI colours; meant for terminals only.
	Color bool
}

// Render writes the plan for humans.
func Render(w io.Writer, p Plan, o RenderOptions) error {
	paint := func(code, s string) string {
		if !o.Color || code == "" {
			return s
		}
		return code + s + ansiReset
	}
	var b strings.Builder
	if p.Empty() {
		fmt.Fprintf(&b, "%s The VMs of %s match the fleet.\n", paint(ansiBold, "No changes."), p.Owner)
		writeForeign(&b, p)
		writeWarnings(&b, p, paint)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "Plan for %s:\n\n", p.Owner)
	wKind, wTarget := 0, 0
	for _, a := range p.Actions {
		wKind = max(wKind, len(kindWords(a.Kind)))
		wTarget = max(wTarget, len(a.Target))
	}
	line := func(indent string, a Action) {
		mark := fmt.Sprintf("%3s", a.Kind.Symbol())
		l := fmt.Sprintf("%s%s %-*s %-*s  %s", indent, paint(markColor(a.Kind), mark), wKind, kindWords(a.Kind), wTarget, a.Target, a.Reason)
		if a.Waiting != "" {
			l += paint(ansiDim, " (waiting: "+a.Waiting+")")
		}
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	// A golden rebuild is one replacement at its build's place: the old and new golden, then
	// the workers rolled onto it; its build, removals and workers are not listed again.
	groups := map[string]GoldenReplacement{}
	folded := map[string]bool{}
	for _, r := range p.GoldenReplacements() {
		groups[r.Build] = r
		for _, id := range append(append([]string{r.Build}, r.Remove...), r.Workers...) {
			folded[id] = true
		}
	}
	for _, a := range p.Actions {
		if r, ok := groups[a.ID]; ok {
			writeGoldenReplacement(&b, p, r, paint, line)
			continue
		}
		if !folded[a.ID] {
			line("", a)
		}
	}
	s := p.Summary()
	fmt.Fprintf(&b, "\n%s %d to add, %d to change, %d to replace, %d to destroy", paint(ansiBold, "Plan:"), s.Add, s.Change, s.Replace, s.Destroy)
	if s.Waiting > 0 {
		fmt.Fprintf(&b, ", %d waiting", s.Waiting)
	}
	b.WriteString(".\n")
	writeForeign(&b, p)
	writeWarnings(&b, p, paint)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeForeign(b *strings.Builder, p Plan) {
	switch n := len(p.Foreign); n {
	case 0:
	case 1:
		fmt.Fprintf(b, "1 foreign VM left alone.\n")
	default:
		fmt.Fprintf(b, "%d foreign VMs left alone.\n", n)
	}
}

// kindWords is the kind as the human view prints it ("create worker").
func kindWords(k Kind) string { return strings.ReplaceAll(string(k), "_", " ") }

func markColor(k Kind) string {
	switch k.Symbol() {
	case "+":
		return ansiGreen
	case "~":
		return ansiYellow
	case "-/+":
		return ansiCyan
	default:
		return ansiRed
	}
}

// writeWarnings prints the plan's pool warnings, one line each.
func writeWarnings(b *strings.Builder, p Plan, paint func(code, s string) string) {
	for _, w := range p.Warnings {
		fmt.Fprintf(b, "%s pool %s: %s\n", paint(ansiYellow, "Warning:"), w.Pool, w.Warning)
	}
}

// writeGoldenReplacement prints one golden rebuild: the replacement line with its reason, the
// old and new golden (with the old one's removal when it waits), then its workers, indented.
func writeGoldenReplacement(b *strings.Builder, p Plan, r GoldenReplacement, paint func(code, s string) string, line func(string, Action)) {
	fmt.Fprintf(b, "%s golden %q  %s\n", paint(ansiCyan, "-/+"), r.Pool, r.Reason)
	build := p.Action(r.Build)
	to := r.To
	if build != nil && build.Waiting != "" {
		to += paint(ansiDim, " (waiting: "+build.Waiting+")")
	}
	if len(r.From) == 1 && r.From[0] == r.To {
		fmt.Fprintf(b, "      %s destroyed and built again\n", to)
	} else {
		fmt.Fprintf(b, "      %s -> %s\n", strings.Join(r.From, ", "), to)
	}
	for _, id := range r.Remove {
		if a := p.Action(id); a != nil && a.Waiting != "" {
			fmt.Fprintf(b, "      %s removed %s\n", a.Target, paint(ansiDim, "(waiting: "+a.Waiting+")"))
		}
	}
	if len(r.Workers) > 0 {
		b.WriteString("      rolled onto it:\n")
	}
	for _, id := range r.Workers {
		if a := p.Action(id); a != nil {
			line("    ", *a)
		}
	}
}
