# fabtwin on Debian 12: builds it with the Debian packages scripts/install-deps.sh installs, and runs
# the demo. `docker build -t fabtwin .` then `docker run --rm fabtwin` (the demo) or
# `docker run --rm -v "$PWD:/data" fabtwin build/release/bench/fabtwin import-nccl /data/run.log -o /data/r.json`.
# The verbs transport builds, but `fabtwin run` needs RDMA devices the container is given
# (--device /dev/infiniband/..., --cap-add IPC_LOCK, --ulimit memlock=-1).
FROM debian:12
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends make sudo ca-certificates git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src/fabtwin
COPY . .
RUN apt-get update && bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/* \
    && cmake --preset release && cmake --build --preset release -j "$(nproc)"
CMD ["make", "demo"]
