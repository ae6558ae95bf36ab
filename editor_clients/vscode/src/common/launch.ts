/**
 * How the server is started: `recode.serverPath` if set; else `<recode.interpreter> -m recode_lsp.server`;
 * else `recode-lsp` from PATH.
 *
 * This module does not import `vscode` (the caller passes the environment), so it is unit-tested in plain Node.
 */
import * as path from 'node:path';

import { SERVER_EXECUTABLE, SERVER_MODULE } from './constants';
import type { RecodeSettings } from './settings';

export interface LaunchEnvironment {
  /** The first workspace folder: `${workspaceFolder}` and relative paths refer to it. */
  workspaceFolder?: string;
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** Whether an executable file exists at this path (injected so tests need no files). */
  isExecutable: (file: string) => boolean;
}

export interface ServerLaunch {
  command: string;
  args: string[];
  /** Which setting decided, for the log. */
  source: 'recode.serverPath' | 'recode.interpreter' | 'PATH';
}

/** The server cannot be started as configured; the message tells the user what to set. */
export class LaunchError extends Error {
  override name = 'LaunchError';
}

function pathModule(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/**
 * Expands `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`, as VS Code's own
 * settings do. A relative path with a separator is taken relative to the workspace folder; a bare
 * name (`python3`) is left for the OS to find on PATH.
 */
export function expandPath(value: string, launch: LaunchEnvironment): string {
  const p = pathModule(launch.platform);
  let expanded = value
    .replace(/\$\{userHome\}/g, launch.home)
    .replace(/\$\{env:([^}]+)\}/g, (_match, name: string) => launch.env[name] ?? '');
  if (launch.workspaceFolder !== undefined) {
    expanded = expanded.replace(/\$\{workspaceFolder\}/g, launch.workspaceFolder);
  }
  if (expanded === '~' || expanded.startsWith('~/') || expanded.startsWith('~\\')) {
    expanded = p.join(launch.home, expanded.slice(1));
  }
  const hasSeparator = expanded.includes('/') || (launch.platform === 'win32' && expanded.includes('\\'));
  if (hasSeparator && !p.isAbsolute(expanded) && launch.workspaceFolder !== undefined) {
    expanded = p.resolve(launch.workspaceFolder, expanded);
  }
  return expanded;
}

/** The full path of an executable on PATH (with PATHEXT on Windows), or undefined. */
export function findOnPath(name: string, launch: LaunchEnvironment): string | undefined {
  const p = pathModule(launch.platform);
  const win = launch.platform === 'win32';
  const searchPath = launch.env['PATH'] ?? (win ? launch.env['Path'] : undefined) ?? '';
  const extensions = win ? ['', ...(launch.env['PATHEXT'] ?? '.COM;.EXE;.BAT;.CMD').split(';')] : [''];
  for (const dir of searchPath.split(win ? ';' : ':')) {
    if (dir === '') {
      continue;
    }
    for (const extension of extensions) {
      const candidate = p.join(dir, name + extension.toLowerCase());
      if (launch.isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The interpreter as the server should see it: expanded, or undefined when unset. */
export function resolveInterpreter(settings: RecodeSettings, launch: LaunchEnvironment): string | undefined {
  return settings.interpreter === undefined ? undefined : expandPath(settings.interpreter, launch);
}

/** Decides the command that starts the server; throws LaunchError when there is none. */
export function resolveLaunch(settings: RecodeSettings, launch: LaunchEnvironment): ServerLaunch {
  if (settings.serverPath !== undefined) {
    return { command: expandPath(settings.serverPath, launch), args: [], source: 'recode.serverPath' };
  }
  const interpreter = resolveInterpreter(settings, launch);
  if (interpreter !== undefined) {
    return { command: interpreter, args: ['-m', SERVER_MODULE], source: 'recode.interpreter' };
  }
  const found = findOnPath(SERVER_EXECUTABLE, launch);
  if (found === undefined) {
    throw new LaunchError(
      `${SERVER_EXECUTABLE} was not found on PATH. Install ReCode (pip install recode-migrate) in a Python ` +
        `environment and set "recode.interpreter" to its Python, or set "recode.serverPath".`,
    );
  }
  return { command: found, args: [], source: 'PATH' };
}

/** What running a command gave (the subset of `spawnSync`'s result that matters here). */
export interface RunResult {
  status: number | null;
  error?: Error;
  stderr?: string;
}

/** Prints nothing; exits 3 when `recode_lsp` cannot be imported. Fast: it does not import it. */
const FIND_SERVER = 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("recode_lsp") else 3)';

/**
 * Checks that the interpreter runs and has recode-migrate installed, so that a wrong
 * `recode.interpreter` gets one clear message rather than the language client's connection errors.
 */
export function checkInterpreter(python: string, run: (command: string, args: string[]) => RunResult): void {
  const result = run(python, ['-c', FIND_SERVER]);
  if (result.error !== undefined || result.status === null) {
    const why = result.error?.message ?? 'it did not finish';
    throw new LaunchError(`Cannot run the Python in "recode.interpreter" (${python}): ${why}.`);
  }
  if (result.status === 3) {
    throw new LaunchError(
      `The Python in "recode.interpreter" (${python}) does not have ReCode installed: ` +
        `run "${python} -m pip install recode-migrate", or point "recode.interpreter" at another Python.`,
    );
  }
  if (result.status !== 0) {
    const stderr = result.stderr?.trim() ?? '';
    throw new LaunchError(`The Python in "recode.interpreter" (${python}) failed (exit ${result.status}): ${stderr}`);
  }
}

/** The command as one line, for the log. */
export function describeLaunch(launch: ServerLaunch): string {
  const quote = (part: string): string => (/[\s"']/.test(part) ? JSON.stringify(part) : part);
  return [launch.command, ...launch.args].map(quote).join(' ') + ` (from ${launch.source})`;
}
