# The zuulstate image: one static binary (CGO_ENABLED=0) and the CA
# certificates for S3, ZooKeeper and MariaDB over TLS, on scratch. Nothing
# is pulled or downloaded, so it builds with no network and no registry:
# `make image` stages the context (scripts/image.sh) with the binary, the
# build host's /etc/ssl/certs/ca-certificates.crt and a passwd/group naming
# the non-root user.
#
# It runs as uid 65532 ("nonroot"), which is enough for MariaDB, ZooKeeper,
# S3 and a local repository the user can write. Root (`user: "0:0"` in
# compose, runAsUser: 0 in Kubernetes) is needed to read Docker's volume
# directories and root-owned bind mounts directly (the volumes source's
# direct mode), to talk to /var/run/docker.sock, and to restore files
# with their owners.
FROM scratch

ARG VERSION=unknown
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="zuulstate" \
      org.opencontainers.image.description="Backup and restore of a Zuul CI deployment's state" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"

COPY passwd group /etc/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY zuulstate /usr/local/bin/zuulstate

USER 65532:65532
ENTRYPOINT ["/usr/local/bin/zuulstate"]
CMD ["--help"]
