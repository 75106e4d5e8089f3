# syntax=docker/dockerfile:1
# Build: the Go toolchain and libvips headers.
FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w" -o /out/avatarproxy ./cmd/avatarproxy

# Run: slim Debian with the libvips runtime only, as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips42 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin avatarproxy
COPY --from=build /out/avatarproxy /usr/local/bin/avatarproxy
COPY examples/avatars /srv/avatarproxy/examples/avatars
# The sample avatars on :8080 until a configuration is mounted over this file.
COPY cmd/avatarproxy/default.yaml /etc/avatarproxy/avatarproxy.yaml
WORKDIR /srv/avatarproxy
USER avatarproxy
EXPOSE 8080
# Reads the same file and environment as the server, so it follows the
# configured port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s \
  CMD ["avatarproxy", "-healthcheck", "-config", "/etc/avatarproxy/avatarproxy.yaml"]
ENTRYPOINT ["avatarproxy"]
CMD ["-config", "/etc/avatarproxy/avatarproxy.yaml"]
