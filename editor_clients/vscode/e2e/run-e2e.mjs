// End-to-end test of the packaged extension in a real VS Code: code-server with the .vsix installed,
// driven by Playwright in Debian's Chromium, headless. It opens a file with a NumPy 2 finding, checks
// the Problems panel, applies the quick fix from the Ctrl+. menu, saves, and checks the file on disk.
// The finding's message must say what to do first; the hover shows the change and its versions.
// Then: a Jupyter notebook (the built-in ipynb support; no Jupyter extension) with the finding in
// its third cell: the Problems panel row names that cell, the quick fix on the cell fixes it, and
// the saved .ipynb differs from the one written only in that cell's source.
// Then: the status bar item (starting, the targets, failed), an unsafe fix offered marked unsafe,
// the restart command with a clean output channel, a `recode.targets` changed while the server
// starts and one changed while it runs reaching it,
// `recode.apiDocs: false` reaching it (and nothing downloaded), a changed `recode.interpreter`
// restarting it without a pop-up, and a missing interpreter giving exactly one clear error.
//
//   node e2e/run-e2e.mjs            (from editor_clients/vscode, after `npm run build` and packaging)
//
// Environment: RECODE_PYTHON (the Python with recode-migrate; default <repo>/.venv/bin/python),
// RECODE_VSIX (default: the newest recode-*.vsix), RECODE_CHROMIUM (default /usr/bin/chromium),
// RECODE_E2E_OUTPUT (default test-output/e2e), RECODE_E2E_TIMEOUT_S (default 240),
// RECODE_E2E_SCREENSHOTS (a folder: also save the README's pictures of the status item, the hover and
// the Problems panel there; scripts/screenshots.sh sets it to images/).
// Screenshots, the code-server log and VS Code's logs (the ReCode output channel among them) land in
// the output folder.

