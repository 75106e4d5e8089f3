package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/avatarproxy/avatarproxy/internal/testproc"
)

// dashboardPath is the dashboard Grafana is provisioned with.
const dashboardPath = "grafana/dashboards/avatarproxy.json"

// dashboard is the part of Grafana's dashboard model the tests read.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// query is one PromQL expression of the dashboard.
type query struct {
	panel, refID, expr string
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return d
}

// graphPanels flattens rows into the panels that draw queries.
func graphPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		if p.Type == "row" {
			out = append(out, graphPanels(p.Panels)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

func (d dashboard) queries() []query {
	var qs []query
	for _, p := range graphPanels(d.Panels) {
		for _, tg := range p.Targets {
			qs = append(qs, query{panel: p.Title, refID: tg.RefID, expr: tg.Expr})
		}
	}
	return qs
}

// variable matches Grafana's $name and ${name} forms.
var variable = regexp.MustCompile(`\$\{?(\w+)\}?`)

// substitute replaces the dashboard's template variables in expr with
// values; a variable without one is reported.
func substitute(expr string, values map[string]string) (string, []string) {
	var unknown []string
	out := variable.ReplaceAllStringFunc(expr, func(m string) string {
		name := variable.FindStringSubmatch(m)[1]
		v, ok := values[name]
		if !ok {
			unknown = append(unknown, m)
		}
		return v
	})
	return out, unknown
}

func TestDashboardShape(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard needs a uid and a title")
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("want a template variable datasource of type datasource, have %v", vars)
	}
	var dsQuery string
	for _, v := range d.Templating.List {
		if v.Name == "datasource" {
			json.Unmarshal(v.Query, &dsQuery)
		}
	}
	if dsQuery != "prometheus" {
		t.Errorf("the datasource variable lists %q data sources, want prometheus", dsQuery)
	}

	usesVariable := func(ds *datasource) bool {
		return ds != nil && ds.Type == "prometheus" && (ds.UID == "${datasource}" || ds.UID == "$datasource")
	}
	ids := map[int]string{}
	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...)
	}
	for _, p := range all {
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W <= 0 {
			t.Errorf("panel %q: gridPos %+v leaves the 24-column grid", p.Title, p.GridPos)
		}
	}
	for _, p := range graphPanels(d.Panels) {
		if !usesVariable(p.Datasource) {
			t.Errorf("panel %q: data source %+v, want the $datasource variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !usesVariable(tg.Datasource) {
				t.Errorf("panel %q query %s: data source %+v, want the $datasource variable", p.Title, tg.RefID, tg.Datasource)
			}
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q query %s has no expr", p.Title, tg.RefID)
			}
		}
	}
	for _, q := range d.queries() {
		if _, unknown := substitute(q.expr, queryVariables); len(unknown) > 0 {
			t.Errorf("panel %q query %s uses %v, which the dashboard does not define", q.panel, q.refID, unknown)
		}
	}

	// Every metric of the README's table has a panel.
	var exprs strings.Builder
	for _, q := range d.queries() {
		exprs.WriteString(q.expr + "\n")
	}
	for _, family := range readmeMetrics(t) {
		if !strings.Contains(exprs.String(), family) {
			t.Errorf("no panel queries %s", family)
		}
	}
}

// queryVariables are the values the tests give the dashboard's variables:
// the job the test's Prometheus scrapes, and Grafana's rate interval for a
// 1 s scrape interval (four scrapes at least, as Grafana computes it).
var queryVariables = map[string]string{
	"job":             "avatarproxy",
	"__rate_interval": "10s",
}

// readmeMetrics lists the avatarproxy_ families of the README's metrics table.
func readmeMetrics(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testproc.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile("`(avatarproxy_[a-z_]+)`")
	var families []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| `avatarproxy_") {
			continue
		}
		cell := strings.Split(line, "|")[1]
		for _, m := range name.FindAllStringSubmatch(cell, -1) {
			if !slices.Contains(families, m[1]) {
				families = append(families, m[1])
			}
		}
	}
	if len(families) == 0 {
		t.Fatal("README.md has no metrics table")
	}
	return families
}

// Grafana's provisioning files: the data source is the compose file's
// Prometheus, and the dashboard provider reads the folder compose mounts.
func TestGrafanaProvisioning(t *testing.T) {
	var sources struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string         `yaml:"name"`
			Type      string         `yaml:"type"`
			UID       string         `yaml:"uid"`
			Access    string         `yaml:"access"`
			URL       string         `yaml:"url"`
			IsDefault bool           `yaml:"isDefault"`
			Editable  bool           `yaml:"editable"`
			JSONData  map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	decodeYAMLStrict(t, "grafana/provisioning/datasources/prometheus.yaml", &sources)
	if sources.APIVersion != 1 || len(sources.Datasources) != 1 {
		t.Fatalf("want apiVersion 1 and one data source, have %+v", sources)
	}
	ds := sources.Datasources[0]
	compose := loadCompose(t)
	if ds.Type != "prometheus" || ds.URL != "http://prometheus:9090" || !ds.IsDefault {
		t.Errorf("data source %+v: want the default, of type prometheus, at http://prometheus:9090", ds)
	}
	if _, ok := compose.Services["prometheus"]; !ok {
		t.Errorf("the data source names a prometheus service that compose.yaml lacks")
	}

	var dashboards struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name                  string `yaml:"name"`
			Type                  string `yaml:"type"`
			Folder                string `yaml:"folder"`
			DisableDeletion       bool   `yaml:"disableDeletion"`
			AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string `yaml:"path"`
				FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	decodeYAMLStrict(t, "grafana/provisioning/dashboards/avatarproxy.yaml", &dashboards)
	if dashboards.APIVersion != 1 || len(dashboards.Providers) != 1 || dashboards.Providers[0].Type != "file" {
		t.Fatalf("want apiVersion 1 and one file provider, have %+v", dashboards)
	}
	path := dashboards.Providers[0].Options.Path
	if got := compose.mountOf("grafana", "./grafana/dashboards"); got != path {
		t.Errorf("the provider reads %s, but compose mounts ./grafana/dashboards at %q", path, got)
	}
	if got := compose.mountOf("grafana", "./grafana/provisioning"); got != "/etc/grafana/provisioning" {
		t.Errorf("compose mounts the provisioning files at %q, want /etc/grafana/provisioning", got)
	}
}

// decodeYAMLStrict decodes a file of this directory, refusing unknown keys.
func decodeYAMLStrict(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
