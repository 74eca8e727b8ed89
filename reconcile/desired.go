// The desired side of a diff: what fleet.hcl asks for, with each pool's image identity (box
// version + provision fingerprint + baked-in settings) already computed, so Diff does no I/O.
// Fingerprints is the one function here that reads files (the cookbooks).

package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fleet-agent/fleet/chef"
	"github.com/fleet-agent/fleet/spec"
)

// DefaultCreateTimeout is how old a VM left in phase creating must be before a pass that does
// not hold the host's apply lock destroys it.
const DefaultCreateTimeout = 30 * time.Minute

// Desired is the state fleet.hcl asks for on this host.
type Desired struct {
	Owner string
	Boxes []BoxSpec // every declared box; only those a pool with VMs uses are imported
	Pools []PoolSpec
	// CreateTimeout: see DefaultCreateTimeout. Zero means the default.
	CreateTimeout time.Duration
	// Replace lists the IDs of VMs whose replacement an operator requested (ResolveReplace
	// turns `-replace=TARGET` into them, with everything built on the target). Diff plans a
	// replacement for each one still observed; an ID no longer observed has been replaced.
	Replace []string
}

// BoxSpec is one declared box.
type BoxSpec struct {
	Name, Version string
	// Spec is the declaration, for the executor (URL, checksum, SSH login); Diff ignores it.
	Spec *spec.Box `json:"-"`
}

// PoolSpec is one declared pool.
type PoolSpec struct {
	Name           string
	Box            string
	VMs            int
	Memory, CPUs   int
	MaxUnavailable int
	Image          Image
	// Network is NetworkPolicy of the pool's network block: part of each worker's fingerprint,
	// not of the golden's. Empty means the default policy.
	Network string
	// Hash is ImageHash(Image).
	Hash string
	// Spec is the declaration, for the executor (provisioning, SSH); Diff ignores it.
	Spec *spec.Pool `json:"-"`
}

// Image is what a golden image is made of; its hash names the golden VM.
type Image struct {
	Box        string `json:"box"`
	BoxVersion string `json:"box_version"`
	// User is the guest build user the agent's key is installed for (baked in).
	User string `json:"user"`
	// Provision is the chef-solo fingerprint, nil for a pool without provisioning.
	Provision *chef.Identity `json:"provision,omitempty"`
	// Hardening is the HardeningVersion the golden is hardened with, empty when the pool
	// allows password logins (ssh.allow_password).
	Hardening string `json:"hardening,omitempty"`
}

// imageFormat is hashed into every image hash; bump it to rebuild every golden once.
const imageFormat = 1

// ImageHash returns the hex sha256 naming img.
func ImageHash(img Image) string {
	prov := ""
	if img.Provision != nil {
		prov = img.Provision.Hash
	}
	b, _ := json.Marshal([]any{imageFormat, img.Box, img.BoxVersion, img.User, prov, img.Hardening})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Box returns the box named name, or nil.
func (d *Desired) Box(name string) *BoxSpec {
	for i := range d.Boxes {
		if d.Boxes[i].Name == name {
			return &d.Boxes[i]
		}
	}
	return nil
}

// Pool returns the pool named name, or nil.
func (d *Desired) Pool(name string) *PoolSpec {
	for i := range d.Pools {
		if d.Pools[i].Name == name {
			return &d.Pools[i]
		}
	}
	return nil
}

func (d *Desired) createTimeout() time.Duration {
	if d.CreateTimeout > 0 {
		return d.CreateTimeout
	}
	return DefaultCreateTimeout
}

// NewDesired builds the desired state of fleet f; provisions maps each pool with a provision
// block to its fingerprint (see Fingerprints). It does no I/O.
func NewDesired(f *spec.Fleet, provisions map[string]*chef.Identity) Desired {
	d := Desired{Owner: f.Host.Name}
	for _, b := range f.Boxes {
		d.Boxes = append(d.Boxes, BoxSpec{Name: b.Name, Version: b.Version, Spec: b})
	}
	for _, p := range f.Pools {
		box := f.Box(p.Box)
		img := Image{Box: p.Box, Provision: provisions[p.Name], Hardening: HardeningVersion}
		if p.SSH.AllowPassword {
			img.Hardening = ""
		}
		if box != nil {
			img.BoxVersion, img.User = box.Version, box.SSH.User
		}
		d.Pools = append(d.Pools, PoolSpec{
			Name: p.Name, Box: p.Box, VMs: p.VMs, Memory: p.Memory, CPUs: p.CPUs,
			MaxUnavailable: max(p.Rollout.MaxUnavailable, 1), Image: img, Hash: ImageHash(img), Spec: p,
			Network: NetworkPolicy(p.Network),
		})
	}
	return d
}

// Fingerprints resolves and fingerprints the provisioning of every pool of f that has VMs and
// a provision block: it reads the cookbooks.
func Fingerprints(f *spec.Fleet) (map[string]*chef.Identity, error) {
	out := map[string]*chef.Identity{}
	for _, p := range f.Pools {
		if p.Provision == nil || p.VMs == 0 {
			continue
		}
		res, err := chef.Resolve(p.Provision.Cookbooks, p.Provision.Recipes)
		if err != nil {
			return nil, fmt.Errorf("pool %s: resolve recipes: %w", p.Name, err)
		}
		id, err := chef.Fingerprint(res, chef.Node{Attributes: p.Provision.Attributes})
		if err != nil {
			return nil, fmt.Errorf("pool %s: fingerprint: %w", p.Name, err)
		}
		out[p.Name] = &id
	}
	return out, nil
}

// imageChanges says why a golden made of old is stale against new, for humans.
func imageChanges(old *Image, new Image) string {
	if old == nil {
		return "image changed"
	}
	var why []string
	if old.Box != new.Box {
		why = append(why, fmt.Sprintf("box %s -> %s", old.Box, new.Box))
	} else if old.BoxVersion != new.BoxVersion {
		why = append(why, fmt.Sprintf("box %s %s -> %s", new.Box, old.BoxVersion, new.BoxVersion))
	}
	if old.User != new.User {
		why = append(why, fmt.Sprintf("user %s -> %s", old.User, new.User))
	}
	if h := hardeningChange(old.Hardening, new.Hardening); h != "" {
		why = append(why, h)
	}
	switch {
	case old.Provision == nil && new.Provision != nil:
		why = append(why, "provisioning added")
	case old.Provision != nil && new.Provision == nil:
		why = append(why, "provisioning removed")
	case old.Provision != nil:
		why = append(why, chef.Changes(*old.Provision, *new.Provision)...)
	}
	if len(why) == 0 {
		return "image changed"
	}
	return joinComma(why)
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
