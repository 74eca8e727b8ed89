// This file reads a cookbook's dependencies from metadata.json or metadata.rb. When a cookbook
// has both, metadata.json wins, as in Chef's cookbook loader (it is what `knife cookbook
// metadata` compiled from the .rb). Many old cookbooks have neither: they depend on nothing.

package chef

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Dependency is one cookbook a cookbook's metadata says it depends on.
type Dependency struct {
	// Name is the cookbook depended on.
	Name string
	// Constraint is the version constraint as written (`>= 1.0`), or empty. It is recorded,
	// not enforced: chef-solo loads whatever version is on disk.
	Constraint string
	// File is the metadata file that declares it, Line its line (0 for metadata.json).
	File string
	Line int
}

// metadata is what resolution needs from a cookbook's metadata file.
type metadata struct {
	Version  string
	Depends  []Dependency
	Warnings []Warning
}

// readMetadata reads dir/metadata.json, else dir/metadata.rb; a cookbook with neither has empty
// metadata.
func readMetadata(dir string) (metadata, error) {
	jsonPath := filepath.Join(dir, "metadata.json")
	if b, err := os.ReadFile(jsonPath); err == nil {
		md, err := parseMetadataJSON(b, jsonPath)
		if err != nil {
			return metadata{}, fmt.Errorf("read %s: %w", jsonPath, err)
		}
		return md, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return metadata{}, fmt.Errorf("read metadata: %w", err)
	}
	rbPath := filepath.Join(dir, "metadata.rb")
	b, err := os.ReadFile(rbPath)
	if errors.Is(err, fs.ErrNotExist) {
		return metadata{}, nil
	}
	if err != nil {
		return metadata{}, fmt.Errorf("read metadata: %w", err)
	}
	return parseMetadataRB(b, rbPath), nil
}

// parseMetadataRB reads `version` and `depends` from metadata.rb source. A `depends` whose
// name is not a literal string is a warning: its value is only known when Ruby runs.
func parseMetadataRB(src []byte, file string) metadata {
	var md metadata
	for _, c := range scanCalls(src, "version") {
		if len(c.Args) > 0 && c.Args[0].Literal && md.Version == "" {
			md.Version = c.Args[0].Value
		}
	}
	for _, c := range scanCalls(src, "depends") {
		if len(c.Args) == 0 || !c.Args[0].Literal {
			text := "depends without an argument"
			if len(c.Args) > 0 {
				text = fmt.Sprintf("depends %s: the name is not a literal string, so the dependency cannot be followed", c.Args[0].Value)
			}
			md.Warnings = append(md.Warnings, Warning{File: file, Line: c.Line, Text: text})
			continue
		}
		d := Dependency{Name: c.Args[0].Value, File: file, Line: c.Line}
		if len(c.Args) > 1 && c.Args[1].Literal {
			d.Constraint = c.Args[1].Value
		}
		if err := checkName(d.Name); err != nil {
			md.Warnings = append(md.Warnings, Warning{File: file, Line: c.Line, Text: fmt.Sprintf("depends %q: not a cookbook name: %v", d.Name, err)})
			continue
		}
		md.Depends = append(md.Depends, d)
	}
	return md
}

// parseMetadataJSON reads "version" and "dependencies" from metadata.json. Old Chef wrote a
// constraint as an empty array (`"apt": []`), current Chef as a string (`"apt": ">= 0.0.0"`).
func parseMetadataJSON(b []byte, file string) (metadata, error) {
	var raw struct {
		Version      string                     `json:"version"`
		Dependencies map[string]json.RawMessage `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return metadata{}, err
	}
	md := metadata{Version: raw.Version}
	names := make([]string, 0, len(raw.Dependencies))
	for name := range raw.Dependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkName(name); err != nil {
			md.Warnings = append(md.Warnings, Warning{File: file, Text: fmt.Sprintf("dependency %q: not a cookbook name: %v", name, err)})
			continue
		}
		d := Dependency{Name: name, File: file}
		var s string
		if json.Unmarshal(raw.Dependencies[name], &s) == nil {
			d.Constraint = s
		}
		md.Depends = append(md.Depends, d)
	}
	return md, nil
}
