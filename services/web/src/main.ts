import { createLogger, exitOnSignals, loadConfig } from '@evshare/kit';
import { startWeb, webConfigSchema } from './index';

/**
 * The web front end alone in its process. It serves files only, so unlike `runMain` it connects
 * to no backend (the browser reaches the API through the gateway).
 */
async function main(): Promise<void> {
  const config = loadConfig('web', webConfigSchema);
  const log = createLogger('web', config.LOG_LEVEL);
  try {
    const web = await startWeb({ config, log });
    log.info({ url: web.url, publicDir: config.PUBLIC_DIR }, 'web listening');
    exitOnSignals(log, () => web.stop());
  } catch (error) {
    log.fatal({ err: error }, 'web failed to start');
    log.flush();
    setTimeout(() => process.exit(1), 100);
  }
}

void main();
