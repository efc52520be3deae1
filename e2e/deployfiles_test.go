package e2e

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// readRepoFile returns a file of the repository, by its path from the root.
func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../" + path)
	require.NoError(t, err)
	return string(b)
}

// TestComposeFile checks what a reviewer of docker-compose.yml would:
// images pinned, Redis bounded and refusing writes when full rather than
// evicting, workers on a fixed port, one exporter. (`make compose-check`
// checks that docker compose accepts the file.)
func TestComposeFile(t *testing.T) {
	t.Parallel()
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Entrypoint  []string          `yaml:"entrypoint"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &compose))
	pinned := regexp.MustCompile(`^[a-z0-9./-]+:v?[0-9]+\.[0-9]+[0-9a-z.-]*$`)
	for name, s := range compose.Services {
		if s.Build != nil {
			require.Contains(t, s.Image, "BITQUEUE_IMAGE", "%s: an image built from this repository", name)
			continue
		}
		require.Regexp(t, pinned, s.Image, "service %s: image pinned to a version", name)
	}
	redis := strings.Join(compose.Services["redis"].Command, " ")
	require.Contains(t, redis, "--maxmemory ")
	require.Contains(t, redis, "--maxmemory-policy noeviction")
	require.Equal(t, ":8080", compose.Services["worker"].Environment["BITQUEUE_HTTP_ADDR"])
	require.Equal(t, []string{"/usr/local/bin/exporter"}, compose.Services["exporter"].Entrypoint)
	require.NotEmpty(t, compose.Services["exporter"].Environment["BITQUEUE_HTTP_ADDR"], "the image's :8080 default is the worker's")
}

// TestCronFile checks deploy/bitqueue-producer.cron: docker compose v2, one
// run at a time, logs where it can write.
func TestCronFile(t *testing.T) {
	t.Parallel()
	var lines []string
	for l := range strings.SplitSeq(readRepoFile(t, "deploy/bitqueue-producer.cron"), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") && !strings.Contains(strings.SplitN(l, " ", 2)[0], "=") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 1, "one job")
	job := lines[0]
	require.Contains(t, job, "flock -n ")
	require.Contains(t, job, "docker compose run ")
	require.NotContains(t, job, "docker-compose", "compose v1 is gone from Docker")
	require.Contains(t, job, "| logger -t bitqueue-producer")
	require.NotContains(t, job, "/var/log/", "no log folder to create")
	require.NotRegexp(t, `[^\\]%`, job, "an unescaped % ends a crontab command")
}

// TestKubernetesExampleNeedsNoShell checks deploy/kubernetes.yaml against the
// project's image, which has no shell: every container runs one of the
// image's binaries, and every probe is an HTTP GET or `worker probe`.
func TestKubernetesExampleNeedsNoShell(t *testing.T) {
	t.Parallel()
	dockerfile := readRepoFile(t, "Dockerfile")
	require.Regexp(t, `(?m)^USER [0-9]+:[0-9]+$`, dockerfile, "a numeric user, which runAsNonRoot can verify")
	type probe struct {
		HTTPGet *struct{ Path string } `yaml:"httpGet"`
		Exec    *struct{ Command []string }
	}
	type container struct {
		Name                                        string
		Command, Args                               []string
		LivenessProbe, ReadinessProbe, StartupProbe *probe `yaml:",omitempty"`
	}
	dec := yaml.NewDecoder(strings.NewReader(readRepoFile(t, "deploy/kubernetes.yaml")))
	var seen []string
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			require.ErrorContains(t, err, "EOF")
			break
		}
		// Containers sit at spec.template.spec (Deployment) or
		// spec.jobTemplate.spec.template.spec (CronJob).
		b, err := yaml.Marshal(doc)
		require.NoError(t, err)
		var shapes struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct{ Containers []container }
				}
				JobTemplate struct {
					Spec struct {
						Template struct {
							Spec struct{ Containers []container }
						}
					}
				} `yaml:"jobTemplate"`
			}
		}
		require.NoError(t, yaml.Unmarshal(b, &shapes))
		cs := append(shapes.Spec.Template.Spec.Containers, shapes.Spec.JobTemplate.Spec.Template.Spec.Containers...)
		require.NotEmpty(t, cs, "%s has no container", shapes.Kind)
		for _, c := range cs {
			seen = append(seen, shapes.Kind+"/"+c.Name)
			require.NotEmpty(t, c.Command, "%s: say which binary of the image runs", c.Name)
			require.Contains(t, dockerfile, "/out/"+strings.TrimPrefix(c.Command[0], "/usr/local/bin/"), "%s runs %s, which the image does not hold", c.Name, c.Command[0])
			for _, arg := range append(slices.Clone(c.Command), c.Args...) {
				require.NotContains(t, []string{"sh", "/bin/sh", "bash", "/bin/bash", "-c"}, arg, "%s: the image has no shell", c.Name)
			}
			for _, p := range []*probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				switch {
				case p == nil, p.HTTPGet != nil:
				case p.Exec != nil:
					require.Equal(t, []string{"/usr/local/bin/worker", "probe"}, p.Exec.Command[:2], "%s: an exec probe runs worker probe", c.Name)
				default:
					t.Errorf("%s: a probe neither httpGet nor exec", c.Name)
				}
			}
		}
	}
	require.ElementsMatch(t, []string{"Deployment/worker", "Deployment/exporter", "CronJob/producer"}, seen)
}
