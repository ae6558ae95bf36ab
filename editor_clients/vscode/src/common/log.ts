/** The "ReCode" output channel: the extension's messages, the server's stderr and the LSP trace. */
import * as vscode from 'vscode';

import { SERVER_NAME } from './constants';
import { type Level, type Routed, routeClientLine, StderrRouter } from './logroute';

export function createLog(): vscode.LogOutputChannel {
  // A log channel (with levels and timestamps); `recode.trace.server` adds the messages to it.
  return vscode.window.createOutputChannel(SERVER_NAME, { log: true });
}

function write(log: vscode.LogOutputChannel, routed: Routed): void {
  const methods: Record<Level, (message: string) => void> = {
    trace: (message) => log.trace(message),
    debug: (message) => log.debug(message),
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message) => log.error(message),
  };
  methods[routed.level](routed.text);
}

/**
 * The channel as one language client sees it: its `appendLine` (headed `[Level - time]`) and the
 * server's stderr (`append`) land at their own level, without a second timestamp (see logroute.ts).
 */
export function clientLog(log: vscode.LogOutputChannel): vscode.LogOutputChannel {
  const stderr = new StderrRouter();
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'appendLine') {
        return (value: string) => write(target, routeClientLine(value));
      }
      if (property === 'append') {
        return (value: string) => stderr.push(value).forEach((routed) => write(target, routed));
      }
      if (property === 'dispose') {
        // The channel outlives each client (the extension disposes it).
        return () => stderr.flush().forEach((routed) => write(target, routed));
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
