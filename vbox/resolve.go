package vbox

// This file keys per-VM mutation locks by UUID: a VM given by name and the same VM given by
// UUID must be serialised against each other. The name-to-UUID map is learnt from what the
// driver reads anyway (list, showvminfo, import and clone results), so resolving costs no
// VBoxManage call; a name not seen yet is keyed as given.

import (
	"regexp"
	"strings"
)

var uuidArgRe = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$`)

// lockKey returns the key of vm's mutation lock: its UUID (lower case, no braces) when vm is a
// UUID or a name the driver has seen with one, else vm as given.
func (d *Driver) lockKey(vm string) string {
	if uuidArgRe.MatchString(vm) {
		return strings.ToLower(strings.Trim(vm, "{}"))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if u, ok := d.names[vm]; ok {
		return u
	}
	return vm
}

// learn records the names and UUIDs of refs. With all set (a full `list vms`), names not in
// refs are forgotten.
func (d *Driver) learn(all bool, refs ...VMRef) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if all {
		clear(d.names)
	}
	for _, r := range refs {
		if r.Name != "" && r.UUID != "" && !r.Inaccessible {
			d.names[r.Name] = strings.ToLower(r.UUID)
		}
	}
}

// forget drops vm (a name or UUID) from the map once it is unregistered.
func (d *Driver) forget(vm string) {
	key := d.lockKey(vm)
	d.mu.Lock()
	defer d.mu.Unlock()
	for n, u := range d.names {
		if n == vm || u == key {
			delete(d.names, n)
		}
	}
}
