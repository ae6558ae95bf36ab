import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { effectiveValue, readSettings, serverSection } from '../../common/settings';

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

  it('reads tooNew as a boolean only, and forwards it (false too: it wins over the server\'s env)', () => {
    assert.deepEqual(readSettings(reader({ tooNew: 'yes' })), {});
    for (const value of [true, false]) {
      const settings = readSettings(reader({ tooNew: value }));
      assert.deepEqual(settings, { tooNew: value });
      assert.equal(serverSection(settings).tooNew, value);
    }
  });

  it('keeps an explicit false for unsafeFixes', () => {
    assert.deepEqual(readSettings(reader({ unsafeFixes: false })), { unsafeFixes: false });
  });
});

describe('serverSection', () => {
  const unset = {
    targets: null,
    interpreter: null,
    trustProjectInterpreter: false,
    model: { endpoint: null, name: null },
    unsafeFixes: null,
    libraries: null,
    apiDocs: null,
    tooNew: null,
    hoverDocsTimeoutMs: null,
    debounceMs: null,
    maxFileBytes: null,
    maxFileLines: null,
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
      ...unset,
      targets: ['numpy==2.0'],
      model: { endpoint: 'http://localhost:8000/v1', name: 'recode' },
      unsafeFixes: false,
      libraries: ['numpy'],
    });
  });

  it('forwards apiDocs and the server\'s numeric settings (apiDocs: false keeps it offline)', () => {
    const settings = readSettings(
      reader({ apiDocs: false, hoverDocsTimeoutMs: 300, debounceMs: 50.7, maxFileBytes: 1000, maxFileLines: -1 }),
    );
    assert.deepEqual(settings, { apiDocs: false, hoverDocsTimeoutMs: 300, debounceMs: 50, maxFileBytes: 1000 });
    assert.deepEqual(serverSection(settings), {
      ...unset,
      apiDocs: false,
      hoverDocsTimeoutMs: 300,
      debounceMs: 50,
      maxFileBytes: 1000,
    });
    assert.deepEqual(readSettings(reader({ apiDocs: 'no', debounceMs: '100' })), {});
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

describe('trustProjectInterpreter', () => {
  it('is read as a boolean and always sent', () => {
    assert.deepEqual(readSettings(reader({ trustProjectInterpreter: true })), { trustProjectInterpreter: true });
    assert.deepEqual(readSettings(reader({ trustProjectInterpreter: 'yes' })), {});
    assert.equal(serverSection({ trustProjectInterpreter: true }).trustProjectInterpreter, true);
    assert.equal(serverSection({}).trustProjectInterpreter, false);
  });
});

describe('effectiveValue (workspace trust)', () => {
  const repository = { globalValue: '/usr/bin/python3', workspaceValue: './tool.sh', workspaceFolderValue: './run.sh' };

  it('takes the most specific value in a trusted workspace', () => {
    assert.equal(effectiveValue('interpreter', repository, true), './run.sh');
    assert.equal(effectiveValue('serverPath', { workspaceValue: './lsp' }, true), './lsp');
  });

  it("ignores a workspace's interpreter and serverPath until the workspace is trusted", () => {
    assert.equal(effectiveValue('interpreter', repository, false), '/usr/bin/python3');
    assert.equal(effectiveValue('serverPath', { workspaceValue: './lsp' }, false), undefined);
    assert.equal(effectiveValue('interpreter', { workspaceLanguageValue: './x' }, false), undefined);
  });

  it('keeps the harmless workspace settings in an untrusted workspace', () => {
    assert.deepEqual(effectiveValue('targets', { globalValue: ['numpy==2.0'], workspaceValue: ['pandas==2.2'] }, false), [
      'pandas==2.2',
    ]);
  });

  it('never lets a workspace set trustProjectInterpreter, trusted or not', () => {
    for (const trusted of [true, false]) {
      assert.equal(effectiveValue('trustProjectInterpreter', { workspaceValue: true }, trusted), undefined);
      assert.equal(effectiveValue('trustProjectInterpreter', { workspaceFolderValue: true, globalValue: false }, trusted), false);
      assert.equal(effectiveValue('trustProjectInterpreter', { globalValue: true }, trusted), true);
    }
  });

  it('reads nothing when VS Code knows no such key', () => {
    assert.equal(effectiveValue('interpreter', undefined, true), undefined);
  });
});
