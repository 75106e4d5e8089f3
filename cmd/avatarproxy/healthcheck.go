package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// healthcheckTimeout stays below the 3 s timeout of the image's
// HEALTHCHECK, so that a hung proxy is reported by this process.
const healthcheckTimeout = 2 * time.Second

// healthcheck GETs /healthz of the proxy listening on listen, so that a
// container's health check follows the configured port and needs no curl.
func healthcheck(listen string) error {
	target, err := healthzURL(listen)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: healthcheckTimeout}
	resp, err := client.Get(target)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", target, resp.Status)
	}
	return nil
}

// healthzURL is the /healthz URL of a proxy listening on listen. A listener
// on every address is reached over loopback of the same family.
func healthzURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("listen %q: a port chosen at start-up cannot be checked", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/healthz"}
	return u.String(), nil
}
