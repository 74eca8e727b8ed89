package spec

import (
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4MiB", 4 << 20, true},
		{"512KiB", 512 << 10, true},
		{"1GiB", 1 << 30, true},
		{"2TiB", 2 << 40, true},
		{"4MB", 4e6, true},
		{"1024", 1024, true},
		{"1024B", 1024, true},
		{" 4 MiB ", 4 << 20, true},
		{"0", 0, true},
		{"4mib", 0, false},
		{"4.5MiB", 0, false},
		{"-1MiB", 0, false},
		{"MiB", 0, false},
		{"", 0, false},
		{"99999999999TiB", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseSize(c.in)
			if (err == nil) != c.ok || got != c.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"50m", 50 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"90s", 90 * time.Second, true},
		{"0s", 0, false},
		{"-1m", 0, false},
		{"50", 0, false},
		{"50 minutes", 0, false},
		{"1d", 0, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseDuration(c.in)
			if (err == nil) != c.ok || got != c.want {
				t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
			}
		})
	}
}

func TestParseChecksum(t *testing.T) {
	sha256 := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	cases := []struct {
		name, in, want string
	}{
		{"sha256", "sha256:" + sha256, "sha256:" + sha256},
		{"upper case normalised", "SHA256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", "sha256:" + sha256},
		{"sha1", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"sha512 length", "sha512:" + sha256 + sha256, "sha512:" + sha256 + sha256},
		{"sha512 too short", "sha512:" + sha256, ""},
		{"md5", "md5:d41d8cd98f00b204e9800998ecf8427e", ""},
		{"no algorithm", sha256, ""},
		{"not hex", "sha256:" + sha256[:63] + "g", ""},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseChecksum(c.in)
			if got != c.want || (err == nil) != (c.want != "") {
				t.Errorf("parseChecksum(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestParseBoxURL(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"https", "https://boxes.example.org/a.box", "https://boxes.example.org/a.box"},
		{"http", "http://boxes.example.org/a.box", "http://boxes.example.org/a.box"},
		{"absolute file", "file:///srv/boxes/a.box", "file:///srv/boxes/a.box"},
		{"relative file", "file:boxes/a.box", "file:///etc/fleet/boxes/a.box"},
		{"localhost file", "file://localhost/srv/a.box", "file:///srv/a.box"},
		{"remote file host", "file://nas/srv/a.box", ""},
		{"ftp", "ftp://boxes.example.org/a.box", ""},
		{"bare path", "/srv/boxes/a.box", ""},
		{"no host", "https:///a.box", ""},
		{"unparsable", "https://[::1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseBoxURL(c.in, "/etc/fleet")
			if (err == nil) != (c.want != "") || (err == nil && got != c.want) {
				t.Errorf("parseBoxURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

func TestNameChecks(t *testing.T) {
	cases := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"recipe cookbook", checkRecipe, "build-essential", true},
		{"recipe qualified", checkRecipe, "rvm::multi", true},
		{"recipe run list form", checkRecipe, "recipe[git]", false},
		{"recipe single colon", checkRecipe, "rvm:multi", false},
		{"recipe triple colon", checkRecipe, "rvm:::multi", false},
		{"recipe empty", checkRecipe, "", false},
		{"recipe empty recipe", checkRecipe, "rvm::", false},
		{"pool simple", checkPoolName, "ruby", true},
		{"pool dashes digits", checkPoolName, "ruby-1-9", true},
		{"pool 40 chars", checkPoolName, "a234567890123456789012345678901234567890", true},
		{"pool 41 chars", checkPoolName, "a2345678901234567890123456789012345678901", false},
		{"pool upper case", checkPoolName, "Ruby", false},
		{"pool leading dash", checkPoolName, "-ruby", false},
		{"pool underscore", checkPoolName, "ruby_1", false},
		{"pool empty", checkPoolName, "", false},
		{"queue dotted", checkQueueName, "builds.ruby", true},
		{"queue empty", checkQueueName, "", false},
		{"queue colon", checkQueueName, "builds:ruby", false},
		{"queue space", checkQueueName, "builds ruby", false},
		{"queue tab", checkQueueName, "builds\truby", false},
		{"host fqdn", checkHostName, "build-01.example.org", true},
		{"host colon", checkHostName, "build:01", false},
		{"host empty", checkHostName, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(c.in); (err == nil) != c.ok {
				t.Errorf("check(%q) = %v, want ok=%v", c.in, err, c.ok)
			}
		})
	}
}

func TestSanitizeHostName(t *testing.T) {
	cases := map[string]string{
		"build-01.example.org": "build-01.example.org",
		"host:with:colons":     "host-with-colons",
		"weird name":           "weird-name",
		"":                     "localhost",
	}
	for in, want := range cases {
		if got := sanitizeHostName(in); got != want {
			t.Errorf("sanitizeHostName(%q) = %q, want %q", in, got, want)
		}
	}
	if err := checkHostName(defaultHostName()); err != nil {
		t.Errorf("the default host name is invalid: %v", err)
	}
}
