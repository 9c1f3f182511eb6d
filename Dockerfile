# echoplex in a container: Node 24 slim, production dependencies only, a non-root user, and a
# HEALTHCHECK on the admin port's /healthz. Checked by test/deploy.test.ts.
#   docker build -t echoplex:0.1.0 .
#   docker run --rm -p 7007:7007 -p 9464:9464 echoplex:0.1.0
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts
COPY src ./src
# tsc directly: `npm run` would put the devDependency "node" (installed without its scripts) first on PATH.
RUN ./node_modules/.bin/tsc -p tsconfig.build.json

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# The image's unprivileged "node" user (uid 1000).
USER node
EXPOSE 7007/tcp 7007/udp 8080/tcp 9464/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM (drain) and SIGHUP (rolling restart) itself.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--initial-old-space-size=4", "dist/main/cli.js"]
CMD ["--host=0.0.0.0", "--port=7007", "--http=8080", "--udp=7007", "--admin=9464", "--admin-host=0.0.0.0"]
