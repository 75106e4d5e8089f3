package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// manifests are the Kubernetes objects of deploy/kubernetes, each decoded
// strictly into its API type.
type manifests struct {
	configMap  *corev1.ConfigMap
	deployment *appsv1.Deployment
	service    *corev1.Service
	pdb        *policyv1.PodDisruptionBudget
	hpa        *autoscalingv2.HorizontalPodAutoscaler
}

// decodeManifest decodes one object, refusing unknown and mistyped
// fields, into the type its apiVersion and kind name.
func decodeManifest(data []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 ConfigMap":
		obj = new(corev1.ConfigMap)
	case "v1 Service":
		obj = new(corev1.Service)
	case "apps/v1 Deployment":
		obj = new(appsv1.Deployment)
	case "policy/v1 PodDisruptionBudget":
		obj = new(policyv1.PodDisruptionBudget)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = new(autoscalingv2.HorizontalPodAutoscaler)
	default:
		return nil, fmt.Errorf("unexpected object %s %s", tm.APIVersion, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	paths, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifests
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decodeManifest(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.ConfigMap:
			m.configMap = o
		case *corev1.Service:
			m.service = o
		case *appsv1.Deployment:
			m.deployment = o
		case *policyv1.PodDisruptionBudget:
			m.pdb = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpa = o
		}
	}
	if m.configMap == nil || m.deployment == nil || m.service == nil || m.pdb == nil || m.hpa == nil {
		t.Fatalf("want a ConfigMap, Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler in kubernetes/, have %d files", len(paths))
	}
	return m
}

