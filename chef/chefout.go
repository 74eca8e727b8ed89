// This file reads chef-solo's output on the way to the log: it keeps the last lines for the error
// a failed run returns, and finds the recipe chef names as the failing one (Chef 10 to 18 word
// this differently, see failingRecipe).

package chef

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// tailKeep is how many lines tailWriter keeps: enough to hold chef's whole error block.
const tailKeep = 200

// tailWriter keeps the last tailKeep lines written to it. Safe for concurrent use (stdout and
// stderr are written from different goroutines).
type tailWriter struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.push(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	if len(t.partial) > 64*1024 { // a line without end: keep it, bounded
		t.push(string(t.partial))
		t.partial = t.partial[:0]
	}
	return len(p), nil
}

func (t *tailWriter) push(line string) {
	line = strings.TrimRight(ansi.ReplaceAllString(line, ""), "\r")
	t.lines = append(t.lines, line)
	if len(t.lines) > 2*tailKeep {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-tailKeep:]...)
	}
}

// Lines returns up to the last n lines, the unterminated last one included.
func (t *tailWriter) Lines(n int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := t.lines
	if len(t.partial) > 0 {
		all = append(all[:len(all):len(all)], strings.TrimRight(ansi.ReplaceAllString(string(t.partial), ""), "\r"))
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return append([]string(nil), all...)
}

// lockedWriter serializes writes from stdout and stderr into one log.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// recipePatterns find the failing recipe in chef's output, most explicit first. Each yields a
// cookbook and, except the last, a recipe.
var recipePatterns = []*regexp.Regexp{
	// Chef 10/11 log line: `ERROR: execute[x] (rvm::multi line 12) had an error: ...`.
	regexp.MustCompile(`\(([\w.-]+)::([\w.-]+) line \d+\)`),
	// Chef::Exceptions::RecipeNotFound: `could not find recipe multi for cookbook rvm`.
	regexp.MustCompile(`could not find recipe ([\w.-]+) for cookbook ([\w.-]+)`),
	// Chef 11+ error block: `Recipe Compile Error in /x/cookbooks/rvm/recipes/multi.rb`, and
	// `# In /x/cookbooks/rvm/recipes/multi.rb` / `# Declared in ...` under a failed resource.
	regexp.MustCompile(`(?:Compile Error in|# In|# Declared in) \S*/cookbooks/([\w.-]+)/recipes/([\w.-]+)\.rb`),
	// Any backtrace line into a recipe.
	regexp.MustCompile(`/cookbooks/([\w.-]+)/recipes/([\w.-]+)\.rb`),
	// Chef::Exceptions::CookbookNotFound: `Cookbook rvm not found.`
	regexp.MustCompile(`[Cc]ookbook ([\w.-]+) not found`),
}

// failingRecipe returns the recipe chef's output names as the one that failed, in Chef's short
// form (`rvm` for rvm::default), or "" when it names none.
func failingRecipe(lines []string) string {
	for pi, re := range recipePatterns {
		for i := len(lines) - 1; i >= 0; i-- {
			m := re.FindStringSubmatch(lines[i])
			if m == nil {
				continue
			}
			switch pi {
			case 1:
				return recipeRef{Cookbook: m[2], Recipe: m[1]}.String()
			case len(recipePatterns) - 1:
				return m[1]
			default:
				return recipeRef{Cookbook: m[1], Recipe: m[2]}.String()
			}
		}
	}
	return ""
}
