# crdt-store image: a build stage with the -dev packages, a slim runtime
# stage with only the runtime libraries, the stripped server, its CAF
# tuning file and the schemas. Every build step runs the same scripts the
# host uses (scripts/install-deps.sh, scripts/build.sh); tests/docker
# checks the runtime package list against the binary's libraries and
# builds and runs the image itself (image_test.sh).
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN DEPS=build scripts/install-deps.sh
COPY . .
RUN rm -rf build \
 && BUILD_TYPE=Release TESTS=OFF BENCH=OFF TARGET=crdt-store scripts/build.sh \
 && strip build/crdt-store

FROM debian:bookworm-slim
COPY scripts/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update -qq \
 && grep -v '^#' /tmp/runtime-packages.txt \
    | xargs apt-get install -y -qq --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --create-home --home-dir /app crdt \
 && mkdir -p /data && chown crdt /data
COPY --from=build /src/build/crdt-store /usr/local/bin/crdt-store
COPY schema /app/schema
COPY config/caf.ini /app/config/caf.ini
USER crdt
WORKDIR /app
ENV HOST=0.0.0.0 PORT=3060 DB_SQLITE_FILE=/data/sql.sqlite SCHEMA_DIR=/app/schema
VOLUME /data
EXPOSE 3060
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD curl -fsS "http://127.0.0.1:${PORT}/health" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/crdt-store"]
