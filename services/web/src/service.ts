import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { admissionSettings, createHealth, createHttpApp, createMetrics, env, listen, serviceEnv, type Logger, type RunningService } from '@evshare/kit';

/** Where `vite build` writes the UI (services/web/dist/public), from src/ under jest or dist/ when compiled. */
const DEFAULT_PUBLIC_DIR = path.resolve(__dirname, '..', 'dist', 'public');

export const webConfigSchema = z.object({
  ...serviceEnv('web', 8090),
  /** The built UI (index.html and assets/). */
  PUBLIC_DIR: z.string().min(1).default(DEFAULT_PUBLIC_DIR),
  /** Express `trust proxy` for the request log's client address: the gateway or ingress in front. */
  TRUST_PROXY: env.trustProxy('loopback'),
});
export type WebConfig = z.infer<typeof webConfigSchema>;

/**
 * The page may load and connect only to its own origin: scripts and styles come from files
 * (no inline code), the API, the push WebSocket and the poll are same-origin through the gateway.
 * 'self' in connect-src covers ws:/wss: to the same host (CSP Level 3).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that are the API's or the gateway's, never a client route of the UI. */
const NOT_UI = /^\/(?:api|push|lb)(?:\/|$)/;

/**
 * The web front end's server: the built single-page UI with long-lived caching for hashed assets,
 * index.html never cached (so a deploy takes effect at the next load), and index.html for every
 * client route (/stations, /console/fleet, ...) so deep links and reloads work.
 */
export async function startWeb(deps: { config: WebConfig; log: Logger }): Promise<RunningService> {
  const { config, log } = deps;
  const publicDir = config.PUBLIC_DIR;
  const indexFile = path.join(publicDir, 'index.html');
  if (!existsSync(indexFile)) log.warn({ publicDir }, 'the UI is not built (npm run build -w @evshare/web): pages answer 503 until it is');
  const health = createHealth();
  health.addCheck('ui-built', async () => {
    await stat(indexFile);
  });
  const metrics = createMetrics('web', config.INSTANCE_ID);

  const app = createHttpApp({
    log,
    admission: admissionSettings('web', config),
    metrics,
    health,
    trustProxy: config.TRUST_PROXY,
    routes: (app) => {
      app.use((_req: Request, res: Response, next: NextFunction) => {
        // Replaces the API's "default-src 'none'" set by the kit: this service serves a page.
        res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
        res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()');
        next();
      });
      app.use(
        '/assets',
        express.static(path.join(publicDir, 'assets'), {
          immutable: true,
          maxAge: '365d',
          index: false,
          fallthrough: true,
        }),
      );
      app.use(
        express.static(publicDir, {
          index: false,
          maxAge: 0,
          setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
        }),
      );
      const sendIndex = (req: Request, res: Response, next: NextFunction) => {
        if (NOT_UI.test(req.path) || req.path.startsWith('/assets/') || path.extname(req.path) !== '') {
          next();
          return;
        }
        res.setHeader('Cache-Control', 'no-cache');
        res.sendFile(indexFile, (error) => {
          if (error && !res.headersSent) {
            res.status(503).type('text/plain').send('The web UI is not built yet.');
          }
        });
      };
      app.get(/.*/, sendIndex);
    },
  });
  const server = await listen(app, config.PORT, config.HOST);
  return {
    name: 'web',
    url: server.url,
    port: server.port,
    health,
    async stop() {
      health.startDraining();
      await server.close();
    },
  };
}
