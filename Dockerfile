# The CTI daemon. Built by docker-compose.yml; runs `cti serve` as an unprivileged user.
# The panel's components (web/src, TypeScript) are built first, with the npm packages
# pinned in web/package-lock.json, as scripts/setup does.
FROM node:20-slim AS panel
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web ./
RUN node build.mjs

FROM python:3.11-slim
WORKDIR /app
# The package, then the panel's files beside it: cti/http/status.py serves ../../web.
COPY pyproject.toml README.md ./
COPY cti ./cti
COPY web ./web
COPY --from=panel /web/dist ./web/dist
RUN pip install --no-cache-dir . \
 && useradd --system --home /var/lib/cti cti && mkdir -p /var/lib/cti && chown cti /var/lib/cti
# Installed non-editable, the package lives in site-packages; run from /app so that the
# web/ folder next to cti/ is the one found.
ENV PYTHONPATH=/app
USER cti
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"
CMD ["cti", "serve"]
