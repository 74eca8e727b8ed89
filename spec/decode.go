// Decoding of the merged block tree into the Fleet model: defaults for every optional attribute,
// paths made absolute, and the checks that concern one attribute at a time.
package spec

import (
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Defaults of the top-level blocks; the per-pool and per-box defaults sit next to their use.
const (
	defaultStateDir    = "/var/lib/fleet"
	defaultManage      = "VBoxManage"
	defaultMaxParallel = 2
	defaultCallTimeout = 10 * time.Minute
	defaultRedis       = "redis://127.0.0.1:6379/0"
	defaultNamespace   = "resque"
	defaultMaxAttempts = 3
)

var defaultPortRange = [2]int{2200, 2999}

func (d *decoder) host(n *node) Host {
	h := Host{StateDir: d.path(n, "state_dir", "", defaultStateDir)}
	name, a := d.str(n, "name", "")
	if a == nil {
		name = defaultHostName()
	} else if err := checkHostName(name); err != nil {
		d.errorf(a.Expr.Range(), "Invalid host name", "%s.", err)
	}
	h.Name = name
	return h
}

func (d *decoder) virtualBox(n *node) (VirtualBox, *hcl.Attribute) {
	vb := VirtualBox{CallTimeout: d.duration(n, "call_timeout", defaultCallTimeout), SSHPortRange: defaultPortRange}
	var a *hcl.Attribute
	vb.Manage, a = d.str(n, "manage", defaultManage)
	switch {
	case a != nil && vb.Manage == "":
		d.errorf(a.Expr.Range(), "Empty path", "manage cannot be empty; leave it out to run %q from PATH.", defaultManage)
	case a != nil && strings.ContainsRune(vb.Manage, '/'):
		vb.Manage = absPath(fileDir(a.Range.Filename), vb.Manage)
	}
	vb.MaxParallel, a = d.integer(n, "max_parallel", defaultMaxParallel)
	d.bounded(a, vb.MaxParallel, 1, 32, "Invalid max_parallel",
		"; VBoxManage serialises on its registry lock, so more parallel calls only queue")
	v, pa := d.value(n, "ssh_port_range", cty.List(cty.Number))
	if pa != nil {
		var lo, hi int
		ok := v.LengthInt() == 2
		if ok {
			lo, hi = bigInt(v.Index(cty.NumberIntVal(0))), bigInt(v.Index(cty.NumberIntVal(1)))
			ok = lo >= 1 && hi <= 65535 && lo <= hi
		}
		if !ok {
			d.errorf(pa.Expr.Range(), "Invalid SSH port range", "ssh_port_range must be [first, last] with 1 <= first <= last <= 65535, like [2200, 2999].")
			pa = nil
		} else {
			vb.SSHPortRange = [2]int{lo, hi}
		}
	}
	return vb, pa
}

// bigInt returns a number value as an int, or -1 when it is not a whole int.
func bigInt(v cty.Value) int {
	if v.IsNull() {
		return -1
	}
	i, acc := v.AsBigFloat().Int64()
	if acc != 0 || i < -1<<31 || i > 1<<31 {
		return -1
	}
	return int(i)
}

func (d *decoder) queue(n *node) Queue {
	q := Queue{}
	var a *hcl.Attribute
	q.Redis, a = d.str(n, "redis", defaultRedis)
	if a != nil {
		if msg := redisURLProblem(q.Redis); msg != "" {
			d.errorf(a.Expr.Range(), "Invalid Redis URL", "%s", msg)
		}
	}
	q.Namespace, a = d.str(n, "namespace", defaultNamespace)
	if a != nil && q.Namespace == "" {
		d.errorf(a.Expr.Range(), "Empty namespace", "namespace cannot be empty; leave it out to use %q as Resque does.", defaultNamespace)
	}
	q.MaxAttempts, a = d.integer(n, "max_attempts", defaultMaxAttempts)
	d.bounded(a, q.MaxAttempts, 1, 100, "Invalid max_attempts", "")
	d.queueLease(n, &q)
	d.queueCreds(n, &q)
	return q
}

func (d *decoder) box(n *node) *Box {
	b := &Box{Name: n.labels[0], DeclRange: n.defRange}
	if b.Name == "" || strings.ContainsAny(b.Name, ": \t\n") {
		d.errorf(n.labelRanges[0], "Invalid box name", "%q: a box name must be non-empty, without colons or whitespace.", b.Name)
	}
	var a *hcl.Attribute
	b.Version, a = d.str(n, "version", "")
	if a != nil && b.Version == "" {
		d.errorf(a.Expr.Range(), "Empty box version", "version cannot be empty: it is part of every golden image's hash; write e.g. \"1.0.0\".")
	}
	b.URL, a = d.str(n, "url", "")
	if a != nil {
		u, err := parseBoxURL(b.URL, fileDir(a.Range.Filename))
		if err != nil {
			d.errorf(a.Expr.Range(), "Invalid box URL", "%s.", err)
		}
		b.URL = u
	}
	urlAttr := a
	b.Checksum, a = d.str(n, "checksum", "")
	if a != nil {
		c, err := parseChecksum(b.Checksum)
		if err != nil {
			d.errorf(a.Expr.Range(), "Invalid checksum", "%s.", err)
		}
		b.Checksum = c
	} else if urlAttr != nil && !strings.HasPrefix(b.URL, "file:") {
		d.warnf(urlAttr.Expr.Range(), "Unverified box download", "box %q is downloaded without a checksum; add checksum = \"sha256:<hex>\".", b.Name)
	}
	ssh := n.child("ssh")
	b.SSH.User, a = d.str(ssh, "user", "vagrant")
	if a != nil && b.SSH.User == "" {
		d.errorf(a.Expr.Range(), "Empty SSH user", "user cannot be empty; leave it out to log in as \"vagrant\".")
	}
	b.SSH.PrivateKey = d.path(ssh, "private_key", "", "")
	b.SSH.Port, a = d.integer(ssh, "port", 22)
	d.bounded(a, b.SSH.Port, 1, 65535, "Invalid SSH port", "")
	d.boxFormat(n, b)
	return b
}

func (d *decoder) pool(n *node) *Pool {
	p := &Pool{Name: n.labels[0], DeclRange: n.defRange, BoxRange: n.defRange}
	if err := checkPoolName(p.Name); err != nil {
		d.errorf(n.labelRanges[0], "Invalid pool name", "%s.", err)
	}
	var a *hcl.Attribute
	if p.Box, a = d.str(n, "box", ""); a != nil {
		p.BoxRange = a.Expr.Range()
	}
	p.Provider, a = d.str(n, "provider", ProviderVirtualBox)
	if a != nil && p.Provider != ProviderVirtualBox && p.Provider != ProviderQEMU {
		d.errorf(a.Expr.Range(), "Unsupported provider", "provider %q is not known; use %q or %q.",
			p.Provider, ProviderVirtualBox, ProviderQEMU)
	}
	p.VMs, a = d.integer(n, "vms", 1)
	d.bounded(a, p.VMs, 0, 200, "Invalid number of VMs",
		"; use 0 to keep the pool without VMs, and note that each VM needs its own memory and SSH port, so more than 200 on one host is a typo")
	p.Memory, a = d.integer(n, "memory", 1024)
	d.bounded(a, p.Memory, 128, 262144, "Memory out of range", " MiB (128 MiB to 256 GiB)")
	p.CPUs, a = d.integer(n, "cpus", 1)
	d.bounded(a, p.CPUs, 1, 64, "CPU count out of range", ", VirtualBox's limit per VM")
	p.Queues, a = d.strs(n, "queues", []string{p.Name})
	if a != nil {
		d.checkQueues(a, p.Queues)
	}
	p.Rollback, a = d.str(n, "rollback", RollbackReadySnapshot)
	if a != nil && p.Rollback != RollbackReadySnapshot && p.Rollback != RollbackPerJobSnapshot {
		d.errorf(a.Expr.Range(), "Unsupported rollback strategy", "rollback %q is not known; use %q or %q.",
			p.Rollback, RollbackReadySnapshot, RollbackPerJobSnapshot)
	}
	p.Provision = d.chefSolo(n.child("provision"))
	job := n.child("job")
	p.Job = Job{
		Timeout:    d.duration(job, "timeout", 50*time.Minute),
		LogSilence: d.duration(job, "log_silence", 10*time.Minute),
		MaxLog:     d.size(job, "max_log", 4<<20),
	}
	if p.Job.MaxLog == 0 {
		d.errorf(job.attrs["max_log"].Expr.Range(), "Invalid size", "max_log must be larger than zero, like \"4MiB\".")
	}
	p.Rollout.MaxUnavailable, a = d.integer(n.child("rollout"), "max_unavailable", 1)
	d.bounded(a, p.Rollout.MaxUnavailable, 1, 200, "Invalid max_unavailable", "; at least one worker must be replaceable at a time")
	p.SSH = d.poolSSH(n.child("ssh"))
	p.Network = d.network(n.child("network"), p.Provider)
	return p
}

// checkQueues reports empty, malformed and repeated queue names, each on its own element.
func (d *decoder) checkQueues(a *hcl.Attribute, queues []string) {
	if len(queues) == 0 {
		d.errorf(a.Expr.Range(), "No queues", "a pool without queues never runs a job; name at least one, like [%q].", "builds")
		return
	}
	ranges := elemRanges(a, len(queues))
	seen := map[string]bool{}
	for i, q := range queues {
		if err := checkQueueName(q); err != nil {
			d.errorf(ranges[i], "Invalid queue name", "%s.", err)
		} else if seen[q] {
			d.errorf(ranges[i], "Duplicate queue", "queue %q is listed twice; remove one.", q)
		}
		seen[q] = true
	}
}

func (d *decoder) chefSolo(n *node) *ChefSolo {
	if n == nil {
		return nil
	}
	if n.labels[0] != "chef_solo" {
		d.errorf(n.labelRanges[0], "Unsupported provisioner", "provisioner %q is not known; write provision \"chef_solo\" { ... }.", n.labels[0])
		return nil
	}
	c := &ChefSolo{
		Attributes:     map[string]any{},
		RecipesRange:   n.defRange,
		CookbooksRange: n.defRange,
		Timeout:        d.duration(n, "timeout", 30*time.Minute),
	}
	cookbooks, a := d.strs(n, "cookbooks", []string{"cookbooks"})
	dir := fileDir(n.defRange.Filename)
	if a != nil {
		dir = fileDir(a.Range.Filename)
		c.CookbooksRange = a.Expr.Range()
		if len(cookbooks) == 0 {
			d.errorf(a.Expr.Range(), "No cookbook folders", "cookbooks cannot be empty; leave it out to use \"cookbooks\" next to this file.")
		}
	}
	for _, cb := range cookbooks {
		c.Cookbooks = append(c.Cookbooks, absPath(dir, cb))
	}
	c.Recipes, a = d.strs(n, "recipes", nil)
	if a != nil {
		c.RecipesRange = a.Expr.Range()
		c.RecipeRanges = elemRanges(a, len(c.Recipes))
		if len(c.Recipes) == 0 {
			d.errorf(a.Expr.Range(), "No recipes", "recipes cannot be empty; list at least one, like [\"build-essential\"].")
		}
		for i, r := range c.Recipes {
			if err := checkRecipe(r); err != nil {
				d.errorf(c.RecipeRanges[i], "Invalid recipe name", "%s.", err)
			}
		}
	}
	if v, ja := d.value(n, "json", cty.DynamicPseudoType); ja != nil {
		if m, ok := toGo(v).(map[string]any); ok && (v.Type().IsObjectType() || v.Type().IsMapType()) {
			c.Attributes = m
		} else {
			d.errorf(ja.Expr.Range(), "Incorrect attribute value type", "json must be an object of node attributes, like { rvm = { rubies = [%q] } }.", "1.9.2")
		}
	}
	for _, f := range []struct {
		dst       *string
		name, def string
	}{{&c.SudoPath, "sudo_path", "sudo"}, {&c.ChefSoloPath, "chef_solo_path", "chef-solo"}} {
		v, a := d.str(n, f.name, f.def)
		if a != nil && v == "" {
			d.errorf(a.Expr.Range(), "Empty path", "%s cannot be empty; leave it out to use %q.", f.name, f.def)
			v = f.def
		}
		*f.dst = v
	}
	return c
}

// ports returns how many forwarded SSH ports the fleet needs at most: one per worker, plus one
// per pool for its golden image while it is provisioned.
func (f *Fleet) ports() int {
	n := 0
	for _, p := range f.Pools {
		if p.VMs > 0 {
			n += p.VMs + 1
		}
	}
	return n
}
