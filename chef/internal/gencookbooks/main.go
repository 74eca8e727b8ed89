// Command gencookbooks writes chef/testdata/ci_environment: a cookbook repository shaped like
// travis-cookbooks' ci_environment of mid-2012 (76 cookbooks, see /work/shared/CHEF.md C.6),
// written the way Chef 10/11-era community cookbooks were: metadata.rb with comments, version
// constraints and `long_description IO.read(...)`, some metadata.json-only and some
// metadata-less cookbooks, attributes, templates, files and conditional, interpolated and
// platform-only include_recipe lines. File bodies are short; the structure is what matters.
// The tree is committed; run `go generate ./chef` to write it again.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// names are ci_environment's 76 cookbook folders at travis-cookbooks ed7af392 (2012-06-29).
var names = strings.Fields(`ant apt bazaar build-essential cassandra chromium clisp cmake composer
couchdb elasticsearch emacs erlang firebird firefox git golang gradle haskell hbase htop
imagemagick iptables java kerl leiningen libffi libgdbm libncurses libossp-uuid libqt4
libreadline libssl libv8 libxml libyaml lighttpd maven3 memcached mercurial mingw32 mongodb mysql
neo4j-server networking_basic nodejs openssl perlbrew phantomjs php phpbuild phpenv postgresql
pypy python rabbitmq ragel ramfs rebar redis riak rvm sbt scons sphinx sqlite subversion sweeper
sysctl timezone travis_build_environment unarchivers util-linux vim xserver zeromq`)

// depends are the metadata dependencies; those from CHEF.md's table are real (php's
// "php-build" included: the folder is phpbuild, a real mistake of that tree).
var depends = map[string][]string{
	"rvm":           {"apt", "build-essential", "git"},
	"java":          {"apt"},
	"mysql":         {"openssl"},
	"python":        {"build-essential"},
	"php":           {"build-essential", "apt", "php-build", "phpenv"},
	"phpenv":        {"git"},
	"phpbuild":      {"git", "phpenv"},
	"ant":           {"java"},
	"maven3":        {"java"},
	"leiningen":     {"java"},
	"sbt":           {"java"},
	"gradle":        {"java", "unarchivers"},
	"hbase":         {"java"},
	"cassandra":     {"java", "apt"},
	"elasticsearch": {"java"},
	"neo4j-server":  {"java"},
	"riak":          {"erlang", "apt"},
	"rabbitmq":      {"erlang", "apt"},
	"rebar":         {"erlang", "git"},
	"kerl":          {"build-essential", "libncurses", "libssl"},
	"erlang":        {"build-essential", "libncurses"},
	"nodejs":        {"build-essential", "libssl"},
	"golang":        {"git", "mercurial", "bazaar"},
	"haskell":       {"build-essential", "libffi"},
	"mongodb":       {"apt"},
	"couchdb":       {"build-essential", "erlang"},
	"redis":         {"build-essential"},
	"perlbrew":      {"build-essential"},
	"pypy":          {"python", "apt"},
	"composer":      {"php"},
	"postgresql":    {"ramfs"},
	"memcached":     {"apt"},
	"phantomjs":     {"libqt4", "unarchivers"},
	"xserver":       {"apt"},
	"firefox":       {"xserver"},
	"chromium":      {"xserver", "apt"},
}

