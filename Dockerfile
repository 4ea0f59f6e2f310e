FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY schemas schemas
COPY streams streams
COPY consumers consumers
COPY copy copy
COPY lambda lambda
COPY dashboard dashboard
COPY cli cli
COPY test test
COPY bench bench
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund
# Stopping a stage sends SIGTERM: it finishes or hands back what it holds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
