package deploy_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with continuation lines joined.
type instruction struct {
	cmd  string // upper-case keyword
	args string
}

// parseDockerfile is a deliberately small reader (comments, parser directives and
// backslash continuations); enough for the structural checks below.
func parseDockerfile(src string) []instruction {
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(string(readFile(t, "../Dockerfile")))
	var froms, runs []string
	var entrypoint, expose string
	env := map[string]string{}
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "RUN":
			runs = append(runs, in.args)
		case "ENTRYPOINT":
			entrypoint = in.args
		case "EXPOSE":
			expose += " " + in.args
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env[k] = v
				}
			}
		}
	}
	if want := []string{"golang:1.26 AS build", "gcr.io/distroless/static-debian12:nonroot"}; !slices.Equal(froms, want) {
		t.Errorf("stages %q, want %q", froms, want)
	}
	if env["CGO_ENABLED"] != "0" {
		t.Error("build stage must set CGO_ENABLED=0 (static binary for distroless/static)")
	}
	var build string
	for _, r := range runs {
		if strings.Contains(r, "go build") {
			build = r
		}
	}
	for _, want := range []string{"-trimpath", "./cmd/oof", "-o /out/oof", "--mount=type=cache,target=/go/pkg/mod", "--mount=type=cache,target=/root/.cache/go-build"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build step %q lacks %q", build, want)
		}
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || !slices.Equal(ep, []string{"/oof"}) {
		t.Errorf(`ENTRYPOINT %s, want exec form ["/oof"] (compose healthchecks call /oof)`, entrypoint)
	}
	ports := strings.Fields(expose)
	for _, p := range []string{"8080", "8081"} {
		if !slices.Contains(ports, p) {
			t.Errorf("EXPOSE lacks %s", p)
		}
	}
}

func TestDockerignore(t *testing.T) {
	var patterns []string
	for _, l := range strings.Split(string(readFile(t, "../.dockerignore")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	ignored := func(path string) bool {
		hit := false
		for _, p := range patterns {
			neg := strings.HasPrefix(p, "!")
			p = strings.TrimPrefix(p, "!")
			p = strings.TrimPrefix(p, "**/")
			if ok, _ := filepath.Match(p, path); ok || strings.HasPrefix(path, p+"/") {
				hit = !neg
			}
		}
		return hit
	}
	for _, p := range []string{".git", ".data", ".tools", ".data/pg/base", ".env"} {
		if !ignored(p) {
			t.Errorf(".dockerignore does not exclude %s", p)
		}
	}
	// What the build needs must reach the build context.
	for _, p := range []string{"go.mod", "go.sum", "cmd/oof/main.go", "pkg/routing/methods.go", "api/gen", "migrations"} {
		if ignored(p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
}
