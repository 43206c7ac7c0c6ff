import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { allNatsPermissions } from './permissions';

/** Where the chart reads the services' NATS permissions (Helm cannot run the code that declares them). */
export const CHART_PERMISSIONS_PATH = path.resolve(__dirname, '../../../../charts/evshare/files/nats-permissions.json');

/** The file's exact content: test/chart/nats-permissions.test.ts fails when the committed copy differs. */
export function natsPermissionsJson(): string {
  return `${JSON.stringify(allNatsPermissions(), null, 2)}\n`;
}

if (require.main === module) {
  writeFileSync(CHART_PERMISSIONS_PATH, natsPermissionsJson());
  process.stdout.write(`wrote ${CHART_PERMISSIONS_PATH}\n`);
}
