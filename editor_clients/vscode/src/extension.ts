/** Entry point: wires the output channel, the server, the commands and the settings watcher. */
import * as vscode from 'vscode';

import { LAUNCH_SETTINGS, SECTION } from './common/constants';
import { createLog } from './common/log';
import { ServerController, StatusItem } from './common/server';

let controller: ServerController | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = createLog();
  const status = new StatusItem();
  const server = new ServerController(log, status);
  controller = server;
  context.subscriptions.push(
    log,
    status,
    server,
    vscode.commands.registerCommand('recode.restart', () => server.restart('restart command')),
    vscode.commands.registerCommand('recode.showLogs', () => log.show()),
    vscode.workspace.onDidChangeConfiguration((event) => {
      // Other recode.* settings reach the running server (it pulls them again); these decide how it starts.
      const changed = LAUNCH_SETTINGS.filter((key) => event.affectsConfiguration(key));
      if (changed.length > 0) {
        void server.restart(`${changed.join(', ')} changed`);
      } else if (event.affectsConfiguration(SECTION)) {
        server.settingsChanged();
      }
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => server.restart('workspace folders changed')),
    // The workspace's recode.interpreter and recode.serverPath count from now on.
    vscode.workspace.onDidGrantWorkspaceTrust(() => server.restart('workspace trusted')),
  );
  await server.restart('activation');
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}
