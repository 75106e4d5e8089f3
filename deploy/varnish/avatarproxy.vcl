# Varnish in front of avatarproxy: caches avatar responses for as long as
# their Cache-Control allows, indexes each by the purge tags avatarproxy
# sends in Surrogate-Key, and drops every object of a user when avatarproxy
# sends its purge request:
#
#   http:
#     purge_requests:
#       - {method: PURGE, url: "http://varnish:6081/", headers: {xkey-purge: "{tag}"}}
#
# Needs the xkey vmod (Debian: varnish-modules). Set the backend to where
# avatarproxy listens, and the purgers ACL to where it runs.
vcl 4.1;

import xkey;

backend avatarproxy {
    .host = "127.0.0.1";
    .port = "8080";
}

acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "xkey-purge header required"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.n-gone + " objects"));
    }
    if (req.url !~ "^/(avatar/|proxy\.php)") {
        # The pass-through, control and ops faces are never cached.
        return (pass);
    }
    # One cached variant per format a browser can take, not one per
    # Accept string (avatarproxy answers with Vary: Accept).
    if (req.http.Accept ~ "image/avif") {
        set req.http.Accept = "image/avif,image/webp";
    } elsif (req.http.Accept ~ "image/webp") {
        set req.http.Accept = "image/webp";
    } else {
        unset req.http.Accept;
    }
    unset req.http.Cookie;
    unset req.http.Authorization;
}

sub vcl_backend_response {
    # xkey indexes objects by the xkey header; avatarproxy's tags come in
    # Surrogate-Key ("avatar avatar-{upstream}-{user}").
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
}

sub vcl_deliver {
    unset resp.http.xkey;
    if (obj.hits > 0) {
        set resp.http.X-Varnish-Cache = "HIT";
    } else {
        set resp.http.X-Varnish-Cache = "MISS";
    }
}
