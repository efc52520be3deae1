# A small static image of bitqueue's commands (worker, producer, exporter),
# run as a non-root user.
#
#   docker build -t bitqueue:local .
#   docker run --rm bitqueue:local -h                                   # the worker (default entrypoint)
#   docker run --rm --entrypoint /usr/local/bin/producer bitqueue:local -h
#   docker run --rm --entrypoint /usr/local/bin/exporter bitqueue:local -h
#
# docker-compose.yml builds it and picks the entrypoint per service.

FROM golang:1.26 AS build
WORKDIR /src
# The product's modules first, so that a source change does not download
# them again: the root go.mod's, without the benchmark's (bench/go.mod).
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/ ./cmd/producer ./cmd/worker ./cmd/exporter

# distroless/static: CA certificates (for rediss://) and tzdata, no shell, no
# package manager; its nonroot user is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/producer /out/worker /out/exporter /usr/local/bin/
# Numeric, so that Kubernetes runAsNonRoot can verify it.
USER 65532:65532
# The worker's /healthz, /readyz and /metrics (--http-addr). A container has
# its own network namespace, so the image pins :8080 rather than the default
# auto (the first free port from :8080), and an occupied port is an error
# instead of a silent move to another. The exporter reads the same variable;
# give it its own (docker-compose.yml sets :9101).
ENV BITQUEUE_HTTP_ADDR=:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/worker"]
