package chef

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScanCalls(t *testing.T) {
	lit := func(s string) rubyArg { return rubyArg{Value: s, Literal: true} }
	dyn := func(s string) rubyArg { return rubyArg{Value: s} }
	tests := []struct {
		name   string
		method string
		src    string
		want   []rubyCall
	}{
		{"double and single quotes", "depends", "depends \"apt\"\ndepends 'git'\n",
			[]rubyCall{{1, []rubyArg{lit("apt")}}, {2, []rubyArg{lit("git")}}}},
		{"constraint and parentheses", "depends", `depends("rvm", ">= 1.0")`,
			[]rubyCall{{1, []rubyArg{lit("rvm"), lit(">= 1.0")}}}},
		{"trailing condition stops the arguments", "include_recipe", `include_recipe "apt" if platform?("ubuntu")`,
			[]rubyCall{{1, []rubyArg{lit("apt")}}}},
		{"several recipes", "include_recipe", `include_recipe "a", 'b::c'`,
			[]rubyCall{{1, []rubyArg{lit("a"), lit("b::c")}}}},
		{"interpolation", "include_recipe", `include_recipe "java::#{node["java"]["flavor"]}"`,
			[]rubyCall{{1, []rubyArg{dyn(`"java::#{node["java"]["flavor"]}"`)}}}},
		{"single quotes do not interpolate", "include_recipe", `include_recipe 'java::#{x}'`,
			[]rubyCall{{1, []rubyArg{lit("java::#{x}")}}}},
		{"variable in a block", "depends", `%w{a b}.each { |cb| depends cb }`,
			[]rubyCall{{1, []rubyArg{dyn("cb")}}}},
		{"escaped quote", "include_recipe", `include_recipe "we\"ird"`,
			[]rubyCall{{1, []rubyArg{lit(`we"ird`)}}}},
		{"comment and string contents are not calls", "include_recipe",
			"# include_recipe \"a\"\nlog \"include_recipe b\"\nx = 1 # include_recipe \"c\"\n", nil},
		{"other methods with the name as prefix", "depends", "depends_on \"x\"\nnode.depends = 1\nsuggests \"y\"\n", nil},
		{"heredoc body skipped", "include_recipe",
			"bash \"x\" do\n  code <<-EOH\n  include_recipe \"no\"\n  EOH\nend\ninclude_recipe \"yes\"\n",
			[]rubyCall{{6, []rubyArg{lit("yes")}}}},
		{"=begin block skipped", "depends", "=begin\ndepends \"no\"\n=end\ndepends \"yes\"\n",
			[]rubyCall{{4, []rubyArg{lit("yes")}}}},
		{"no argument", "depends", "depends \n", []rubyCall{{1, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanCalls([]byte(tt.src), tt.method)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("scanCalls (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzScanCalls(f *testing.F) {
	for _, s := range []string{
		`include_recipe "java::#{node["x"]}" if y`,
		"code <<-EOH\ninclude_recipe \"a\"\nEOH\n",
		`depends("a", "> 1"); depends 'b'`,
		"=begin\n=end\n\"unterminated #{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, m := range []string{"include_recipe", "depends"} {
			for _, c := range scanCalls([]byte(src), m) {
				if c.Line < 1 {
					t.Fatalf("call on line %d", c.Line)
				}
				for i, a := range c.Args {
					if !a.Literal && i != len(c.Args)-1 {
						t.Fatalf("a non-literal argument %q is not the last of %v", a.Value, c.Args)
					}
				}
			}
		}
	})
}

func FuzzParseMetadataRB(f *testing.F) {
	f.Add("depends \"apt\"\ndepends 'x', '>= 1'\n%w{a}.each { |c| depends c }\nversion \"1.0\"\n")
	f.Fuzz(func(t *testing.T, src string) {
		md := parseMetadataRB([]byte(src), "metadata.rb")
		for _, d := range md.Depends {
			if checkName(d.Name) != nil {
				t.Fatalf("dependency %q is not a cookbook name", d.Name)
			}
		}
	})
}

func FuzzParseMetadataJSON(f *testing.F) {
	f.Add(`{"dependencies": {"apt": [], "git": ">= 0.0.0"}, "version": "1.0"}`)
	f.Add(`{"dependencies": {"../x": ""}}`)
	f.Fuzz(func(t *testing.T, src string) {
		md, err := parseMetadataJSON([]byte(src), "metadata.json")
		if err != nil {
			return
		}
		for _, d := range md.Depends {
			if checkName(d.Name) != nil {
				t.Fatalf("dependency %q is not a cookbook name", d.Name)
			}
		}
	})
}

func TestParseMetadataJSONConstraints(t *testing.T) {
	md, err := parseMetadataJSON([]byte(`{"version": "1.2.0", "dependencies": {"git": ">= 0.0.0", "apt": [ ]}}`), "m.json")
	if err != nil {
		t.Fatal(err)
	}
	want := metadata{Version: "1.2.0", Depends: []Dependency{{Name: "apt", File: "m.json"}, {Name: "git", Constraint: ">= 0.0.0", File: "m.json"}}}
	if diff := cmp.Diff(want, md); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
}
