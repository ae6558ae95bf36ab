/**
 * The `recode.*` settings: read, checked, and turned into the section the server asks for.
 *
 * This module does not import `vscode` (the caller passes a reader), so it is unit-tested in plain Node.
 */

/** Returns the value the user set for a key (such as `model.endpoint`), or undefined when unset. */
export type SettingReader = (key: string) => unknown;

/**
 * Settings that name a program the extension or the server runs. A repository's own
 * `.vscode/settings.json` must not choose one in a workspace the user has not trusted; the manifest
 * lists them in `capabilities.untrustedWorkspaces.restrictedConfigurations`, and because the reader
 * below uses `inspect` (which still reports workspace values), it drops them there too.
 */
export const RESTRICTED_SETTINGS = ['interpreter', 'serverPath'] as const;
/** Settings only the user's own settings may set (never a workspace, trusted or not). */
export const USER_ONLY_SETTINGS = ['trustProjectInterpreter'] as const;

/** What VS Code's `WorkspaceConfiguration.inspect` returns for one key (the values used here). */
export interface InspectedValues {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
  globalLanguageValue?: unknown;
  workspaceLanguageValue?: unknown;
  workspaceFolderLanguageValue?: unknown;
}

/**
 * The value that counts for `key`, most specific first; workspace and folder values of the restricted
 * settings count only in a trusted workspace, and those of the user-only settings never.
 */
export function effectiveValue(key: string, values: InspectedValues | undefined, trusted: boolean): unknown {
  if (values === undefined) {
    return undefined;
  }
  const userOnly = (USER_ONLY_SETTINGS as readonly string[]).includes(key);
  const fromWorkspace = !userOnly && (trusted || !(RESTRICTED_SETTINGS as readonly string[]).includes(key));
  if (!fromWorkspace) {
    return values.globalLanguageValue ?? values.globalValue;
  }
  return (
    values.workspaceFolderLanguageValue ??
    values.workspaceLanguageValue ??
    values.globalLanguageValue ??
    values.workspaceFolderValue ??
    values.workspaceValue ??
    values.globalValue
  );
}

export interface RecodeSettings {
  serverPath?: string;
  interpreter?: string;
  /** Let the server run `[tool.recode] python` of the project (user settings only). */
  trustProjectInterpreter?: boolean;
  targets?: string[];
  modelEndpoint?: string;
  modelName?: string;
  unsafeFixes?: boolean;
  libraries?: string[];
  apiDocs?: boolean;
  tooNew?: boolean;
  hoverDocsTimeoutMs?: number;
  debounceMs?: number;
  maxFileBytes?: number;
  maxFileLines?: number;
}

/** The numeric settings the server reads, by their name in the `recode` section. */
export const NUMBER_SETTINGS = ['hoverDocsTimeoutMs', 'debounceMs', 'maxFileBytes', 'maxFileLines'] as const;

/**
 * What the server gets for the `recode` section (see recode_lsp/server/settings.py). Every key is
 * present, null when unset: the server merges what it pulls over what was pushed earlier, so a key
 * left out would let an old pushed value through.
 */
export interface ServerSection {
  targets: string[] | null;
  interpreter: string | null;
  /** Always sent (false when unset): the server's default, and a pushed true must not linger. */
  trustProjectInterpreter: boolean;
  model: { endpoint: string | null; name: string | null };
  unsafeFixes: boolean | null;
  libraries: string[] | null;
  /** Hover and the fix validator read the target release's docs (may download it); false: offline. */
  apiDocs: boolean | null;
  /** The too-new check as you type (names the targeted release lacks); null: the server's env decides. */
  tooNew: boolean | null;
  hoverDocsTimeoutMs: number | null;
  debounceMs: number | null;
  maxFileBytes: number | null;
  maxFileLines: number | null;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) {
    return undefined;
  }
  const items = value.filter((item): item is string => typeof item === 'string').map((item) => item.trim());
  const kept = items.filter((item) => item !== '');
  // An empty list means "not set", so pyproject.toml's [tool.recode] decides.
  return kept.length > 0 ? kept : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
}

/** Reads the settings; values of the wrong type and empty values count as unset. */
export function readSettings(read: SettingReader): RecodeSettings {
  const settings: RecodeSettings = {};
  const serverPath = text(read('serverPath'));
  const interpreter = text(read('interpreter'));
  const targets = strings(read('targets'));
  const modelEndpoint = text(read('model.endpoint'));
  const modelName = text(read('model.name'));
  const unsafeFixes = read('unsafeFixes');
  const libraries = strings(read('libraries'));
  const trustProjectInterpreter = read('trustProjectInterpreter');
  if (serverPath !== undefined) settings.serverPath = serverPath;
  if (interpreter !== undefined) settings.interpreter = interpreter;
  if (targets !== undefined) settings.targets = targets;
  if (modelEndpoint !== undefined) settings.modelEndpoint = modelEndpoint;
  if (modelName !== undefined) settings.modelName = modelName;
  if (typeof unsafeFixes === 'boolean') settings.unsafeFixes = unsafeFixes;
  if (libraries !== undefined) settings.libraries = libraries;
  if (typeof trustProjectInterpreter === 'boolean') settings.trustProjectInterpreter = trustProjectInterpreter;
  const apiDocs = read('apiDocs');
  if (typeof apiDocs === 'boolean') settings.apiDocs = apiDocs;
  const tooNew = read('tooNew');
  if (typeof tooNew === 'boolean') settings.tooNew = tooNew;
  for (const key of NUMBER_SETTINGS) {
    const value = count(read(key));
    if (value !== undefined) settings[key] = value;
  }
  return settings;
}

/**
 * The section sent to the server. Unset keys are null rather than defaults: the server then falls
 * back to `[tool.recode]` in pyproject.toml, which the editor's values only override. `serverPath`
 * is the extension's business, so it is not sent.
 */
export function serverSection(settings: RecodeSettings, interpreter?: string): ServerSection {
  return {
    targets: settings.targets ?? null,
    interpreter: interpreter ?? settings.interpreter ?? null,
    trustProjectInterpreter: settings.trustProjectInterpreter ?? false,
    model: { endpoint: settings.modelEndpoint ?? null, name: settings.modelName ?? null },
    unsafeFixes: settings.unsafeFixes ?? null,
    libraries: settings.libraries ?? null,
    apiDocs: settings.apiDocs ?? null,
    tooNew: settings.tooNew ?? null,
    hoverDocsTimeoutMs: settings.hoverDocsTimeoutMs ?? null,
    debounceMs: settings.debounceMs ?? null,
    maxFileBytes: settings.maxFileBytes ?? null,
    maxFileLines: settings.maxFileLines ?? null,
  };
}