// recipes are the recipe files besides default.rb, with a body each; "" means a short generic
// body.
var recipes = map[string]map[string]string{
	"rvm": {
		"multi": "include_recipe \"rvm\"\n\nnode[:rvm][:rubies].each do |rb|\n  rvm_ruby rb[:name] do\n    arguments rb[:arguments]\n  end\nend\n",
	},
	"java": {
		"default":    "include_recipe \"java::#{node['java']['install_flavor']}\"\n",
		"multi":      "node['java']['multi']['versions'].each do |v|\n  include_recipe \"java::#{v}\"\nend\n",
		"openjdk6":   "",
		"openjdk7":   "",
		"oraclejdk7": "include_recipe \"java::openjdk7\" if node['java']['oracle']['fallback']\n",
	},
	"mysql": {
		"client":          "",
		"server":          "include_recipe \"mysql::client\"\ninclude_recipe \"openssl\"\n",
		"server_on_ramfs": "include_recipe \"ramfs\"\ninclude_recipe \"mysql::server\"\n",
	},
	"postgresql": {
		"client":          "",
		"server":          "include_recipe \"postgresql::client\"\ninclude_recipe \"postgresql::server_#{node['platform_family']}\"\n",
		"server_debian":   "",
		"server_redhat":   "include_recipe \"yum::epel\" if platform_family?(\"rhel\")\n",
		"server_on_ramfs": "include_recipe \"ramfs\"\n",
	},
	"python": {"multi": "include_recipe \"python::pip\"\n", "package": "", "pip": "include_recipe \"python\"\n", "virtualenv": "include_recipe \"python::pip\"\n"},
	"php":    {"multi": "include_recipe \"phpenv\"\ninclude_recipe \"phpbuild\"\n"},
	"nodejs": {"multi": "node[:nodejs][:versions].each do |v|\n  nodejs_install v\nend\n"},
	"golang": {"multi": ""},
	"travis_build_environment": {
		"non_privileged_user": "",
		"root":                "include_recipe \"travis_build_environment::non_privileged_user\"\n",
	},
	"git":    {"ppa": "include_recipe \"apt\"\n"},
	"gradle": {"tarball": "include_recipe \"unarchivers\"\n"},
}

// defaultIncludes are extra lines in some default recipes: conditional, platform-only and
// interpolated includes as real cookbooks had them.
var defaultIncludes = map[string]string{
	"build-essential":          "include_recipe \"apt\" if platform_family?(\"debian\")\ninclude_recipe \"xcode\" if platform?(\"mac_os_x\")\n",
	"travis_build_environment": "include_recipe \"travis_build_environment::root\"\n",
	"python":                   "include_recipe \"python::#{node['python']['install_method']}\"\n",
	"iptables":                 "include_recipe \"windows::firewall\" if platform?(\"windows\")\n",
	"timezone":                 "include_recipe \"apt\" unless platform?(\"mac_os_x\")\n",
	"sweeper":                  "%w(apt git).each { |r| include_recipe r }\n",
	"firefox":                  "include_recipe \"xserver\"\n",
	"libqt4":                   "include_recipe \"xserver\" # headless Qt needs Xvfb\n",
}

// metadataKind says which metadata file a cookbook has: about 33 of 76 had metadata.rb in 2012;
// a few vendored ones ship only metadata.json.
func metadataKind(i int, name string) string {
	if _, ok := depends[name]; ok {
		if i%7 == 3 {
			return "json"
		}
		return "rb"
	}
	switch i % 3 {
	case 0:
		return "rb"
	case 1:
		return "json"
	}
	return "none"
}

func main() {
	out := flag.String("out", "testdata/ci_environment", "folder to write (removed first)")
	flag.Parse()
	if filepath.Base(*out) != "ci_environment" {
		log.Fatalf("refusing to replace %s: the folder must be named ci_environment", *out)
	}
	if err := os.RemoveAll(*out); err != nil {
		log.Fatal(err)
	}
	files := 0
	for i, name := range names {
		for rel, body := range cookbook(i, name) {
			path := filepath.Join(*out, name, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				log.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				log.Fatal(err)
			}
			files++
		}
	}
	fmt.Printf("wrote %d cookbooks, %d files under %s\n", len(names), files, *out)
}

