/**
 * The chart ships the operator's CRD (Helm installs `crds/` before the templates). The operator
 * generates it (`npm run crd -w operator`); the chart's copy must be that file, byte for byte.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CHART, REPO } from './helm';

const OPERATOR_CRDS = path.join(REPO, 'operator', 'crd');
const CHART_CRDS = path.join(CHART, 'crds');

describe('charts/evshare/crds', () => {
  it('holds exactly the CRDs the operator generates', () => {
    expect(readdirSync(CHART_CRDS).sort()).toEqual(
      readdirSync(OPERATOR_CRDS)
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    );
  });

  it.each(readdirSync(CHART_CRDS))('%s is identical to operator/crd/ (copy it after `npm run crd -w operator`)', (file) => {
    expect(readFileSync(path.join(CHART_CRDS, file), 'utf8')).toBe(readFileSync(path.join(OPERATOR_CRDS, file), 'utf8'));
  });
});
