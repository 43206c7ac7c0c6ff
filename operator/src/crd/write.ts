import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { appServiceGroupCrdYaml } from './crd';

/** Where the generated CRD lives (the chart copies it into charts/evshare/crds/). */
export const CRD_YAML_PATH = path.resolve(__dirname, '../../crd/evshare.io_appservicegroups.yaml');

if (require.main === module) {
  writeFileSync(CRD_YAML_PATH, appServiceGroupCrdYaml());
  process.stdout.write(`wrote ${CRD_YAML_PATH}\n`);
}