// memoryOverhead is what the process holds beyond cache.max_bytes with
// GOMEMLIMIT at the cache plus ~150 MiB: Go's collection headroom and the
// cache's bookkeeping, stacks, and libvips' and glibc's memory. Measured as
// RSS minus cached bytes with the variant tier full of 1024 px renders
// (517 - 192 MiB; the README's Kubernetes section).
const memoryOverhead = 320 << 20

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	pod := d.Spec.Template
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, have %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if err := pinnedImage(c.Image); err != nil {
		t.Error(err)
	}

	// The configuration the container reads is the ConfigMap's, and valid.
	i := slices.Index(c.Args, "-config")
	if i < 0 || i+1 == len(c.Args) {
		t.Fatalf("args %v name no -config", c.Args)
	}
	cfgPath := c.Args[i+1]
	var data string
	for _, vm := range c.VolumeMounts {
		if filepath.Dir(cfgPath) != vm.MountPath {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == m.configMap.Name {
				data = m.configMap.Data[filepath.Base(cfgPath)]
			}
		}
	}
	if data == "" {
		t.Fatalf("-config %s is not a key of the ConfigMap %s mounted there", cfgPath, m.configMap.Name)
	}
	var environ []string
	for _, e := range c.Env {
		environ = append(environ, e.Name+"=stand-in-"+strings.ToLower(e.Name))
	}
	cfg, err := parseConfig(t, []byte(data), environ)
	if err != nil {
		t.Fatalf("the ConfigMap's configuration: %v", err)
	}
	if cfg.Security.PurgeToken == "" {
		t.Errorf("the purge token is not set from the Secret")
	}

	// Probes and the port.
	_, port, _ := strings.Cut(cfg.Listen, ":")
	if len(c.Ports) != 1 || strconv.Itoa(int(c.Ports[0].ContainerPort)) != port || c.Ports[0].Name != "http" {
		t.Errorf("container ports %+v, want http on the listen port %s", c.Ports, port)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe %+v, want GET %s on port http", p.name, p.probe, p.path)
		}
	}

	// Shutdown: the preStop sleep matches shutdown_delay, and the grace
	// period outlasts the sleep, the delay and the drain.
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil ||
		len(c.Lifecycle.PreStop.Exec.Command) != 2 || c.Lifecycle.PreStop.Exec.Command[0] != "sleep" {
		t.Fatalf("want a preStop hook running sleep, have %+v", c.Lifecycle)
	}
	sleep, err := strconv.Atoi(c.Lifecycle.PreStop.Exec.Command[1])
	if err != nil || sleep != int(cfg.ShutdownDelay.D().Seconds()) {
		t.Errorf("preStop sleeps %q s, want shutdown_delay (%v)", c.Lifecycle.PreStop.Exec.Command[1], cfg.ShutdownDelay)
	}
	need := int64(sleep) + int64((cfg.ShutdownDelay.D() + cfg.ShutdownTimeout.D()).Seconds())
	if g := pod.Spec.TerminationGracePeriodSeconds; g == nil || *g <= need {
		t.Errorf("terminationGracePeriodSeconds %v, want more than preStop + shutdown_delay + shutdown_timeout = %d", g, need)
	}

	// Memory: the cache plus the measured overhead, with GOMEMLIMIT between
	// the cache and the limit.
	req, limit := c.Resources.Requests.Memory(), c.Resources.Limits.Memory()
	if want := int64(cfg.Cache.MaxBytes) + memoryOverhead; req.Value() < want {
		t.Errorf("memory request %v below cache.max_bytes (%v) + overhead (%d MiB)", req, cfg.Cache.MaxBytes, memoryOverhead>>20)
	}
	if limit.Cmp(*req) < 0 {
		t.Errorf("memory limit %v below the request %v", limit, req)
	}
	var goMemLimit string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			goMemLimit = e.Value
		}
	}
	if q, err := resource.ParseQuantity(strings.TrimSuffix(goMemLimit, "B")); err != nil ||
		q.Value() <= int64(cfg.Cache.MaxBytes) || q.Cmp(*limit) >= 0 {
		t.Errorf("GOMEMLIMIT %q, want above cache.max_bytes (%v) and below the memory limit %v", goMemLimit, cfg.Cache.MaxBytes, limit)
	}
	if cpu := c.Resources.Limits.Cpu(); cfg.Resize.Workers == 0 || int64(cfg.Resize.Workers) > cpu.Value() {
		t.Errorf("resize.workers %d, want set, and at most the CPU limit %v", cfg.Resize.Workers, cpu)
	}

	// The Service, the budget and the autoscaler all point at these pods.
	podLabels := labels.Set(pod.Labels)
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(podLabels) {
		t.Errorf("the Deployment's selector does not match its pods: %v", err)
	}
	if len(m.service.Spec.Selector) == 0 || !labels.SelectorFromSet(m.service.Spec.Selector).Matches(podLabels) {
		t.Errorf("the Service selects %v, not the pods %v", m.service.Spec.Selector, pod.Labels)
	}
	for _, p := range m.service.Spec.Ports {
		if p.TargetPort != intstr.FromString("http") {
			t.Errorf("the Service's port %d targets %v, want the container's http port", p.Port, p.TargetPort)
		}
	}
	if sel, err := metav1.LabelSelectorAsSelector(m.pdb.Spec.Selector); err != nil || !sel.Matches(podLabels) {
		t.Errorf("the PodDisruptionBudget does not select the pods: %v", err)
	}
	ref := m.hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("the HPA scales %+v, want the Deployment %s", ref, d.Name)
	}
	minReplicas := int32(1)
	if m.hpa.Spec.MinReplicas != nil {
		minReplicas = *m.hpa.Spec.MinReplicas
	}
	// A drain must be able to evict one pod at the smallest scale.
	if m.pdb.Spec.MinAvailable == nil || m.pdb.Spec.MinAvailable.IntValue() >= int(minReplicas) {
		t.Errorf("PodDisruptionBudget minAvailable %v leaves no disruption at %d replicas", m.pdb.Spec.MinAvailable, minReplicas)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < minReplicas {
		t.Errorf("the Deployment starts with %v replicas, below the HPA's minimum %d", d.Spec.Replicas, minReplicas)
	}
	// Replicas with caches of their own must share invalidations.
	if minReplicas > 1 && cfg.Cache.RedisURL == "" {
		t.Errorf("%d replicas without cache.redis_url: a purge would reach one of them only", minReplicas)
	}
}

// Decoding is strict: a misspelt or mistyped field is refused.
func TestManifestDecodingIsStrict(t *testing.T) {
	data, err := os.ReadFile("kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"unknown field": {"  replicas: 2\n", "  replica: 2\n"},
		"mistyped":      {"  replicas: 2\n", "  replicas: two\n"},
		"bad quantity":  {"memory: 576Mi", "memory: 576 megs"},
	} {
		if !strings.Contains(string(data), edit[0]) {
			t.Fatalf("%s: deployment.yaml lacks %q", name, edit[0])
		}
		bad := strings.Replace(string(data), edit[0], edit[1], 1)
		if _, err := decodeManifest([]byte(bad)); err == nil {
			t.Errorf("%s (%q): decoded without error", name, edit[1])
		}
	}
}
