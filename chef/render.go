// This file renders what chef-solo reads on the guest: solo.rb, the node JSON (dna.json in
// Vagrant's words) and a tar.gz bundle holding both plus only the resolved cookbooks. The bundle
// is byte-for-byte reproducible (sorted entries, fixed times and owners) and position
// independent: solo.rb names its folders relative to itself, so it can be unpacked anywhere.

package chef

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Bundle layout: the names Provision relies on inside the unpacked folder.
const (
	SoloRBName   = "solo.rb"
	NodeJSONName = "node.json"
)

// SoloRB renders solo.rb for a bundle: file_cache_path and cookbook_path always, role_path and
// data_bag_path when the node has them, all relative to the folder solo.rb is in (as Travis's
// own solo.rb did with `File.join(root, "cache")`).
func SoloRB(node Node) []byte {
	var b bytes.Buffer
	b.WriteString("# solo.rb written by fleet agent. Paths are relative to this file's folder, so the\n")
	b.WriteString("# bundle can be unpacked anywhere.\n")
	b.WriteString("root = File.expand_path(File.dirname(__FILE__))\n")
	b.WriteString("file_cache_path File.join(root, \"cache\")\n")
	b.WriteString("cookbook_path [File.join(root, \"cookbooks\")]\n")
	if node.RolesPath != "" {
		b.WriteString("role_path File.join(root, \"roles\")\n")
	}
	if node.DataBagsPath != "" {
		b.WriteString("data_bag_path File.join(root, \"data_bags\")\n")
	}
	b.WriteString("log_level :info\n")
	b.WriteString("log_location STDOUT\n")
	return b.Bytes()
}

// NodeJSON renders the `-j` file: `{"run_list": ["recipe[x::y]", ...], <attributes>}`, indented
// like Vagrant's JSON.pretty_generate, run_list first and attributes in key order.
func NodeJSON(runList []string, attrs map[string]any) ([]byte, error) {
	canon, err := canonicalJSON(attrs)
	if err != nil {
		return nil, fmt.Errorf("node json: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(canon, &fields); err != nil {
		return nil, fmt.Errorf("node json: %w", err)
	}
	items := make([]string, len(runList))
	for i, r := range runList {
		items[i] = "recipe[" + r + "]"
	}
	var b bytes.Buffer
	rl, _ := json.MarshalIndent(items, "  ", "  ") // a []string always marshals
	if len(items) == 0 {
		rl = []byte("[]")
	}
	fmt.Fprintf(&b, "{\n  \"run_list\": %s", rl)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key, _ := json.Marshal(k)
		var v bytes.Buffer
		if err := json.Indent(&v, fields[k], "  ", "  "); err != nil {
			return nil, fmt.Errorf("node json: %w", err)
		}
		fmt.Fprintf(&b, ",\n  %s: %s", key, v.Bytes())
	}
	b.WriteString("\n}\n")
	return b.Bytes(), nil
}

// bundleTime is the modification time of every bundle entry, so that equal inputs give equal
// bytes.
var bundleTime = time.Unix(0, 0).UTC()

// WriteBundle writes the tar.gz that Provision unpacks on the guest: solo.rb, node.json,
// cookbooks/<name>/... for each resolved cookbook, and roles/ and data_bags/ when set.
func WriteBundle(w io.Writer, res *Resolution, node Node) error {
	js, err := NodeJSON(res.RunList, node.Attributes)
	if err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // the level is valid
	tw := tar.NewWriter(zw)
	bw := bundleWriter{tw: tw, dirs: map[string]bool{}}
	bw.bytes(SoloRBName, SoloRB(node))
	bw.bytes(NodeJSONName, js)
	for _, cb := range res.Cookbooks {
		bw.tree("cookbooks/"+cb.Name, cb.Dir, cb.Files)
	}
	for _, extra := range [][2]string{{"roles", node.RolesPath}, {"data_bags", node.DataBagsPath}} {
		if extra[1] == "" {
			continue
		}
		files, err := listFiles(extra[1])
		if err != nil {
			return fmt.Errorf("write bundle: %w", err)
		}
		bw.tree(extra[0], extra[1], files)
	}
	if bw.err != nil {
		return fmt.Errorf("write bundle: %w", bw.err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

// Bundle returns the bytes WriteBundle writes.
func Bundle(res *Resolution, node Node) ([]byte, error) {
	var b bytes.Buffer
	if err := WriteBundle(&b, res, node); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// bundleWriter writes tar entries, creating parent folder entries once, and keeps the first
// error.
type bundleWriter struct {
	tw   *tar.Writer
	dirs map[string]bool
	buf  []byte // copy buffer shared by every file
	err  error
}

func (bw *bundleWriter) header(h *tar.Header) {
	h.ModTime, h.Uid, h.Gid, h.Format = bundleTime, 0, 0, tar.FormatPAX
	if bw.err == nil {
		bw.err = bw.tw.WriteHeader(h)
	}
}

func (bw *bundleWriter) mkdirs(name string) {
	dir := filepath.ToSlash(filepath.Dir(name))
	if dir == "." || bw.dirs[dir] {
		return
	}
	bw.mkdirs(dir)
	bw.dirs[dir] = true
	bw.header(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755})
}

func (bw *bundleWriter) bytes(name string, data []byte) {
	bw.mkdirs(name)
	bw.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data))})
	if bw.err == nil {
		_, bw.err = bw.tw.Write(data)
	}
}

// tree writes the files (relative, slash-separated) of the host folder dir under prefix.
func (bw *bundleWriter) tree(prefix, dir string, files []string) {
	for _, rel := range files {
		if bw.err != nil {
			return
		}
		name := prefix + "/" + rel
		path := filepath.Join(dir, filepath.FromSlash(rel))
		st, err := os.Lstat(path)
		if err != nil {
			bw.err = err
			return
		}
		bw.mkdirs(name)
		if st.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(path)
			if err != nil {
				bw.err = err
				return
			}
			if filepath.IsAbs(target) || strings.HasPrefix(filepath.Clean(filepath.Join(filepath.Dir(rel), target)), "..") {
				bw.err = fmt.Errorf("%s: symlink points outside its folder (%s)", path, target)
				return
			}
			bw.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
			continue
		}
		mode := int64(0o644)
		if st.Mode()&0o111 != 0 {
			mode = 0o755
		}
		bw.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: st.Size()})
		f, err := os.Open(path)
		if err != nil {
			bw.err = err
			return
		}
		if bw.buf == nil {
			bw.buf = make([]byte, 32*1024)
		}
		n, err := io.CopyBuffer(bw.tw, struct{ io.Reader }{f}, bw.buf)
		f.Close()
		if err == nil && n != st.Size() {
			err = fmt.Errorf("%s changed while it was read", path)
		}
		if err != nil && bw.err == nil {
			bw.err = err
		}
	}
}
