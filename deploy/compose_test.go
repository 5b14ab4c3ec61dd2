package deploy_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"sigs.k8s.io/yaml"
)

const composeFile = "../compose.yaml"

// oofTargets are the services running the oof binary (the image built from ./Dockerfile).
var oofTargets = []string{"migrate", "command", "query", "projector", "matchmaker", "stream"}

// wantDependsOn is the start-up order: infra healthy -> migrate done -> targets
// healthy -> envoy.
var wantDependsOn = map[string]map[string]string{
	"postgres": {},
	"redis":    {},
	"kafka":    {},
	"migrate": {
		"postgres": types.ServiceConditionHealthy,
		"kafka":    types.ServiceConditionHealthy,
	},
	"command":    targetDeps,
	"query":      targetDeps,
	"projector":  targetDeps,
	"matchmaker": targetDeps,
	"stream":     targetDeps,
	"envoy": {
		"command": types.ServiceConditionHealthy,
		"query":   types.ServiceConditionHealthy,
		"stream":  types.ServiceConditionHealthy,
	},
}

var targetDeps = map[string]string{
	"migrate":  types.ServiceConditionCompletedSuccessfully,
	"postgres": types.ServiceConditionHealthy,
	"redis":    types.ServiceConditionHealthy,
	"kafka":    types.ServiceConditionHealthy,
}

// wantEnv is the configuration every oof target gets (docs/conventions.md).
var wantEnv = map[string]string{
	"OOF_GRPC_ADDR":     "0.0.0.0:8080",
	"OOF_ADMIN_ADDR":    "0.0.0.0:8081",
	"OOF_POSTGRES_URL":  "postgres://oof:oof@postgres:5432/oof?sslmode=disable",
	"OOF_REDIS_ADDR":    "redis:6379",
	"OOF_KAFKA_BROKERS": "kafka:9092",
	// Safe only because envoy is the sole way in and overwrites the header.
	"OOF_TRUST_PROXY_HEADERS": "true",
}

var readyzProbe = []string{"CMD", "/oof", "-healthcheck", "http://127.0.0.1:8081/readyz"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loadCompose runs the official Compose spec loader (the library docker compose
// itself uses): schema validation, interpolation with the given environment only
// (the caller's shell does not leak in), normalization, paths resolved against the
// repository root, and the consistency checks (undefined services, volumes, ...).
func loadCompose(t *testing.T, content []byte, env map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "compose.yaml"), Content: content}},
		Environment: types.Mapping(env),
	}, func(o *loader.Options) {
		o.SetProjectName("oof", true)
		o.SkipValidation = false
		o.SkipConsistencyCheck = false
		o.ResolvePaths = true
	})
}

