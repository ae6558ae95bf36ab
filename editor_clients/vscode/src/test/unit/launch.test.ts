import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  checkInterpreter,
  describeLaunch,
  expandPath,
  findOnPath,
  type LaunchEnvironment,
  LaunchError,
  resolveLaunch,
} from '../../common/launch';

function environment(overrides: Partial<LaunchEnvironment> = {}, executables: string[] = []): LaunchEnvironment {
  return {
    workspaceFolder: '/work/project',
    home: '/home/ada',
    env: { PATH: '/usr/local/bin:/usr/bin', VENV: '/envs/recode' },
    platform: 'linux',
    isExecutable: (file) => executables.includes(file),
    ...overrides,
  };
}

describe('resolveLaunch', () => {
  it('prefers serverPath over the interpreter', () => {
    const launch = resolveLaunch({ serverPath: '/opt/bin/recode-lsp', interpreter: '/usr/bin/python3' }, environment());
    assert.deepEqual(launch, { command: '/opt/bin/recode-lsp', args: [], source: 'recode.serverPath' });
  });

  it('runs the server module with the interpreter', () => {
    const launch = resolveLaunch({ interpreter: '/usr/bin/python3' }, environment());
    assert.deepEqual(launch, {
      command: '/usr/bin/python3',
      args: ['-m', 'recode_lsp.server'],
      source: 'recode.interpreter',
    });
  });

  it('resolves a relative interpreter against the workspace folder', () => {
    const launch = resolveLaunch({ interpreter: '.venv/bin/python' }, environment());
    assert.equal(launch.command, '/work/project/.venv/bin/python');
  });

  it('falls back to recode-lsp on PATH', () => {
    const launch = resolveLaunch({}, environment({}, ['/usr/bin/recode-lsp']));
    assert.deepEqual(launch, { command: '/usr/bin/recode-lsp', args: [], source: 'PATH' });
  });

  it('says what to set when recode-lsp is not on PATH', () => {
    assert.throws(
      () => resolveLaunch({}, environment()),
      (error: unknown) =>
        error instanceof LaunchError &&
        /recode\.interpreter/.test(error.message) &&
        /recode\.serverPath/.test(error.message),
    );
  });

  it('ignores targets and other settings that are not about launching', () => {
    const launch = resolveLaunch(
      { targets: ['numpy==2.0'], unsafeFixes: true },
      environment({}, ['/usr/local/bin/recode-lsp']),
    );
    assert.equal(launch.command, '/usr/local/bin/recode-lsp');
  });
});

describe('expandPath', () => {
  it('expands variables and the home directory', () => {
    const env = environment();
    assert.equal(expandPath('${workspaceFolder}/.venv/bin/python', env), '/work/project/.venv/bin/python');
    assert.equal(expandPath('${userHome}/bin/recode-lsp', env), '/home/ada/bin/recode-lsp');
    assert.equal(expandPath('~/bin/recode-lsp', env), '/home/ada/bin/recode-lsp');
    assert.equal(expandPath('${env:VENV}/bin/python', env), '/envs/recode/bin/python');
  });

  it('leaves absolute paths and bare names alone', () => {
    const env = environment();
    assert.equal(expandPath('/usr/bin/python3', env), '/usr/bin/python3');
    assert.equal(expandPath('python3', env), 'python3');
  });

  it('leaves a relative path relative without a workspace folder', () => {
    const env = environment();
    delete env.workspaceFolder;
    assert.equal(expandPath('.venv/bin/python', env), '.venv/bin/python');
  });

  it('handles Windows paths', () => {
    const env = environment({ workspaceFolder: 'C:\\project', home: 'C:\\Users\\ada', platform: 'win32' });
    assert.equal(expandPath('.venv\\Scripts\\python.exe', env), 'C:\\project\\.venv\\Scripts\\python.exe');
    assert.equal(expandPath('~\\bin\\recode-lsp.exe', env), 'C:\\Users\\ada\\bin\\recode-lsp.exe');
  });
});

describe('findOnPath', () => {
  it('takes the first directory that has it', () => {
    const env = environment({}, ['/usr/bin/recode-lsp', '/usr/local/bin/recode-lsp']);
    assert.equal(findOnPath('recode-lsp', env), '/usr/local/bin/recode-lsp');
  });

  it('tries PATHEXT on Windows', () => {
    const env = environment(
      { platform: 'win32', env: { Path: 'C:\\Python\\Scripts;C:\\Windows', PATHEXT: '.COM;.EXE' } },
      ['C:\\Python\\Scripts\\recode-lsp.exe'],
    );
    assert.equal(findOnPath('recode-lsp', env), 'C:\\Python\\Scripts\\recode-lsp.exe');
  });
});

describe('describeLaunch', () => {
  it('quotes parts with spaces and names the source', () => {
    assert.equal(
      describeLaunch({ command: '/My Envs/python', args: ['-m', 'recode_lsp.server'], source: 'recode.interpreter' }),
      '"/My Envs/python" -m recode_lsp.server (from recode.interpreter)',
    );
  });
});

describe('checkInterpreter', () => {
  it('accepts a Python that has recode_lsp', () => {
    const calls: string[][] = [];
    checkInterpreter('/venv/bin/python', (command, args) => {
      calls.push([command, ...args]);
      return { status: 0 };
    });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.[0], '/venv/bin/python');
    assert.match(calls[0]?.[2] ?? '', /find_spec\("recode_lsp"\)/);
  });

  it('says how to install ReCode when the module is missing', () => {
    assert.throws(
      () => checkInterpreter('/usr/bin/python3', () => ({ status: 3 })),
      (error: unknown) => error instanceof LaunchError && /pip install recode-migrate/.test(error.message),
    );
  });

  it('reports an interpreter that cannot run', () => {
    const missing = Object.assign(new Error('spawn /nope/python ENOENT'), { code: 'ENOENT' });
    assert.throws(
      () => checkInterpreter('/nope/python', () => ({ status: null, error: missing })),
      (error: unknown) => error instanceof LaunchError && /Cannot run .*ENOENT/.test(error.message),
    );
  });

  it('passes on what a failing interpreter printed', () => {
    assert.throws(
      () => checkInterpreter('/venv/bin/python', () => ({ status: 1, stderr: 'Fatal Python error\n' })),
      (error: unknown) => error instanceof LaunchError && /exit 1\): Fatal Python error$/.test(error.message),
    );
  });
});
