// Package e2e proves avatarproxy against the real components that stand
// around it in a deployment: Varnish in front as a CDN, purged through its
// xkey vmod, and a real browser loading avatars. Each test starts the
// avatarproxy binary and the component on free loopback ports.
package e2e
