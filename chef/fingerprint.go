// This file computes the provision fingerprint: the part of a golden image's identity that
// chef decides. It hashes exactly what chef-solo will see (the resolved cookbooks' files, the
// run list, the node attributes), so an edit to an unused cookbook costs nothing and a one-byte
// edit to a used template rebuilds the image. The hot loop is filesDigest, one read per file.

package chef

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// FingerprintVersion is the format version hashed into every fingerprint. Bump it when what is
// hashed, or how, changes, so that every golden image is rebuilt once.
const FingerprintVersion = 1

// Identity is a provision fingerprint with the parts it was made of, so that a plan can say why
// two differ (see Changes). It is plain data and marshals to JSON.
type Identity struct {
	// Hash is the hex sha256 over Version, RunList, the canonical attributes and Cookbooks.
	Hash    string `json:"hash"`
	Version int    `json:"version"`
	// RunList is the resolved run list in Chef's short form.
	RunList []string `json:"run_list"`
	// Attributes is the hex sha256 of the canonical JSON of the node attributes.
	Attributes string `json:"attributes"`
	// Cookbooks maps each resolved cookbook's name to the hex sha256 of its files.
	Cookbooks map[string]string `json:"cookbooks"`
	// Roles and DataBags are the hex sha256 of the files of Node.RolesPath and
	// Node.DataBagsPath, empty when those are not set.
	Roles    string `json:"roles,omitempty"`
	DataBags string `json:"data_bags,omitempty"`
}

// Node is what the guest's node is given besides the cookbooks: fleet.hcl's `json` attributes
// and, optionally, role and data bag folders on the host.
type Node struct {
	// Attributes are the node attributes; they must not hold "run_list".
	Attributes map[string]any
	// RolesPath and DataBagsPath are host folders bundled as roles/ and data_bags/ and named in
	// solo.rb; empty means none.
	RolesPath    string
	DataBagsPath string
}

// Fingerprint computes the provision fingerprint of a resolution and the node it provisions.
// It reads every file of every resolved cookbook, and of the role and data bag folders.
func Fingerprint(res *Resolution, node Node) (Identity, error) {
	canon, err := canonicalJSON(node.Attributes)
	if err != nil {
		return Identity{}, fmt.Errorf("fingerprint: node attributes: %w", err)
	}
	id := Identity{
		Version:    FingerprintVersion,
		RunList:    slices.Clone(res.RunList),
		Attributes: sum(canon),
		Cookbooks:  make(map[string]string, len(res.Cookbooks)),
	}
	if id.RunList == nil {
		id.RunList = []string{}
	}
	h := sha256.New()
	runList, _ := json.Marshal(id.RunList) // a []string always marshals
	fmt.Fprintf(h, "fleet chef fingerprint v%d\nrun_list %s\nattributes %s\n", id.Version, runList, canon)
	for _, cb := range res.Cookbooks { // sorted by name
		d, err := filesDigest(cb.Dir, cb.Files)
		if err != nil {
			return Identity{}, fmt.Errorf("fingerprint: cookbook %s: %w", cb.Name, err)
		}
		id.Cookbooks[cb.Name] = d
		fmt.Fprintf(h, "cookbook %s %s\n", cb.Name, d)
	}
	for _, extra := range []struct {
		kind, dir string
		into      *string
	}{{"roles", node.RolesPath, &id.Roles}, {"data_bags", node.DataBagsPath, &id.DataBags}} {
		if extra.dir == "" {
			continue
		}
		files, err := listFiles(extra.dir)
		if err != nil {
			return Identity{}, fmt.Errorf("fingerprint: %s: %w", extra.kind, err)
		}
		d, err := filesDigest(extra.dir, files)
		if err != nil {
			return Identity{}, fmt.Errorf("fingerprint: %s: %w", extra.kind, err)
		}
		*extra.into = d
		fmt.Fprintf(h, "%s %s\n", extra.kind, d)
	}
	id.Hash = hex.EncodeToString(h.Sum(nil))
	return id, nil
}

// filesDigest hashes the files of a folder: for each, in sorted order, its path, its kind
// (file, executable or symlink), its length and its content (a symlink's content is its target).
func filesDigest(dir string, files []string) (string, error) {
	h := sha256.New()
	buf := make([]byte, 32*1024)
	for _, rel := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		st, err := os.Lstat(path)
		if err != nil {
			return "", err
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s\x00l\x00%d\x00%s", rel, len(target), target)
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		kind := "f"
		if st.Mode()&0o111 != 0 {
			kind = "x" // the bundle keeps the executable bit, so the hash does too
		}
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00", rel, kind, st.Size())
		n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf) // Reader only: *os.File's WriteTo would allocate per file
		f.Close()
		if err != nil {
			return "", err
		}
		if n != st.Size() {
			return "", fmt.Errorf("%s changed while it was read", path)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// canonicalJSON returns attrs as compact JSON with object keys sorted and numbers as written, so
// that equal attributes hash equally whatever map order or Go types they came in.
func canonicalJSON(attrs map[string]any) ([]byte, error) {
	if attrs == nil {
		return []byte("{}"), nil
	}
	if _, ok := attrs["run_list"]; ok {
		return nil, fmt.Errorf("run_list is set from recipes, not from the attributes")
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v) // maps marshal with sorted keys
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Changes says, for a human reading a plan, why the image old differs from new: `recipes
// changed (+rvm::multi, -java)`, `cookbook java changed`, `attributes changed`. It returns nil
// when the hashes are equal.
func Changes(old, new Identity) []string {
	if old.Hash == new.Hash {
		return nil
	}
	var out []string
	if old.Version != new.Version {
		out = append(out, fmt.Sprintf("fingerprint format changed (v%d to v%d)", old.Version, new.Version))
	}
	if !slices.Equal(old.RunList, new.RunList) {
		var diff []string
		for _, r := range new.RunList {
			if !slices.Contains(old.RunList, r) {
				diff = append(diff, "+"+r)
			}
		}
		for _, r := range old.RunList {
			if !slices.Contains(new.RunList, r) {
				diff = append(diff, "-"+r)
			}
		}
		if len(diff) == 0 {
			out = append(out, "recipes reordered")
		} else {
			out = append(out, fmt.Sprintf("recipes changed (%s)", strings.Join(diff, ", ")))
		}
	}
	if old.Attributes != new.Attributes {
		out = append(out, "attributes changed")
	}
	if old.Roles != new.Roles {
		out = append(out, "roles changed")
	}
	if old.DataBags != new.DataBags {
		out = append(out, "data bags changed")
	}
	names := make([]string, 0, len(old.Cookbooks)+len(new.Cookbooks))
	for n := range old.Cookbooks {
		names = append(names, n)
	}
	for n := range new.Cookbooks {
		if _, ok := old.Cookbooks[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		o, inOld := old.Cookbooks[n]
		c, inNew := new.Cookbooks[n]
		switch {
		case !inOld:
			out = append(out, fmt.Sprintf("cookbook %s added", n))
		case !inNew:
			out = append(out, fmt.Sprintf("cookbook %s removed", n))
		case o != c:
			out = append(out, fmt.Sprintf("cookbook %s changed", n))
		}
	}
	if len(out) == 0 {
		out = append(out, "provision fingerprint changed")
	}
	return out
}
