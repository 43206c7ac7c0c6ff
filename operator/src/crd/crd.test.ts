import { readFileSync } from 'node:fs';
import { appServiceGroupCrd, appServiceGroupCrdYaml } from './crd';
import { DEFAULT_BEHAVIOR } from './defaults';
import { CRD_YAML_PATH } from './write';

/** A node of the CRD's OpenAPI schema, as far as these tests read it. */
interface SchemaNode {
  default?: unknown;
  properties?: Record<string, SchemaNode>;
}

/** The parts of the generated CRD these tests read. */
interface CrdView {
  spec: { versions: Array<{ schema: { openAPIV3Schema: SchemaNode }; additionalPrinterColumns: Array<{ name: string; priority?: number }> }> };
}

/** The schema node at a path of property names, or undefined where the schema has none. */
function schemaAt(node: SchemaNode | undefined, ...names: string[]): SchemaNode | undefined {
  return names.reduce<SchemaNode | undefined>((at, name) => at?.properties?.[name], node);
}

describe('AppServiceGroup CRD', () => {
  it('matches the generated YAML in operator/crd (run `npm run crd -w operator` after changing the schema)', () => {
    expect(readFileSync(CRD_YAML_PATH, 'utf8')).toBe(appServiceGroupCrdYaml());
  });

  it('publishes the same defaults the scaling decision uses', () => {
    const crd = appServiceGroupCrd() as unknown as CrdView;
    const behavior = schemaAt(crd.spec.versions[0]?.schema.openAPIV3Schema, 'spec', 'behavior');
    expect(schemaAt(behavior, 'scaleDown', 'stabilizationWindowSeconds')?.default).toBe(DEFAULT_BEHAVIOR.scaleDown.stabilizationWindowSeconds);
    expect(schemaAt(behavior, 'scaleUp', 'policies')?.default).toEqual(DEFAULT_BEHAVIOR.scaleUp.policies);
  });

  it('has the printer columns kubectl shows', () => {
    const crd = appServiceGroupCrd() as unknown as CrdView;
    const columns = crd.spec.versions[0]?.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name);
    expect(columns).toEqual(['Desired', 'Current', 'Load/pod', 'Affinity', 'Ready', 'Age']);
  });
});
