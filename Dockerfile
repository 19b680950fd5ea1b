# syntax=docker/dockerfile:1
# tenant-hooks: a static Go binary on distroless (no shell, no package manager), running as UID 65532.
#   docker build --build-arg VERSION=v1.2.3 -t ghcr.io/tenant-hooks/tenant-hooks:v1.2.3 .     (make image)
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 … (the build stage cross-compiles).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
WORKDIR /src
# Dependencies first, so editing the code does not re-download modules.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o /out/tenant-hooks ./cmd/tenant-hooks

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="tenant-hooks" \
      org.opencontainers.image.description="Metacontroller hooks: tenants from database rows and templates" \
      org.opencontainers.image.source="https://github.com/tenant-hooks/tenant-hooks" \
      org.opencontainers.image.version="$VERSION"
COPY --from=build /out/tenant-hooks /tenant-hooks
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/tenant-hooks"]
CMD ["serve"]
