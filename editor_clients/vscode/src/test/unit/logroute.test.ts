import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { routeClientLine, StderrRouter } from '../../common/logroute';

describe('routeClientLine', () => {
  it('reads the level from the language client header and drops its timestamp', () => {
    assert.deepEqual(routeClientLine('[Error - 10:20:30 PM] Connection to server got closed.'), {
      level: 'error',
      text: 'Connection to server got closed.',
    });
    assert.deepEqual(routeClientLine('[Warn  - 10:20:30] careful'), { level: 'warn', text: 'careful' });
    assert.deepEqual(routeClientLine('[Info  - 10:20:30] project /p: targets numpy==2.0'), {
      level: 'info',
      text: 'project /p: targets numpy==2.0',
    });
    assert.deepEqual(routeClientLine('a plain window/logMessage'), { level: 'info', text: 'a plain window/logMessage' });
  });

  it('does not call a normal exit an error', () => {
    assert.deepEqual(routeClientLine('[Error - 10:20:30] Server process exited with code 0.'), {
      level: 'info',
      text: 'Server process exited with code 0.',
    });
    assert.equal(routeClientLine('[Error - 10:20:30] Server process exited with code 1.').level, 'error');
  });
});

describe('StderrRouter', () => {
  it('joins chunks into lines, keeps a traceback at its header level, tones down cancel warnings', () => {
    const router = new StderrRouter();
    assert.deepEqual(router.push('2026-12-06 19:40:01,123 WARNING pygls.protocol.json_rpc: Cancel notification'), []);
    assert.deepEqual(router.push(' for unknown message id "7"\n2026-12-06 19:40:02,000 ERROR recode: boom\nTrace'), [
      { level: 'debug', text: 'pygls.protocol.json_rpc: Cancel notification for unknown message id "7"' },
      { level: 'error', text: 'recode: boom' },
    ]);
    assert.deepEqual(router.push('back (most recent call last):\n'), [
      { level: 'error', text: 'Traceback (most recent call last):' },
    ]);
    assert.deepEqual(router.push('2026-12-06 19:40:03,000 WARNING recode: real warning\nleft'), [
      { level: 'warn', text: 'recode: real warning' },
    ]);
    assert.deepEqual(router.flush(), [{ level: 'warn', text: 'left' }]);
  });
});
