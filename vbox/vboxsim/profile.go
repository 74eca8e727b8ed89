// This file is the latency model: a profile maps operation names to delays
// the simulator charges before completing them (default: none).

package vboxsim

import (
	_ "embed"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

//go:embed profiles/realistic.profile
var realisticProfile string

// Profile is a parsed latency profile. The zero Profile charges nothing.
type Profile struct {
	// Delays maps an operation name (see doc.go) to its delay.
	Delays map[string]time.Duration
	// Scale multiplies every delay; 0 means 1.
	Scale float64
}

// Delay returns the scaled delay of op.
func (p Profile) Delay(op string) time.Duration {
	d := p.Delays[op]
	if p.Scale > 0 {
		d = time.Duration(float64(d) * p.Scale)
	}
	return d
}

// ParseProfile parses "op = duration" lines; '#' starts a comment, blank
// lines are ignored, and "scale = 0.1" sets Scale.
func ParseProfile(text string) (Profile, error) {
	p := Profile{Delays: map[string]time.Duration{}}
	for i, line := range strings.Split(text, "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return Profile{}, fmt.Errorf("profile line %d: want \"op = duration\", got %q", i+1, line)
		}
		if key == "scale" {
			f, err := strconv.ParseFloat(val, 64)
			if err != nil || f < 0 {
				return Profile{}, fmt.Errorf("profile line %d: bad scale %q", i+1, val)
			}
			p.Scale = f
			continue
		}
		d, err := time.ParseDuration(val)
		if err != nil || d < 0 {
			return Profile{}, fmt.Errorf("profile line %d: bad duration %q for %s", i+1, val, key)
		}
		p.Delays[key] = d
	}
	return p, nil
}

// LoadProfile resolves VBOXSIM_PROFILE: empty means no delays, "realistic"
// the embedded profile, anything else a file path.
func LoadProfile(spec string) (Profile, error) {
	switch spec {
	case "":
		return Profile{}, nil
	case "realistic":
		return ParseProfile(realisticProfile)
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		return Profile{}, fmt.Errorf("read profile: %w", err)
	}
	p, err := ParseProfile(string(b))
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", spec, err)
	}
	return p, nil
}

// RealisticProfile returns the text of the embedded realistic profile.
func RealisticProfile() string { return realisticProfile }
