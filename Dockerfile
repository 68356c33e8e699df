# syntax=docker/dockerfile:1
#
# ecr-webhook container image.
#   docker build -t ghcr.io/ecr-webhook/ecr-webhook:0.1.0 .
# (ghcr.io/ecr-webhook is a placeholder: push to your own registry and change webhook-config/ and
# certs-job/ to match.) For reproducible builds, pin the two base images by digest (@sha256:...).
#
# Runtime base: gcr.io/distroless/nodejs22-debian12:nonroot rather than node:22-bookworm-slim.
# The webhook holds AWS credentials and writes Secrets in every opted-in namespace, so its image
# carries nothing but Node.js and the app: no shell, no package manager, no npm, far fewer CVEs to
# track. Its "nonroot" user is uid/gid 65532, present in its /etc/passwd, and the manifests run as
# that same numeric user (runAsUser: 65532). Both stages are Node.js 22 on Debian 12 (bookworm),
# so the production node_modules built below run unchanged in the runtime stage.

# ── build: compile TypeScript ─────────────────────────────────────────────────────────────────────────
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ── deps: production dependencies only, in a clean tree ───────────────────────────────────────────────
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev

# ── runtime ──────────────────────────────────────────────────────────────────────────────────────────
FROM gcr.io/distroless/nodejs22-debian12:nonroot

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="ecr-webhook" \
      org.opencontainers.image.description="Kubernetes mutating admission webhook that keeps fresh Amazon ECR pull secrets in opted-in namespaces" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/ecr-webhook/ecr-webhook" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs22-debian12:nonroot"

WORKDIR /app
ENV NODE_ENV=production
# Files stay owned by root and read-only to the process. package.json is needed at run time:
# its "type": "module" makes Node load dist/*.js as ES modules.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./

USER 65532:65532
# 8443: HTTPS /mutate, /healthz, /readyz. 9090: plain-HTTP /metrics.
EXPOSE 8443 9090
# The distroless image has no `node` on a shell PATH; its binary is /nodejs/bin/node.
ENTRYPOINT ["/nodejs/bin/node", "dist/cli.js"]
CMD ["serve"]
