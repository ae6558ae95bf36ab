/** Names shared by the extension and the server. */

/** The settings section, and the section the server asks for in `workspace/configuration`. */
export const SECTION = 'recode';
/** The language client's id: VS Code reads `recode.trace.server` because of it. */
export const SERVER_ID = 'recode';
export const SERVER_NAME = 'ReCode';
/** The module that `<interpreter> -m` starts. */
export const SERVER_MODULE = 'recode_lsp.server';
/** The executable looked up on PATH when neither serverPath nor interpreter is set. */
export const SERVER_EXECUTABLE = 'recode-lsp';

/** Settings that decide how the server is started: changing one restarts it. */
export const LAUNCH_SETTINGS = [`${SECTION}.serverPath`, `${SECTION}.interpreter`] as const;

/**
 * The documents the language client serves (hover, code actions, diagnostics): Python files, and
 * the Python cells of any notebook. Cells have the `vscode-notebook-cell` scheme, so the file entry
 * alone never matches one and the lightbulb on a cell would not ask the server. Their text reaches
 * the server through `notebookDocument/*` (the server's `notebookDocumentSync`), not `textDocument/*`:
 * vscode-languageclient 9 leaves a document that notebook sync handles out of text sync.
 */
export const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: 'python' },
  { notebook: '*', language: 'python' },
] as const;
