/** The "ReCode" output channel: the extension's messages, the server's stderr and the LSP trace. */
import * as vscode from 'vscode';

import { SERVER_NAME } from './constants';

export function createLog(): vscode.LogOutputChannel {
  // A log channel (with levels and timestamps); `recode.trace.server` adds the messages to it.
  return vscode.window.createOutputChannel(SERVER_NAME, { log: true });
}