// checkCompose holds this project's rules on top of the Compose spec.
func checkCompose(p *types.Project, root string) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if got, want := p.ServiceNames(), keys(wantDependsOn); !slices.Equal(sorted(got), want) {
		fail("services %v, want %v", sorted(got), want)
	}
	for name, s := range p.Services {
		for dep, d := range s.DependsOn {
			if _, ok := p.Services[dep]; !ok {
				fail("service %q depends on undefined service %q", name, dep)
			}
			if want, ok := wantDependsOn[name][dep]; !ok {
				fail("service %q has an unexpected dependency on %q", name, dep)
			} else if d.Condition != want {
				fail("service %q depends on %q with condition %s, want %s", name, dep, d.Condition, want)
			}
			if !d.Required {
				fail("service %q: dependency on %q must be required", name, dep)
			}
		}
		for dep := range wantDependsOn[name] {
			if _, ok := s.DependsOn[dep]; !ok {
				fail("service %q lacks depends_on %q", name, dep)
			}
		}
		if name != "envoy" && len(s.Ports) > 0 {
			fail("service %q publishes ports; only envoy is exposed to the host", name)
		}
	}

	var firstBuild *types.BuildConfig
	for _, name := range oofTargets {
		s, ok := p.Services[name]
		if !ok {
			continue
		}
		target := name
		if got, want := []string(s.Command), []string{"-target=" + target}; !slices.Equal(got, want) {
			fail("%s: command %q, want %q", name, got, want)
		}
		if s.Build == nil {
			fail("%s: no build section", name)
			continue
		}
		if s.Build.Context != root || s.Build.Dockerfile != "Dockerfile" {
			fail("%s: build %s (%s), want the repo root %s with its Dockerfile", name, s.Build.Context, s.Build.Dockerfile, root)
		}
		if firstBuild == nil {
			firstBuild = s.Build
		} else if fmt.Sprint(*s.Build) != fmt.Sprint(*firstBuild) {
			fail("%s: build differs from the other oof targets: %+v vs %+v", name, *s.Build, *firstBuild)
		}
		for k, v := range wantEnv {
			if got := s.Environment[k]; got == nil || *got != v {
				fail("%s: %s = %v, want %q", name, k, deref(got), v)
			}
		}
		for _, k := range []string{"OOF_JWT_KEYS", "OOF_JWT_ACTIVE_KID"} {
			if v := s.Environment[k]; v == nil || *v == "" {
				fail("%s: %s is not set", name, k)
			}
		}
		if name == "migrate" {
			if s.Restart != "no" {
				fail("migrate: restart %q, want \"no\" (one-shot job)", s.Restart)
			}
			continue
		}
		if s.HealthCheck == nil || !slices.Equal([]string(s.HealthCheck.Test), readyzProbe) {
			fail("%s: healthcheck must be %q (distroless: no shell, the binary probes /readyz)", name, readyzProbe)
		}
	}

	if e, ok := p.Services["envoy"]; ok {
		var mounted bool
		for _, v := range e.Volumes {
			if v.Type == types.VolumeTypeBind && v.Source == filepath.Join(root, "envoy.yaml") {
				mounted = v.Target == "/etc/envoy/envoy.yaml" && v.ReadOnly
			}
		}
		if !mounted {
			fail("envoy: ./envoy.yaml must be bind-mounted read-only at /etc/envoy/envoy.yaml, got %+v", e.Volumes)
		}
		if !strings.HasPrefix(e.Image, "envoyproxy/envoy:v1.") {
			fail("envoy: image %q, want envoyproxy/envoy:v1.x", e.Image)
		}
		if len(e.Ports) != 1 || e.Ports[0].Target != 8080 || e.Ports[0].Published != "8080" {
			fail("envoy: ports %+v, want exactly 8080:8080", e.Ports)
		}
	}
	for _, name := range []string{"postgres", "redis", "kafka"} {
		if s, ok := p.Services[name]; ok && (s.HealthCheck == nil || len(s.HealthCheck.Test) < 2) {
			fail("%s: needs a healthcheck (others wait for service_healthy)", name)
		}
	}
	return errors.Join(errs...)
}