import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const E2E_DIR = dirname(fileURLToPath(import.meta.url));
const EXTENSION_DIR = resolve(E2E_DIR, '..');
const REPO = resolve(EXTENSION_DIR, '../..');
const OUTPUT = resolve(process.env.RECODE_E2E_OUTPUT ?? join(EXTENSION_DIR, 'test-output', 'e2e'));
const PYTHON = process.env.RECODE_PYTHON ?? join(REPO, '.venv', 'bin', 'python');
const CHROMIUM = process.env.RECODE_CHROMIUM ?? '/usr/bin/chromium';
// code-server 4.139 wants Node 24; the npm package `node` puts one here.
const NODE24 = join(E2E_DIR, 'node_modules', 'node', 'bin', 'node');
const CODE_SERVER = join(E2E_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const TIMEOUT_S = Number(process.env.RECODE_E2E_TIMEOUT_S ?? 240);
const PICTURES = process.env.RECODE_E2E_SCREENSHOTS ? resolve(process.env.RECODE_E2E_SCREENSHOTS) : undefined;

const SOURCE = 'import numpy as np\n\ntotal = np.float_(0)\n';
const UNSAFE = 'import numpy as np\n\nfound = np.in1d([1], [1])\n';
const FIXED = 'import numpy as np\n\ntotal = np.float64(0)\n';

/**
 * An nbformat 4.5 notebook: a markdown cell, the imports, then a cell with an IPython magic (masked
 * by the server) and the finding on its second line; outputs and metadata that must survive.
 * ``fixedCell`` swaps in the fixed source of the third cell, and its execution count goes: VS Code
 * clears the count of any cell edited in the editor (its own behaviour, as for a hand edit).
 */
function notebookJson(fixedCell) {
  const notebook = {
    cells: [
      { cell_type: 'markdown', id: 'c0-intro', metadata: {}, source: ['# Totals\n', '\n', 'Sums in NumPy.'] },
      {
        cell_type: 'code',
        execution_count: 1,
        id: 'c1-imports',
        metadata: {},
        outputs: [],
        source: ['import numpy as np'],
      },
      {
        cell_type: 'code',
        execution_count: fixedCell ? null : 2,
        id: 'c2-total',
        metadata: { tags: ['keep'] },
        outputs: [{ data: { 'text/plain': ['0.0'] }, execution_count: 2, metadata: {}, output_type: 'execute_result' }],
        source: ['%precision 3\n', fixedCell ? 'total = np.float64(0)\n' : 'total = np.float_(0)\n', 'total'],
      },
    ],
    metadata: {
      kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
      language_info: { name: 'python', version: '3.11.0' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  // As VS Code's ipynb serializer writes a notebook (keys sorted, one-space indent, a final newline),
  // so the saved file can be compared byte for byte.
  return `${JSON.stringify(sortedKeys(notebook), undefined, 1)}\n`;
}

function sortedKeys(value) {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys(value[key])]),
  );
}
const NOTEBOOK = notebookJson(false);
const NOTEBOOK_FIXED = notebookJson(true);

const started = Date.now();
function step(message) {
  console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
}

function newestVsix() {
  if (process.env.RECODE_VSIX) return resolve(process.env.RECODE_VSIX);
  const found = readdirSync(EXTENSION_DIR)
    .filter((name) => /^recode-.*\.vsix$/.test(name))
    .map((name) => join(EXTENSION_DIR, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (found.length === 0) throw new Error(`no recode-*.vsix in ${EXTENSION_DIR}: run npm run build && npm run package`);
  return found[0];
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function waitForHttp(url, timeoutMs, isAlive) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('code-server exited before it was ready (see code-server.log)');
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s`);
}

/** A fresh user-data-dir, extensions-dir and project, so nothing from earlier runs leaks in. */
function prepareDirs() {
  const root = mkdtempSync(join(tmpdir(), 'recode-vscode-e2e-'));
  const dirs = {
    root,
    userData: join(root, 'user-data'),
    extensions: join(root, 'extensions'),
    project: join(root, 'project'),
  };
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  mkdirSync(dirs.extensions, { recursive: true });
  mkdirSync(dirs.project, { recursive: true });
  writeFileSync(join(dirs.project, 'pyproject.toml'), '[tool.recode]\ntargets = ["numpy==2.0"]\n');
  writeFileSync(join(dirs.project, 'mod.py'), SOURCE);
  writeFileSync(join(dirs.project, 'unsafe.py'), UNSAFE);
  writeFileSync(join(dirs.project, 'totals.ipynb'), NOTEBOOK);
  mkdirSync(join(root, 'cache'), { recursive: true });
  const settings = {
    // Restricted Mode would keep the extension from running.
    'security.workspace.trust.enabled': false,
    'recode.interpreter': PYTHON,
    // Verbose: the log then holds the settings the server pulled (apiDocs among them).
    'recode.trace.server': 'verbose',
    // Offline: no release is downloaded for hover (checked in the cache at the end).
    'recode.apiDocs': false,
    // Nothing that pops up over the editor or reaches for the network.
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'chat.disableAIFeatures': true,
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'git.enabled': false,
    'files.autoSave': 'off',
    'editor.lightbulb.enabled': 'on',
  };
  writeSettings(dirs, settings);
  return dirs;
}

function writeSettings(dirs, changes) {
  const file = join(dirs.userData, 'User', 'settings.json');
  const settings = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  writeFileSync(file, JSON.stringify({ ...settings, ...changes }, null, 2));
}

/** The ReCode output channel as VS Code writes it to disk (server log, stderr and trace). */
function recodeLog(dirs) {
  const logs = join(dirs.userData, 'logs');
  if (!existsSync(logs)) return '';
  const files = readdirSync(logs, { recursive: true }).filter((name) =>
    String(name).endsWith(join('recode.recode', 'ReCode.log')),
  );
  return files.map((name) => readFileSync(join(logs, String(name)), 'utf8')).join('\n');
}

async function waitForLog(dirs, pattern, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(recodeLog(dirs))) {
    if (Date.now() > deadline) throw new Error(`the ReCode log never matched ${pattern}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function installExtension(vsix, dirs) {
  const result = spawnSync(
    NODE24,
    [CODE_SERVER, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions, '--install-extension', vsix],
    { encoding: 'utf8', timeout: 120_000 },
  );
  writeFileSync(join(OUTPUT, 'install-extension.log'), `${result.stdout}\n${result.stderr}`);
  if (result.status !== 0) {
    throw new Error(
      `--install-extension failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  const installed = readdirSync(dirs.extensions).filter((name) => name.startsWith('recode.recode-'));
  if (installed.length === 0) throw new Error(`the extension is not in ${dirs.extensions}:\n${result.stdout}`);
}

function startCodeServer(port, dirs) {
  const args = [
    CODE_SERVER,
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--user-data-dir',
    dirs.userData,
    '--extensions-dir',
    dirs.extensions,
    dirs.project,
  ];
  // Its own process group, so the whole tree (extension host, language server) goes at the end.
  const child = spawn(NODE24, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The server's cache (API docs releases) in the scratch folder, to see what it downloads.
    env: { ...process.env, XDG_CACHE_HOME: join(dirs.root, 'cache') },
  });
  const log = [];
  child.stdout.on('data', (chunk) => log.push(chunk));
  child.stderr.on('data', (chunk) => log.push(chunk));
  child.saveLog = () => writeFileSync(join(OUTPUT, 'code-server.log'), Buffer.concat(log));
  return child;
}

function stopProcessTree(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}

async function screenshot(page, name) {
  const file = join(OUTPUT, name);
  await page.screenshot({ path: file });
  step(`screenshot ${file}`);
}

/** A picture for the README (only with RECODE_E2E_SCREENSHOTS): `target` is a locator or a page clip. */
async function picture(page, name, target) {
  if (PICTURES === undefined) return;
  mkdirSync(PICTURES, { recursive: true });
  const file = join(PICTURES, name);
  if (typeof target.screenshot === 'function') {
    await target.screenshot({ path: file, animations: 'disabled' });
  } else {
    await page.screenshot({ path: file, clip: target, animations: 'disabled' });
  }
  step(`picture ${file} (${statSync(file).size} bytes)`);
}

/** The box around `locator`, widened by `pad` pixels (and kept on the page). */
async function around(page, locator, pad) {
  const box = await locator.boundingBox();
  if (box === null) throw new Error('nothing to take a picture of');
  const size = page.viewportSize();
  const x = Math.max(0, box.x - pad.x);
  const y = Math.max(0, box.y - pad.y);
  return {
    x,
    y,
    width: Math.min(size.width - x, box.width + 2 * pad.x),
    height: Math.min(size.height - y, box.height + 2 * pad.y),
  };
}

async function readEventually(file, expected, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let text = readFileSync(file, 'utf8');
  while (text !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    text = readFileSync(file, 'utf8');
  }
  return text;
}

/** The ReCode status bar item's text (without its icon). */
async function statusText(page) {
  const item = page.locator('.statusbar-item', { hasText: 'ReCode' });
  if ((await item.count()) === 0) return '';
  return (await item.first().innerText()).replace(/\s+/g, ' ').trim();
}

async function waitForStatus(page, pattern, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let text = await statusText(page);
  while (!pattern.test(text)) {
    if (Date.now() > deadline) throw new Error(`the status item never matched ${pattern}; it says ${JSON.stringify(text)}`);
    await new Promise((r) => setTimeout(r, 50));
    text = await statusText(page);
  }
  step(`status item: ${text}`);
  return text;
}

/** The notification toasts on screen, as text. */
async function toasts(page) {
  const all = page.locator('.notification-toast');
  const texts = [];
  for (let i = 0; i < (await all.count()); i += 1) texts.push((await all.nth(i).innerText()).replace(/\s+/g, ' '));
  return texts;
}

/** Lines of the ReCode output channel at error or warning level (or headed so by the language client). */
function problemLines(dirs) {
  return recodeLog(dirs)
    .split('\n')
    .filter((line) => /\[(error|warning)\]|\[(Error|Warn)\s*- /.test(line));
}

async function openFile(page, name, text) {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: name });
  await row.waitFor({ timeout: 60_000 });
  await row.click();
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.locator('.view-lines', { hasText: text }).waitFor({ timeout: 30_000 });
  return editor;
}

/** The quick-fix menu at ``position`` once it lists a row with ``text``: reopened a few times,
 * because a menu opened before the server's diagnostics arrived does not update (a loaded machine).
 * ``position``: ``line:column`` (Ctrl+G), or a function that puts the cursor there. */
async function quickFixMenuWith(page, position, text, attempts = 4) {
  for (let attempt = 1; ; attempt++) {
    const menu = await quickFixMenu(page, position);
    const row = menu.locator('.monaco-list-row', { hasText: text });
    try {
      await row.first().waitFor({ timeout: 15_000 });
      return menu;
    } catch (error) {
      if (attempt >= attempts) throw error;
      step(`quick-fix menu without "${text}" (attempt ${attempt}); reopening`);
      await page.keyboard.press('Escape');
    }
  }
}

async function quickFixMenu(page, position) {
  if (typeof position === 'function') {
    await position();
  } else {
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').waitFor({ timeout: 10_000 });
    await page.keyboard.type(position);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  }
  await page.keyboard.press('Control+.');
  return page.locator('.action-widget', { has: page.locator('.monaco-list-row') });
}

/**
 * totals.ipynb opened as a notebook (VS Code's built-in ipynb support): the finding in its third
 * cell reaches the Problems panel under that cell, the cell's quick fix fixes it, and after a save
 * the file on disk is the notebook as written with only that cell's source changed.
 */
async function checkNotebook(page, dirs) {
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'totals.ipynb' });
  await row.waitFor({ timeout: 60_000 });
  await row.click();
  // The notebook editor itself (the first `.notebook-editor` in the DOM is its pane's placeholder).
  const notebook = page.locator('.notebookOverlay').first();
  // The third cell (by position: its text changes with the fix), once it shows np.float_.
  const cell = notebook.locator('.markdown-cell-row, .code-cell-row').nth(2);
  await cell.locator('.view-lines', { hasText: 'np.float_' }).waitFor({ timeout: 60_000 });
  const cells = await notebook.locator('.markdown-cell-row, .code-cell-row').count();
  step(`totals.ipynb open as a notebook (${cells} cells)`);
  // The server's diagnostic on the third cell, and on no other.
  await cell.locator('.squiggly-error').first().waitFor({ timeout: 90_000 });
  const squiggled = await notebook.locator('.code-cell-row', { has: page.locator('.squiggly-error') }).count();
  if (squiggled !== 1) throw new Error(`expected one cell with a squiggle, found ${squiggled}`);

  // The Problems panel: the row for NPY023 in totals.ipynb, at the line and column within the cell;
  // choosing it goes to the third cell (the notebook's status bar item counts cells).
  await page.keyboard.press('Control+Shift+M');
  const markers = page.locator('.markers-panel');
  const problem = markers.locator('.monaco-list-row', { hasText: 'NPY023' });
  await problem.first().waitFor({ timeout: 30_000 });
  await markers.locator('.monaco-list-row', { hasText: 'totals.ipynb' }).first().waitFor({ timeout: 30_000 });
  const problemText = (await problem.first().innerText()).replace(/\s+/g, ' ');
  step(`notebook problem: ${problemText}`);
  if (!/Use `numpy\.float64`: `numpy\.float_` was removed in NumPy 2\.0.*\[Ln 2, Col 9\]/.test(problemText)) {
    throw new Error(`unexpected problem for the notebook (line 2, column 9 of its cell): ${problemText}`);
  }
  await screenshot(page, 'notebook-problems.png');
  await problem.first().dblclick();
  const cellStatus = page.locator('.statusbar-item', { hasText: /^Cell \d+ of \d+$/ });
  await page.locator('.statusbar-item', { hasText: 'Cell 3 of 3' }).first().waitFor({ timeout: 30_000 });
  step(`the problem goes to the notebook's third cell (${(await cellStatus.first().innerText()).trim()})`);

  // Into the cell's editor, the cursor on np.float_ (line 2, column 10), then Ctrl+.
  const cursorOnFinding = async () => {
    await cell.locator('.view-line', { hasText: 'total = np.float_' }).click();
    await page.keyboard.press('Home');
    for (let i = 0; i < 9; i += 1) await page.keyboard.press('ArrowRight');
  };
  const menu = await quickFixMenuWith(page, cursorOnFinding, 'numpy.float64');
  step(`quick-fix menu (notebook cell): ${(await menu.first().innerText()).replace(/\s+/g, ' ')}`);
  await screenshot(page, 'notebook-quick-fix-menu.png');
  await menu.locator('.monaco-list-row', { hasText: 'numpy.float64' }).first().click();
  await cell.locator('.view-lines', { hasText: 'np.float64(0)' }).waitFor({ timeout: 30_000 });
  step('quick fix applied in the notebook cell');
  await page.keyboard.press('Control+S');
  const onDisk = await readEventually(join(dirs.project, 'totals.ipynb'), NOTEBOOK_FIXED, 20_000);
  await screenshot(page, 'notebook-after-fix.png');
  if (onDisk !== NOTEBOOK_FIXED) {
    writeFileSync(join(OUTPUT, 'totals.ipynb'), onDisk);
    throw new Error(`totals.ipynb on disk is not the notebook with only cell 3 fixed:\n${onDisk}`);
  }
  step('totals.ipynb on disk differs from the notebook written only in cell 3 (source fixed, count cleared)');
  await page.keyboard.press('Escape');
}

/** The conversation with VS Code itself. */
async function drive(page, port, dirs) {
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.project)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  step('workbench loaded');

  // Opening a Python file activates the extension (onLanguage:python).
  const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'mod.py' });
  await row.waitFor({ timeout: 60_000 });
  await row.click();
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.locator('.view-lines', { hasText: 'np.float_' }).waitFor({ timeout: 30_000 });
  step('mod.py open');

  // The server starts, reads pyproject.toml and reports NPY023 on np.float_; the status item names
  // the target it checks against.
  await editor.locator('.squiggly-error').first().waitFor({ timeout: 90_000 });
  await waitForStatus(page, /^ReCode: numpy 2\.0$/, 30_000);
  await page.keyboard.press('Control+Shift+M');
  const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'NPY023' });
  await problem.first().waitFor({ timeout: 30_000 });
  const problemText = (await problem.first().innerText()).replace(/\s+/g, ' ');
  step(`problem: ${problemText}`);
  // The action first (a narrow Problems panel cuts the end off), then the version history.
  if (!/Use `numpy\.float64`: `numpy\.float_` was removed in NumPy 2\.0/.test(problemText)) {
    throw new Error(`unexpected problem text (the action must come first): ${problemText}`);
  }
  await screenshot(page, 'diagnostic.png');
  // The panel down to its last row (the rest is empty).
  const panel = await page.locator('.part.panel').boundingBox();
  const lastRow = await problem.last().boundingBox();
  if (panel !== null && lastRow !== null) {
    const height = lastRow.y + lastRow.height + 12 - panel.y;
    await picture(page, 'problems-panel.png', { x: panel.x, y: panel.y, width: panel.width, height });
  }
  const statusItem = page.locator('.statusbar-item', { hasText: 'ReCode' }).first();
  await picture(page, 'status-item.png', await around(page, statusItem, { x: 160, y: 4 }));

  // Hover on np.float_: the change, its versions and the target, in the hover widget.
  await editor.locator('.view-line', { hasText: 'total' }).click();
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget input').waitFor({ timeout: 10_000 });
  await page.keyboard.type('3:12');
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+I');
  const hover = page.locator('.monaco-hover', { hasText: 'ReCode NPY023' });
  await hover.first().waitFor({ timeout: 30_000 });
  const hoverText = (await hover.first().innerText()).replace(/\s+/g, ' ');
  step(`hover: ${hoverText}`);
  if (!/numpy\.float_ → numpy\.float64 Removed in NumPy 2\.0; target: NumPy 2\.0/.test(hoverText)) {
    throw new Error(`unexpected hover text: ${hoverText}`);
  }
  await screenshot(page, 'hover.png');
  await picture(page, 'hover.png', await around(page, hover.first(), { x: 2, y: 2 }));
  await page.keyboard.press('Escape');

  // Cursor onto np.float_ (line 3, column 9), then the quick-fix menu.
  await editor.locator('.view-line', { hasText: 'total' }).click();
  const menu = await quickFixMenuWith(page, '3:10', 'numpy.float64');
  const fix = menu.locator('.monaco-list-row', { hasText: 'numpy.float64' });
  step(`quick-fix menu: ${(await menu.first().innerText()).replace(/\s+/g, ' ')}`);
  await screenshot(page, 'quick-fix-menu.png');
  await fix.first().click();

  // The edit comes from codeAction/resolve; then save and look at the file itself.
  await editor.locator('.view-lines', { hasText: 'np.float64(0)' }).waitFor({ timeout: 30_000 });
  step('quick fix applied in the editor');
  await page.keyboard.press('Control+S');
  const onDisk = await readEventually(join(dirs.project, 'mod.py'), FIXED, 20_000);
  await screenshot(page, 'after-fix.png');
  if (onDisk !== FIXED) {
    throw new Error(`mod.py on disk is ${JSON.stringify(onDisk)}, expected ${JSON.stringify(FIXED)}`);
  }
  step('mod.py on disk has the fix');
  await page.keyboard.press('Escape');

  // An unsafe fix (np.in1d -> np.isin) with recode.unsafeFixes off: offered, marked unsafe.
  const unsafeEditor = await openFile(page, 'unsafe.py', 'np.in1d');
  await unsafeEditor.locator('.squiggly-error, .squiggly-warning').first().waitFor({ timeout: 60_000 });
  await unsafeEditor.locator('.view-line', { hasText: 'found' }).click();
  const unsafeMenu = await quickFixMenuWith(page, '3:12', '(unsafe)');
  const unsafeFix = unsafeMenu.locator('.monaco-list-row', { hasText: '(unsafe)' });
  const unsafeRows = (await unsafeMenu.first().innerText()).replace(/\s+/g, ' ');
  step(`quick-fix menu (unsafe): ${unsafeRows}`);
  if (!/Replace with .*numpy\.isin.* \(unsafe\)/.test(unsafeRows)) throw new Error(`no unsafe fix offered: ${unsafeRows}`);
  await screenshot(page, 'unsafe-fix-menu.png');
  await unsafeFix.first().click();
  await unsafeEditor.locator('.view-lines', { hasText: 'np.isin(' }).waitFor({ timeout: 30_000 });
  step('unsafe fix applied in the editor');
  await page.keyboard.press('Control+S');
  const unsafeOnDisk = await readEventually(join(dirs.project, 'unsafe.py'), UNSAFE.replace('np.in1d', 'np.isin'), 20_000);
  if (unsafeOnDisk !== UNSAFE.replace('np.in1d', 'np.isin')) {
    throw new Error('unsafe.py on disk does not have the unsafe fix');
  }

  await checkNotebook(page, dirs);

  // The restart command brings up a new server.
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').waitFor({ timeout: 10_000 });
  await page.keyboard.type('ReCode: Restart Server');
  await page
    .locator('.quick-input-list .monaco-list-row', { hasText: 'ReCode: Restart Server' })
    .first()
    .waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await waitForStatus(page, /^ReCode: starting$/, 20_000);
  // A setting changed while the server starts reaches it once it runs.
  mkdirSync(join(dirs.project, '.vscode'), { recursive: true });
  writeFileSync(join(dirs.project, '.vscode', 'settings.json'), JSON.stringify({ 'recode.targets': ['numpy==1.26'] }));
  await waitForLog(dirs, /\(Re\)starting: restart command[\s\S]*Server running/, 60_000);
  step('restarted by the recode.restart command');
  await waitForLog(dirs, /targets (?:.*, )?numpy==1\.26 \(editor setting\)/, 60_000);
  await waitForStatus(page, /^ReCode: numpy 1\.26$/, 30_000);
  // Whether the change came in time to be one (VS Code's settings watcher may be slower than the start).
  const during = /Settings changed while the server started/.test(recodeLog(dirs));
  const how = during ? 'sent after start()' : 'came after the start';
  step(`recode.targets changed while the server started reached it (${how})`);
  // A normal restart leaves nothing at error or warning level in the output channel.
  const afterRestart = problemLines(dirs);
  if (afterRestart.length > 0) throw new Error(`errors or warnings after a restart:\n${afterRestart.join('\n')}`);
  step('output channel clean after the restart');

  // A changed setting reaches the running server through workspace/configuration.
  writeFileSync(join(dirs.project, '.vscode', 'settings.json'), JSON.stringify({ 'recode.targets': ['numpy==2.1'] }));
  await waitForLog(dirs, /targets (?:.*, )?numpy==2\.1 \(editor setting\)/, 60_000);
  step('recode.targets reached the server');
  await waitForStatus(page, /^ReCode: numpy 2\.1$/, 30_000);
  // recode.apiDocs: false is in what the server pulled (the verbose trace shows the answers).
  if (!/"apiDocs": false/.test(recodeLog(dirs))) throw new Error('"apiDocs": false never reached the server');
  step('recode.apiDocs: false reached the server');

  // A changed interpreter restarts the server (the same Python, spelt another way).
  const samePython = `${dirname(PYTHON)}/../${basename(dirname(PYTHON))}/${basename(PYTHON)}`;
  writeFileSync(
    join(dirs.project, '.vscode', 'settings.json'),
    JSON.stringify({ 'recode.targets': ['numpy==2.1'], 'recode.interpreter': samePython }),
  );
  await waitForLog(dirs, /\(Re\)starting: recode\.interpreter changed[\s\S]*Server running/, 60_000);
  step('restarted when recode.interpreter changed');
  await waitForStatus(page, /^ReCode: numpy 2\.1$/, 30_000);
  // No pop-up (the language client once failed to send the change to the stopping server).
  await new Promise((r) => setTimeout(r, 3000));
  const popups = await toasts(page);
  if (popups.length > 0) throw new Error(`pop-ups after a valid interpreter change: ${JSON.stringify(popups)}`);
  if (/Starting server failed|Sending notification \S+ failed/.test(recodeLog(dirs))) {
    throw new Error('the log reports a failed send or start after a valid interpreter change');
  }
  step('no pop-up after a valid interpreter change');

  // A wrong interpreter gets one message that says what to set.
  writeFileSync(
    join(dirs.project, '.vscode', 'settings.json'),
    JSON.stringify({ 'recode.interpreter': join(dirs.root, 'no-such-python') }),
  );
  const toast = page.locator('.notification-toast', { hasText: 'ReCode: the server did not start' });
  await toast.first().waitFor({ timeout: 60_000 });
  step(`error shown: ${(await toast.first().innerText()).replace(/\s+/g, ' ')}`);
  await waitForStatus(page, /^ReCode: failed$/, 10_000);
  await new Promise((r) => setTimeout(r, 3000));
  const shown = await toasts(page);
  if (shown.length !== 1) throw new Error(`expected exactly one message for a bad interpreter, got ${JSON.stringify(shown)}`);
  await screenshot(page, 'bad-interpreter.png');

  // apiDocs is off: no release was downloaded into the server's cache.
  const cache = join(dirs.root, 'cache');
  const downloaded = readdirSync(cache, { recursive: true }).filter((name) => /numpy-\d/.test(String(name)));
  if (downloaded.length > 0) throw new Error(`apiDocs is false, yet the server downloaded: ${downloaded.join(', ')}`);
  step('nothing downloaded with apiDocs: false');
}

async function main() {
  for (const [what, file] of [
    ['Node 24 (npm ci in e2e/)', NODE24],
    ['code-server (npm ci in e2e/)', CODE_SERVER],
    ['Chromium (apt-get install chromium)', CHROMIUM],
    ['the Python with recode-migrate (RECODE_PYTHON)', PYTHON],
  ]) {
    if (!existsSync(file)) throw new Error(`missing ${what}: ${file}`);
  }
  rmSync(OUTPUT, { recursive: true, force: true });
  mkdirSync(OUTPUT, { recursive: true });
  const vsix = newestVsix();
  const dirs = prepareDirs();
  step(`vsix ${vsix}; python ${PYTHON}; scratch ${dirs.root}`);

  installExtension(vsix, dirs);
  step('extension installed');
  const port = await freePort();
  const codeServer = startCodeServer(port, dirs);
  let browser;
  let page;
  const watchdog = setTimeout(() => {
    console.error(`[e2e] timed out after ${TIMEOUT_S}s`);
    codeServer.saveLog();
    stopProcessTree(codeServer);
    process.exit(1);
  }, TIMEOUT_S * 1000);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, () => codeServer.exitCode === null);
    step(`code-server listening on ${port}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await drive(page, port, dirs);
  } catch (error) {
    if (page) await page.screenshot({ path: join(OUTPUT, 'failure.png') }).catch(() => {});
    // The DOM at the failure: what a changed VS Code calls the things the locators look for.
    if (page) await page.content().then((html) => writeFileSync(join(OUTPUT, 'failure.html'), html)).catch(() => {});
    throw error;
  } finally {
    clearTimeout(watchdog);
    await browser?.close().catch(() => {});
    stopProcessTree(codeServer);
    codeServer.saveLog();
    // VS Code's logs hold the ReCode output channel (server stderr and the LSP trace).
    const logs = join(dirs.userData, 'logs');
    if (existsSync(logs)) cpSync(logs, join(OUTPUT, 'vscode-logs'), { recursive: true });
    cpSync(join(dirs.project, 'mod.py'), join(OUTPUT, 'mod.py'));
    rmSync(dirs.root, { recursive: true, force: true });
  }
}

main().then(
  () => {
    step('PASS');
    process.exit(0);
  },
  (error) => {
    console.error(`[e2e] FAIL: ${error instanceof Error ? (error.stack ?? error.message) : error}`);
    console.error(`[e2e] screenshots and logs: ${OUTPUT}`);
    process.exit(1);
  },
);
