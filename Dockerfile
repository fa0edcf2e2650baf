# flashload: one static binary (no cgo), run as a non-root user.
#   docker build -t flashload .
#   docker run --rm flashload scenarios list
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build command: cmd/flashload's tests run exactly this line (with the output path in a
# temporary directory) and drive the binary it makes.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/flashload ./cmd/flashload

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flashload /usr/local/bin/flashload
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["flashload"]