func envString(env types.MappingWithEquals) string {
	var out []string
	for k, v := range env {
		out = append(out, fmt.Sprintf("%s=%v", k, deref(v)))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func sorted(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func TestComposeIsValid(t *testing.T) {
	root := repoRoot(t)
	p, err := loadCompose(t, readFile(t, composeFile), testJWT)
	if err != nil {
		t.Fatalf("%s rejected by the Compose loader: %v", composeFile, err)
	}
	if err := checkCompose(p, root); err != nil {
		t.Fatal(err)
	}
	// The files the project points at exist.
	for _, f := range []string{"Dockerfile", "envoy.yaml", ".dockerignore"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestComposeDependsOn(t *testing.T) {
	p, err := loadCompose(t, readFile(t, composeFile), testJWT)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range keys(wantDependsOn) {
		t.Run(name, func(t *testing.T) {
			s, ok := p.Services[name]
			if !ok {
				t.Fatal("service missing")
			}
			got := map[string]string{}
			for dep, d := range s.DependsOn {
				if _, ok := p.Services[dep]; !ok {
					t.Errorf("depends on undefined service %q", dep)
				}
				got[dep] = d.Condition
			}
			if fmt.Sprint(got) != fmt.Sprint(wantDependsOn[name]) {
				t.Errorf("depends_on = %v, want %v", got, wantDependsOn[name])
			}
		})
	}
}

// testJWT is what an operator sets before `docker compose up`.
var testJWT = map[string]string{
	"OOF_JWT_KEYS":       "k1:" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))),
	"OOF_JWT_ACTIVE_KID": "k1",
}

// The stack fails closed: without signing keys compose refuses to start,
// saying how to make them; with them every target gets exactly those.
func TestComposeRequiresJWTKeys(t *testing.T) {
	raw := readFile(t, composeFile)
	var top map[string]any
	if err := yaml.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	if _, ok := top["version"]; ok {
		t.Error("compose.yaml has the obsolete top-level version key")
	}
	if _, ok := top["x-oof-env"].(map[string]any); !ok {
		t.Error("missing the x-oof-env extension with the shared environment")
	}

	for _, missing := range []string{"OOF_JWT_KEYS", "OOF_JWT_ACTIVE_KID"} {
		env := map[string]string{}
		for k, v := range testJWT {
			if k != missing {
				env[k] = v
			}
		}
		_, err := loadCompose(t, raw, env)
		if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "set ") {
			t.Errorf("without %s: err %v, want a refusal that says how to set it", missing, err)
		}
	}

	p, err := loadCompose(t, raw, testJWT)
	if err != nil {
		t.Fatal(err)
	}
	env := p.Services["command"].Environment
	for _, name := range oofTargets {
		if got := deref(p.Services[name].Environment["OOF_JWT_KEYS"]); got != testJWT["OOF_JWT_KEYS"] {
			t.Errorf("%s: OOF_JWT_KEYS = %v, want the operator's", name, got)
		}
		if envString(p.Services[name].Environment) != envString(env) {
			t.Errorf("%s: environment differs from command's; all targets share x-oof-env", name)
		}
	}
	if strings.Contains(string(raw), "b29mLWRldi1vbmx5") {
		t.Error("compose.yaml still carries the old publicly known dev key")
	}
}

// TestComposeRejectsBrokenFiles proves the loader and checkCompose are not
// vacuous: each case breaks compose.yaml in one way and must fail for that reason.
func TestComposeRejectsBrokenFiles(t *testing.T) {
	good := string(readFile(t, composeFile))
	root := repoRoot(t)
	cases := []struct {
		name, old, new, wantErr string
	}{
		{"misspelt service key (schema)", "    restart: \"no\"", "    restrat: \"no\"", `services.migrate.restrat`},
		{"unknown top-level key (schema)", "\nvolumes:\n", "\nvolume:\n", `additional properties 'volume' not allowed`},
		{"invalid depends_on condition (schema)", "        condition: service_completed_successfully", "        condition: service_completed", `service_completed`},
		{"wrong value type", "      retries: 12", "      retries: twelve", `services.kafka.healthcheck.retries: failed to cast`},
		{"dependency on an undefined service", "    depends_on:\n      command:", "    depends_on:\n      commands:", `depends on undefined service "commands"`},
		{"undeclared named volume", "      - kafkadata:/var/lib/kafka/data", "      - kafkadta:/var/lib/kafka/data", `service "kafka" refers to undefined volume kafkadta`},
		{"envoy does not wait for healthy query", "      query:\n        condition: service_healthy", "      query:\n        condition: service_started", `service "envoy" depends on "query" with condition service_started, want service_healthy`},
		{"target runs the wrong -target", `command: ["-target=projector"]`, `command: ["-target=query"]`, `projector: command ["-target=query"], want ["-target=projector"]`},
		{"migrate restarts", "    restart: \"no\"", "    restart: on-failure", `migrate: restart "on-failure", want "no"`},
		{"envoy.yaml not mounted", "./envoy.yaml:/etc/envoy/envoy.yaml:ro", "./envoy.yaml:/etc/envoy/envoy.yml:ro", `envoy: ./envoy.yaml must be bind-mounted`},
		{"envoy port changed", `"8080:8080"`, `"9090:8080"`, `envoy: ports`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("mutation target %q not found in %s: update the test", tc.old, composeFile)
			}
			bad := strings.Replace(good, tc.old, tc.new, 1)
			p, err := loadCompose(t, []byte(bad), testJWT)
			if err == nil {
				err = checkCompose(p, root)
			}
			if err == nil {
				t.Fatal("broken compose file was accepted")
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("rejected for the wrong reason:\n got: %v\nwant: ...%s...", err, tc.wantErr)
			}
			t.Logf("rejected as expected: %v", err)
		})
	}
}
