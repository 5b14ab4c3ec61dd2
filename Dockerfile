# syntax=docker/dockerfile:1
# One image for every deployment target of the oof binary; the target is chosen at
# run time: `docker run IMAGE -target=query` (see compose.yaml, docs/deployment.md).

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Dependencies first, so source edits do not invalidate the module download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
# TARGETOS/TARGETARCH are set by BuildKit (`docker buildx build --platform ...`).
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /out/oof ./cmd/oof

# Static binary on distroless: no shell, no package manager, runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oof /oof
USER nonroot:nonroot
# 8080: gRPC (h2c) + gRPC-Web; 8081: admin (/healthz, /readyz, /metrics).
EXPOSE 8080 8081
ENTRYPOINT ["/oof"]
CMD ["-target=all"]