// cookbook returns one cookbook's files by relative path.
func cookbook(i int, name string) map[string]string {
	f := map[string]string{}
	f["README.md"] = fmt.Sprintf("Description\n===========\n\nInstalls %s for CI builds.\n", name)
	deps := depends[name]
	switch metadataKind(i, name) {
	case "rb":
		var b strings.Builder
		b.WriteString("maintainer       \"Travis CI Development Team\"\n")
		b.WriteString("maintainer_email \"michael@travis-ci.org\"\n")
		b.WriteString("license          \"Apache 2.0\"\n")
		fmt.Fprintf(&b, "description      \"Installs/Configures %s\"\n", name)
		b.WriteString("long_description IO.read(File.join(File.dirname(__FILE__), 'README.md'))\n")
		fmt.Fprintf(&b, "version          \"1.%d.%d\"\n\n", i%4, i%10)
		for j, d := range deps {
			switch j % 3 {
			case 0:
				fmt.Fprintf(&b, "depends \"%s\"\n", d)
			case 1:
				fmt.Fprintf(&b, "depends '%s', '>= 0.%d'  # older versions lack the LWRP\n", d, j)
			default:
				fmt.Fprintf(&b, "depends \"%s\", \"~> 1.0\"\n", d)
			}
		}
		if i%5 == 0 {
			b.WriteString("recommends \"logrotate\"\nsuggests \"monit\"\n")
		}
		b.WriteString("\n%w{ ubuntu debian }.each do |os|\n  supports os\nend\n")
		fmt.Fprintf(&b, "\nrecipe \"%s\", \"Installs %s\"\n", name, name)
		f["metadata.rb"] = b.String()
	case "json":
		var d []string
		for _, dep := range deps {
			if i%2 == 0 {
				d = append(d, fmt.Sprintf("%q: [ ]", dep))
			} else {
				d = append(d, fmt.Sprintf("%q: \">= 0.0.0\"", dep))
			}
		}
		f["metadata.json"] = fmt.Sprintf("{\n  \"name\": %q,\n  \"version\": \"0.%d.0\",\n  \"dependencies\": {%s},\n  \"recipes\": {%q: \"\"}\n}\n",
			name, i, strings.Join(d, ", "), name+"::default")
	}
	f["attributes/default.rb"] = fmt.Sprintf("default[%q][\"version\"] = \"%d.%d\"\ndefault[%q][\"user\"] = \"travis\"\n", name, 1+i%3, i, name)
	if i%3 == 0 {
		f[fmt.Sprintf("templates/default/%s.conf.erb", name)] = fmt.Sprintf("# Generated by Chef for <%%= node[:fqdn] %%>\nversion=<%%= node[%q][\"version\"] %%>\n", name)
	}
	if i%4 == 0 {
		f[fmt.Sprintf("files/default/%s.sh", name)] = fmt.Sprintf("#!/bin/sh\nexport %s_HOME=/usr/local/%s\n", strings.ToUpper(strings.ReplaceAll(name, "-", "_")), name)
	}
	rs := map[string]string{"default": ""}
	for r, body := range recipes[name] {
		rs[r] = body
	}
	var rnames []string
	for r := range rs {
		rnames = append(rnames, r)
	}
	sort.Strings(rnames)
	for _, r := range rnames {
		body := rs[r]
		if r == "default" && body == "" {
			body = defaultIncludes[name] + generic(i, name)
		} else if body == "" {
			body = fmt.Sprintf("package \"%s-%s\"\n", name, strings.ReplaceAll(r, "_", "-"))
		}
		f["recipes/"+r+".rb"] = fmt.Sprintf("#\n# Cookbook Name:: %s\n# Recipe:: %s\n#\n# Copyright 2012, Travis CI Development Team\n#\n\n%s", name, r, body)
	}
	return f
}

// generic is a default recipe body: a package, and the template or file the cookbook ships.
func generic(i int, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %q do\n  action :install\nend\n", name)
	if i%3 == 0 {
		fmt.Fprintf(&b, "\ntemplate \"/etc/%s.conf\" do\n  source \"%s.conf.erb\"\n  mode \"0644\"\nend\n", name, name)
	}
	if i%4 == 0 {
		fmt.Fprintf(&b, "\ncookbook_file \"/etc/profile.d/%s.sh\" do\n  mode \"0755\"\nend\n", name)
	}
	return b.String()
}
