import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { readSettings, serverSection } from '../../common/settings';

/** A reader over what the user set, as VS Code's `inspect` gives it. */
function reader(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => values[key];
}

describe('readSettings', () => {
  it('reads every setting', () => {
    const settings = readSettings(
      reader({
        serverPath: '/opt/recode-lsp',
        interpreter: '.venv/bin/python',
        targets: ['numpy==2.0', 'pandas==2.2'],
        'model.endpoint': 'http://localhost:8000/v1',
        'model.name': 'recode',
        unsafeFixes: true,
        libraries: ['numpy'],
      }),
    );
    assert.deepEqual(settings, {
      serverPath: '/opt/recode-lsp',
      interpreter: '.venv/bin/python',
      targets: ['numpy==2.0', 'pandas==2.2'],
      modelEndpoint: 'http://localhost:8000/v1',
      modelName: 'recode',
      unsafeFixes: true,
      libraries: ['numpy'],
    });
  });

  it('treats unset, empty and blank values as unset', () => {
    assert.deepEqual(readSettings(reader({})), {});
    assert.deepEqual(
      readSettings(reader({ serverPath: '', interpreter: '   ', targets: [], 'model.name': '', libraries: [' '] })),
      {},
    );
  });

  it('drops values of the wrong type', () => {
    const settings = readSettings(
      reader({ interpreter: 3, targets: 'numpy==2.0', unsafeFixes: 'yes', libraries: [1, 'pandas'] }),
    );
    assert.deepEqual(settings, { libraries: ['pandas'] });
  });

  it('trims whitespace', () => {
    assert.deepEqual(readSettings(reader({ interpreter: ' /usr/bin/python3 ', targets: [' numpy==2.0 '] })), {
      interpreter: '/usr/bin/python3',
      targets: ['numpy==2.0'],
    });
  });

  it('keeps an explicit false for unsafeFixes', () => {
    assert.deepEqual(readSettings(reader({ unsafeFixes: false })), { unsafeFixes: false });
  });
});

describe('serverSection', () => {
  const unset = {
    targets: null,
    interpreter: null,
    model: { endpoint: null, name: null },
    unsafeFixes: null,
    libraries: null,
  };

  it('nests the model and leaves out serverPath', () => {
    const section = serverSection({
      serverPath: '/opt/recode-lsp',
      targets: ['numpy==2.0'],
      modelEndpoint: 'http://localhost:8000/v1',
      modelName: 'recode',
      unsafeFixes: false,
      libraries: ['numpy'],
    });
    assert.deepEqual(section, {
      targets: ['numpy==2.0'],
      interpreter: null,
      model: { endpoint: 'http://localhost:8000/v1', name: 'recode' },
      unsafeFixes: false,
      libraries: ['numpy'],
    });
  });

  it('sends every key, null when unset, so pyproject.toml decides and nothing stale survives', () => {
    assert.deepEqual(serverSection({}), unset);
    assert.deepEqual(serverSection({ modelName: 'recode' }), { ...unset, model: { endpoint: null, name: 'recode' } });
  });

  it('never sends an empty library list (it would mean "no library")', () => {
    assert.equal(serverSection(readSettings(reader({ libraries: [] }))).libraries, null);
  });

  it('sends the resolved interpreter rather than the raw setting', () => {
    assert.deepEqual(serverSection({ interpreter: '.venv/bin/python' }, '/work/project/.venv/bin/python'), {
      ...unset,
      interpreter: '/work/project/.venv/bin/python',
    });
    assert.equal(serverSection({ interpreter: 'python3' }).interpreter, 'python3');
  });
});
