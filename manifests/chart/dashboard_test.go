package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-base/metrics/legacyregistry"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"

	launchermetrics "github.com/tailor-project/tailor/launcher/metrics"
	pluginmetrics "github.com/tailor-project/tailor/plugin/metrics"
)

// dashboard is the part of Grafana's dashboard model the test reads.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name, Type, Query string
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func readDashboard(t *testing.T) ([]byte, *dashboard) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir(t), "dashboards", "tailor.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := &dashboard{}
	if err := json.Unmarshal(raw, d); err != nil {
		t.Fatalf("dashboards/tailor.json: %v", err)
	}
	return raw, d
}

// TestDashboardQueriesServedMetrics: every query of the dashboard names
// metrics one of the two components serves, and groups by labels those
// metrics have; a renamed metric or label breaks a panel silently
// otherwise.
func TestDashboardQueriesServedMetrics(t *testing.T) {
	_, d := readDashboard(t)
	served := servedMetrics(t)
	metric := regexp.MustCompile(`\b(?:karpenter|tailor|scheduler)_[a-z_]+\b`)
	grouping := regexp.MustCompile(`\bby \(([^)]*)\)`)
	queried := sets.New[string]()
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, target := range p.Targets {
			names := metric.FindAllString(target.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q names no metric of Tailor's", p.Title, target.Expr)
			}
			labels := sets.New[string]("le", "quantile")
			for _, n := range names {
				base := servedName(n, served)
				if base == "" {
					t.Errorf("panel %q: %s is served by neither component", p.Title, n)
					continue
				}
				queried.Insert(base)
				labels = labels.Union(served[base])
			}
			for _, g := range grouping.FindAllStringSubmatch(target.Expr, -1) {
				for _, l := range strings.Split(g[1], ",") {
					if l = strings.TrimSpace(l); !labels.Has(l) {
						t.Errorf("panel %q: %q groups by %s, a label none of its metrics has (%v)", p.Title, target.Expr, l, sets.List(labels))
					}
				}
			}
		}
	}
	// What the issue asks a dashboard to show: capacity, cost, pending pods
	// and disruptions.
	for _, want := range []string{"karpenter_nodes_allocatable", "tailor_fleet_cost_efficiency", "scheduler_pending_pods", "karpenter_voluntary_disruption_decisions_total"} {
		if !queried.Has(want) {
			t.Errorf("no panel shows %s", want)
		}
	}
}

// TestDashboardLayout: the dashboard picks its Prometheus data source from
// a variable, its panels have unique ids and do not overlap on Grafana's
// 24-column grid.
func TestDashboardLayout(t *testing.T) {
	_, d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: both needed for provisioning", d.UID, d.Title)
	}
	if len(d.Templating.List) == 0 || d.Templating.List[0].Type != "datasource" || d.Templating.List[0].Query != "prometheus" {
		t.Errorf("the first variable is not a Prometheus data source: %+v", d.Templating.List)
	}
	ids := map[int]string{}
	taken := map[[2]int]string{}
	for _, p := range d.Panels {
		if other, ok := ids[p.ID]; ok {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Type != "row" && (p.Datasource == nil || p.Datasource.UID != "${datasource}") {
			t.Errorf("panel %q does not read the ${datasource} variable", p.Title)
		}
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q at %+v is off the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[[2]int{x, y}]; ok {
					t.Fatalf("panels %q and %q overlap at column %d, row %d", other, p.Title, x, y)
				}
				taken[[2]int{x, y}] = p.Title
			}
		}
	}
}

// TestDashboardConfigMap: dashboards.enabled ships the dashboard, as it is
// in the chart, in a ConfigMap labelled for Grafana's sidecar; off, none.
func TestDashboardConfigMap(t *testing.T) {
	raw, _ := readDashboard(t)
	has := func(objs []*unstructured.Unstructured) *unstructured.Unstructured {
		for _, o := range objs {
			if o.GetKind() == "ConfigMap" && o.GetName() == "tailor-dashboards" {
				return o
			}
		}
		return nil
	}
	if has(render(t, "--set", "settings.clusterName=x")) != nil {
		t.Error("a dashboards ConfigMap without dashboards.enabled")
	}
	cm := has(render(t, "--set", "settings.clusterName=x", "--set", "dashboards.enabled=true"))
	if cm == nil {
		t.Fatal("no dashboards ConfigMap with dashboards.enabled")
	}
	got := typed[corev1.ConfigMap](t, cm)
	if got.Labels["grafana_dashboard"] != "1" {
		t.Errorf("labels %v: Grafana's sidecar finds dashboards by grafana_dashboard: \"1\"", got.Labels)
	}
	if strings.TrimSpace(got.Data["tailor.json"]) != strings.TrimSpace(string(raw)) {
		t.Error("the ConfigMap's tailor.json is not dashboards/tailor.json")
	}
}

// servedMetrics are the names of the metrics the scheduler and the launcher
// serve, with their labels: Tailor's own, Karpenter's, and kube-scheduler's
// pending pods.
func servedMetrics(t *testing.T) map[string]sets.Set[string] {
	t.Helper()
	served := map[string]sets.Set[string]{}
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	ch := make(chan *prometheus.Desc, 256)
	go func() {
		for _, c := range append(pluginmetrics.Collectors(), launchermetrics.Collectors()...) {
			c.Describe(ch)
		}
		close(ch)
	}()
	for d := range ch {
		m := desc.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read %s", d)
		}
		labels := sets.New[string]()
		for _, l := range strings.Split(m[2], ",") {
			if l != "" {
				labels.Insert(l)
			}
		}
		served[m[1]] = labels
	}
	// kube-scheduler's own, as the scheduler registers them; a gauge vector
	// is gathered once it has a series.
	schedmetrics.Register()
	schedmetrics.ActivePods().Set(0)
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "scheduler_") {
			continue
		}
		labels := sets.New[string]()
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				labels.Insert(l.GetName())
			}
		}
		served[f.GetName()] = labels
	}
	return served
}

// servedName is the metric a query's series name belongs to: a histogram's
// _bucket, _sum and _count series are its own. "" when none is served.
func servedName(series string, served map[string]sets.Set[string]) string {
	if _, ok := served[series]; ok {
		return series
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(series, suffix); ok {
			if _, ok := served[base]; ok {
				return base
			}
		}
	}
	return ""
}
