import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { projectFor, type ProjectStatus, statusView } from '../../common/status';

const numpy: ProjectStatus = {
  root: '/work/a',
  targets: [
    { library: 'numpy', version: '2.0', source: '[tool.recode]' },
    { library: 'pandas', version: '2.2', source: 'installed' },
  ],
  summary: 'numpy 2.0',
  problems: [],
};

describe('statusView', () => {
  it('says starting, failed, running, and the targets once the server sent them', () => {
    assert.equal(statusView({ state: 'starting' }).text, '$(sync~spin) ReCode: starting');
    const failed = statusView({ state: 'failed', reason: 'no python' });
    assert.equal(failed.text, '$(error) ReCode: failed');
    assert.ok(failed.error && failed.tooltip.startsWith('no python'));
    assert.equal(statusView({ state: 'running' }).text, '$(check) ReCode');
    const running = statusView({ state: 'running', project: numpy });
    assert.equal(running.text, '$(check) ReCode: numpy 2.0');
    assert.match(running.tooltip, /pandas 2\.2 \(installed\)/);
    assert.equal(statusView({ state: 'running', project: { ...numpy, problems: ['bad'] } }).text, '$(warning) ReCode: numpy 2.0');
  });
});

describe('projectFor', () => {
  it('picks the deepest project holding the file, else the last reported', () => {
    const inner = { ...numpy, root: '/work/a/sub', summary: 'pandas 2.2' };
    const other = { ...numpy, root: '/work/ab', summary: 'other' };
    assert.equal(projectFor([numpy, inner, other], '/work/a/sub/x.py'), inner);
    assert.equal(projectFor([inner, numpy, other], '/work/a/x.py'), numpy);
    assert.equal(projectFor([numpy, other], '/elsewhere/x.py'), other);
    assert.equal(projectFor([], undefined), undefined);
  });
});
