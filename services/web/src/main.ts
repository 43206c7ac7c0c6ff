import { createLogger, loadConfig, runProcess } from '@evshare/kit';
import { startWeb, webConfigSchema } from './index';

// The web front end alone in its process. It serves files only, so unlike `runMain` it connects
// to no backend (the browser reaches the API through the gateway).
const config = loadConfig('web', webConfigSchema);
const log = createLogger('web', config.LOG_LEVEL);
void runProcess('web', log, async () => {
  const web = await startWeb({ config, log });
  return { details: { url: web.url, publicDir: config.PUBLIC_DIR }, stop: () => web.stop() };
});
