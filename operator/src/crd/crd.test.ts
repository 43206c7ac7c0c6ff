import { readFileSync } from 'node:fs';
import { appServiceGroupCrd, appServiceGroupCrdYaml } from './crd';
import { DEFAULT_BEHAVIOR } from './defaults';
import { CRD_YAML_PATH } from './write';

describe('AppServiceGroup CRD', () => {
  it('matches the generated YAML in operator/crd (run `npm run crd -w operator` after changing the schema)', () => {
    expect(readFileSync(CRD_YAML_PATH, 'utf8')).toBe(appServiceGroupCrdYaml());
  });

  it('publishes the same defaults the scaling decision uses', () => {
    const crd = appServiceGroupCrd() as any;
    const behavior = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.behavior.properties;
    expect(behavior.scaleDown.properties.stabilizationWindowSeconds.default).toBe(DEFAULT_BEHAVIOR.scaleDown.stabilizationWindowSeconds);
    expect(behavior.scaleUp.properties.policies.default).toEqual(DEFAULT_BEHAVIOR.scaleUp.policies);
  });

  it('has the printer columns kubectl shows', () => {
    const crd = appServiceGroupCrd() as any;
    const columns = crd.spec.versions[0].additionalPrinterColumns.filter((c: any) => !c.priority).map((c: any) => c.name);
    expect(columns).toEqual(['Desired', 'Current', 'Load/pod', 'Affinity', 'Ready', 'Age']);
  });
});
