/** Starts, restarts and stops the language client that runs recode-lsp. */
import { spawnSync } from 'node:child_process';

import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  type ErrorHandler,
  ErrorAction,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';

import { folderOf, launchEnvironment, settingReader } from './configuration';
import { SECTION, SERVER_ID, SERVER_NAME } from './constants';
import { checkInterpreter, describeLaunch, LaunchError, resolveInterpreter, resolveLaunch } from './launch';
import { readSettings, type ServerSection, serverSection } from './settings';

/** The `recode` section for one scope (a document's URI), as the server should see it. */
function sectionFor(scopeUri?: string): ServerSection {
  const folder = folderOf(scopeUri);
  const scope = scopeUri !== undefined ? vscode.Uri.parse(scopeUri) : folder?.uri;
  const settings = readSettings(settingReader(scope));
  return serverSection(settings, resolveInterpreter(settings, launchEnvironment(folder)));
}

/**
 * A server that never got through `initialize` is not restarted, and its errors raise no pop-ups of
 * their own: the start fails, and ServerController shows one message. One that ran and then crashed
 * is restarted as the language client does by default.
 */
function errorHandler(client: () => LanguageClient | undefined): ErrorHandler {
  let fallback: ErrorHandler | undefined;
  const running = (): LanguageClient | undefined => {
    const current = client();
    return current?.initializeResult !== undefined ? current : undefined;
  };
  return {
    error: (error, message, count) => {
      const current = running();
      if (current === undefined) {
        return { action: ErrorAction.Shutdown, handled: true };
      }
      fallback ??= current.createDefaultErrorHandler();
      return fallback.error(error, message, count);
    },
    closed: () => {
      const current = running();
      if (current === undefined) {
        return { action: CloseAction.DoNotRestart, handled: true };
      }
      fallback ??= current.createDefaultErrorHandler();
      return fallback.closed();
    },
  };
}

function clientOptions(log: vscode.LogOutputChannel, client: () => LanguageClient | undefined): LanguageClientOptions {
  return {
    documentSelector: [{ scheme: 'file', language: 'python' }],
    outputChannel: log,
    traceOutputChannel: log,
    errorHandler: errorHandler(client),
    // For clients without workspace/configuration; recode-lsp pulls the section when it can.
    initializationOptions: sectionFor(),
    // No `synchronize.configurationSection`: recode-lsp registers for `recode` changes itself, and
    // both would send each change twice.
    middleware: {
      workspace: {
        // Answers the server's pull with the checked section (unset keys null, paths expanded)
        // rather than VS Code's raw one, which holds the contributed defaults: `libraries: []`
        // would mean "no library at all" to the server.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          return params.items.map((item, index) =>
            item.section === SECTION ? sectionFor(item.scopeUri) : answers[index],
          );
        },
        // The server keeps pushed settings as a fallback under what it pulls, so it gets the
        // checked section here too, not the raw one.
        didChangeConfiguration: async () => {
          await client()?.sendNotification(DidChangeConfigurationNotification.type, {
            settings: { [SECTION]: sectionFor() },
          });
        },
      },
    },
  };
}

function createClient(log: vscode.LogOutputChannel): LanguageClient {
  const folder = folderOf();
  const launch = resolveLaunch(readSettings(settingReader(folder?.uri)), launchEnvironment(folder));
  log.info(`Starting the server: ${describeLaunch(launch)}`);
  if (launch.source === 'recode.interpreter') {
    checkInterpreter(launch.command, (command, args) =>
      spawnSync(command, args, { encoding: 'utf8', timeout: 20_000, ...(folder ? { cwd: folder.uri.fsPath } : {}) }),
    );
  }
  const serverOptions: ServerOptions = {
    command: launch.command,
    args: launch.args,
    transport: TransportKind.stdio,
    options: {
      ...(folder !== undefined ? { cwd: folder.uri.fsPath } : {}),
      // Unbuffered, so the server's stderr reaches the output channel as it is written.
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    },
  };
  const client: LanguageClient = new LanguageClient(
    SERVER_ID,
    SERVER_NAME,
    serverOptions,
    clientOptions(log, () => client),
  );
  return client;
}

/** Owns the one running client; restarts are queued so two never overlap. */
export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly log: vscode.LogOutputChannel) {}

  restart(reason: string): Promise<void> {
    this.queue = this.queue.then(() => this.doRestart(reason));
    return this.queue;
  }

  stop(): Promise<void> {
    this.queue = this.queue.then(() => this.doStop());
    return this.queue;
  }

  dispose(): void {
    void this.stop();
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      await client.stop();
    } catch (error) {
      // A server that already died cannot be stopped; the new one starts regardless.
      this.log.warn(`Stopping the server: ${String(error)}`);
    }
  }

  private async doRestart(reason: string): Promise<void> {
    await this.doStop();
    this.log.info(`(Re)starting: ${reason}`);
    try {
      this.client = createClient(this.log);
      await this.client.start();
      const info = this.client.initializeResult?.serverInfo;
      this.log.info(`Server running: ${info?.name ?? 'recode-lsp'} ${info?.version ?? ''}`.trimEnd());
    } catch (error) {
      this.client = undefined;
      this.reportStartFailure(error);
    }
  }

  private reportStartFailure(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`The server did not start: ${message}`);
    const detail = error instanceof LaunchError ? message : `${message} (see the ReCode output)`;
    void vscode.window
      .showErrorMessage(`ReCode: the server did not start. ${detail}`, 'Open Settings', 'Show Output')
      .then((choice) => {
        if (choice === 'Open Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', `@ext:recode.recode`);
        } else if (choice === 'Show Output') {
          this.log.show();
        }
      });
  }
}
