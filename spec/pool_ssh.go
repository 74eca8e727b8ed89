package spec

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// poolSSHSchema is a pool's `ssh` block.
var poolSSHSchema = &blockSchema{attrs: []string{"allow_password"}}

// PoolSSH is a pool's `ssh` block: how its golden image may be logged in to.
type PoolSSH struct {
	// AllowPassword skips the golden hardening: the box's passwords and SSH password logins
	// stay as the box ships them. Unsafe (a build that reaches another worker's SSH port may
	// log in with the box's well-known password); for boxes that need password logins.
	AllowPassword bool
	// AllowPasswordRange is the allow_password attribute, for diagnostics; zero when absent.
	AllowPasswordRange hcl.Range
}

// poolSSH decodes a pool's ssh block (n may be nil).
func (d *decoder) poolSSH(n *node) PoolSSH {
	var s PoolSSH
	v, a := d.value(n, "allow_password", cty.Bool)
	if a == nil {
		return s
	}
	s.AllowPassword, s.AllowPasswordRange = v.True(), a.Expr.Range()
	return s
}
