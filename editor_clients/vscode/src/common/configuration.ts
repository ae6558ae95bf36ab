/** Glue between VS Code's configuration API and the vscode-free settings and launch modules. */
import * as fs from 'node:fs';
import * as os from 'node:os';

import * as vscode from 'vscode';

import { SECTION } from './constants';
import type { LaunchEnvironment } from './launch';
import { effectiveValue, type SettingReader } from './settings';

/**
 * Reads what the user set, ignoring the contributed defaults: an unset key is then left out of what
 * the server gets, so `[tool.recode]` in pyproject.toml decides (`recode.unsafeFixes: false` by default
 * would otherwise always override `unsafe-fixes = true` there). `inspect` ignores workspace trust, so
 * `effectiveValue` drops a workspace's program-naming settings in an untrusted workspace itself.
 */
export function settingReader(scope?: vscode.ConfigurationScope): SettingReader {
  const configuration = vscode.workspace.getConfiguration(SECTION, scope);
  const trusted = vscode.workspace.isTrusted;
  return (key) => effectiveValue(key, configuration.inspect(key), trusted);
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function launchEnvironment(folder?: vscode.WorkspaceFolder): LaunchEnvironment {
  const environment: LaunchEnvironment = {
    home: os.homedir(),
    env: process.env,
    platform: process.platform,
    isExecutable,
  };
  if (folder !== undefined) {
    environment.workspaceFolder = folder.uri.fsPath;
  }
  return environment;
}

/** The folder a `workspace/configuration` scope belongs to; the first folder when there is no scope. */
export function folderOf(scopeUri?: string): vscode.WorkspaceFolder | undefined {
  const folders = vscode.workspace.workspaceFolders;
  if (scopeUri !== undefined) {
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(scopeUri));
    if (folder !== undefined) {
      return folder;
    }
  }
  return folders?.[0];
}
