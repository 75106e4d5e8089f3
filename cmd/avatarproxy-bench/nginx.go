package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// nginxConf serves the static reference, the two origins (each with its own
// access log, to count what each system fetched) and the proxy_cache in
// front of imgproxy, keyed by URL and negotiated format as a CDN would.
var nginxConf = template.Must(template.New("nginx").Parse(`
daemon off;
user root;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  default_type application/octet-stream;
  open_file_cache max=20000 inactive=60s;
  open_file_cache_valid 60s;
  proxy_cache_path {{.Dir}}/nginx-cache levels=1:2 keys_zone=img:64m max_size=2g inactive=1h use_temp_path=off;
  map $http_accept $fmt { ~image/avif avif; ~image/webp webp; default plain; }
  upstream imgproxy { server {{.Imgproxy}}; keepalive 128; }
  server {
    listen {{.Static}};
    root {{.Dir}}/static;
    location / { etag on; add_header Cache-Control "public, max-age=300"; }
  }
  server { listen {{.OriginProxy}}; root {{.Dir}}/origin; access_log {{.Dir}}/origin-proxy.log; }
  server { listen {{.OriginImg}}; root {{.Dir}}/origin; access_log {{.Dir}}/origin-imgproxy.log; }
  server {
    listen {{.Cache}};
    location / {
      proxy_pass http://imgproxy;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache img;
      proxy_cache_key "$request_uri|$fmt";
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 60s;
    }
  }
}
`))

func (e *env) startNginx(imgproxyAddr string) error {
	var conf bytes.Buffer
	err := nginxConf.Execute(&conf, map[string]string{
		"Dir": e.dir, "Imgproxy": imgproxyAddr, "Static": e.staticAddr, "Cache": e.cacheAddr,
		"OriginProxy": e.originProxy, "OriginImg": e.originImg,
	})
	if err != nil {
		return err
	}
	path := filepath.Join(e.dir, "nginx.conf")
	if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
		return err
	}
	e.nginx, err = e.start("nginx", e.staticAddr, nil, "nginx", "-c", path, "-p", e.dir, "-e", filepath.Join(e.dir, "nginx-error.log"))
	return err
}

// originFetches counts the requests an origin's access log holds.
func (e *env) originFetches(system string) int {
	b, _ := os.ReadFile(filepath.Join(e.dir, fmt.Sprintf("origin-%s.log", system)))
	return bytes.Count(b, []byte{'\n'})
}
