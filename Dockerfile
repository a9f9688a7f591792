# Jianfu: multi-stage build, static binary, non-root, PostgreSQL in production.
#   docker build -t jianfu .
#   docker run -e DATABASE_URL=postgres://user:pass@db:5432/jianfu?sslmode=require -p 8080:8080 jianfu
# The Go of go.mod's go line: the official image sets GOTOOLCHAIN=local, so an
# older 1.26.x would refuse to build instead of fetching a toolchain.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go (SQLite is modernc): no cgo, a static binary.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/jianfu .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/jianfu /jianfu
COPY --from=build /usr/local/go/lib/time/zoneinfo.zip /zoneinfo.zip
ENV ZONEINFO=/zoneinfo.zip ADDR=:8080
# Without DATABASE_URL (`docker run jianfu demo`) the SQLite file goes to
# ./data/: the working directory must be writable by the nonroot user.
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
# Migrations run at start; run `jianfu migrate` as a separate step to control it.
ENTRYPOINT ["/jianfu"]
CMD ["serve"]
