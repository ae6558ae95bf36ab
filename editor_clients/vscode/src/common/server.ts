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
  State,
  type StaticFeature,
  TransportKind,
} from 'vscode-languageclient/node';

import { folderOf, launchEnvironment, settingReader } from './configuration';
import { DOCUMENT_SELECTOR, SECTION, SERVER_ID, SERVER_NAME } from './constants';
import { checkInterpreter, describeLaunch, LaunchError, resolveInterpreter, resolveLaunch } from './launch';
import { clientLog } from './log';
import { SettingsWhileStarting } from './pending';
import { readSettings, type ServerSection, serverSection } from './settings';
import { projectFor, type ProjectStatus, type ServerState, STATUS_NOTIFICATION, statusView } from './status';

/** The `recode` section for one scope (a document's URI), as the server should see it. */
function sectionFor(scopeUri?: string): ServerSection {
  const folder = folderOf(scopeUri);
  const scope = scopeUri !== undefined ? vscode.Uri.parse(scopeUri) : folder?.uri;
  const settings = readSettings(settingReader(scope));
  return serverSection(settings, resolveInterpreter(settings, launchEnvironment(folder)));
}

/** Sends the checked `recode` section to a running server; a send that loses a race with a stop is no error. */
async function pushSettings(client: LanguageClient, log: vscode.LogOutputChannel): Promise<void> {
  try {
    await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: sectionFor() } });
  } catch (error) {
    log.debug(`Settings not sent to a server that is stopping: ${String(error)}`);
  }
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
  const routed = clientLog(log);
  return {
    documentSelector: [...DOCUMENT_SELECTOR],
    outputChannel: routed,
    traceOutputChannel: routed,
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
        // A change of recode.interpreter or recode.serverPath restarts the server at the same time:
        // a client that is stopping (or never started) gets nothing, since its successor starts with
        // the new settings, and a send that loses that race is not an error to pop up.
        didChangeConfiguration: async () => {
          // A change while the server starts is sent once it runs (ServerController.settingsChanged).
          const current = client();
          if (current === undefined || !current.isRunning()) {
            return;
          }
          await pushSettings(current, log);
        },
      },
    },
  };
}

/** Tells the server that this client shows `recode/status` (it sends it to no other). */
const statusCapability: StaticFeature = {
  fillClientCapabilities(capabilities) {
    capabilities.experimental = { ...(capabilities.experimental ?? {}), recodeStatus: true };
  },
  initialize() {},
  getState() {
    return { kind: 'static' };
  },
  clear() {},
};

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
  client.registerFeature(statusCapability);
  return client;
}

/** The status bar item: starting, running (with the targets of the active file's project), failed. */
export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private state: ServerState = { state: 'starting' };
  private projects: ProjectStatus[] = [];
  private readonly editorWatch: vscode.Disposable;

  constructor() {
    this.item = vscode.window.createStatusBarItem('recode.status', vscode.StatusBarAlignment.Left, 0);
    this.item.name = 'ReCode';
    this.item.command = 'recode.showLogs';
    this.editorWatch = vscode.Disposable.from(
      vscode.window.onDidChangeActiveTextEditor(() => this.show()),
      vscode.window.onDidChangeActiveNotebookEditor(() => this.show()),
    );
    this.show();
    this.item.show();
  }

  set(state: ServerState): void {
    if (state.state !== 'running') {
      this.projects = [];
    }
    this.state = state;
    this.show();
  }

  project(status: ProjectStatus): void {
    this.projects = [...this.projects.filter((p) => p.root !== status.root), status];
    this.show();
  }

  private show(): void {
    const state =
      this.state.state === 'running'
        ? { state: 'running' as const, project: projectFor(this.projects, activeFile()) }
        : this.state;
    const view = statusView(state);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.editorWatch.dispose();
    this.item.dispose();
  }
}

function activeFile(): string | undefined {
  // A notebook cell's document is no file: the notebook is.
  const uri = vscode.window.activeNotebookEditor?.notebook.uri ?? vscode.window.activeTextEditor?.document.uri;
  return uri?.scheme === 'file' ? uri.fsPath : undefined;
}

/** Owns the one running client; restarts are queued so two never overlap. */
export class ServerController implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly changedWhileStarting = new SettingsWhileStarting();

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly status: StatusItem,
  ) {}

  restart(reason: string): Promise<void> {
    this.queue = this.queue.then(() => this.doRestart(reason));
    return this.queue;
  }

  /** A `recode.*` setting that does not restart the server changed. */
  settingsChanged(): void {
    this.changedWhileStarting.note();
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
    this.status.set({ state: 'stopped' });
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
    this.status.set({ state: 'starting' });
    // The new server gets the settings as they are now; a change from here on is sent after start().
    this.changedWhileStarting.begin();
    try {
      const client = createClient(this.log);
      this.client = client;
      client.onNotification(STATUS_NOTIFICATION, (status: ProjectStatus) => {
        if (this.client === client) this.status.project(status);
      });
      client.onDidChangeState((event) => {
        // A server that ran and then died for good (the client gave up restarting it).
        if (this.client === client && event.oldState === State.Running && event.newState === State.Stopped) {
          this.status.set({ state: 'failed', reason: 'The ReCode server stopped unexpectedly.' });
        } else if (this.client === client && event.newState === State.Running) {
          this.status.set({ state: 'running' });
        }
      });
      await client.start();
      if (this.changedWhileStarting.end()) {
        this.log.info('Settings changed while the server started: sending them');
        await pushSettings(client, this.log);
      }
      this.status.set({ state: 'running' });
      const info = this.client.initializeResult?.serverInfo;
      this.log.info(`Server running: ${info?.name ?? 'recode-lsp'} ${info?.version ?? ''}`.trimEnd());
    } catch (error) {
      this.changedWhileStarting.end();
      this.client = undefined;
      this.reportStartFailure(error);
    }
  }

  private reportStartFailure(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`The server did not start: ${message}`);
    this.status.set({ state: 'failed', reason: `The ReCode server did not start: ${message}` });
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
