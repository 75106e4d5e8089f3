// Package deploy holds avatarproxy's deployment artefacts: the Grafana
// dashboard and its provisioning, the Prometheus configuration and alerting
// rules, the compose file and the Kubernetes manifests. It has no code of
// its own; its tests prove the artefacts against the real binary and
// Prometheus, and decode the manifests strictly into their API types.
package deploy
