import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DOCUMENT_SELECTOR } from '../../common/constants';

/**
 * VS Code's own rule (`languages.match`) for the filters used here, in short: every field a filter
 * names must hold; `notebook` (notebookType) holds only for a cell of such a notebook.
 */
function matches(
  filter: { scheme?: string; language?: string; notebook?: string },
  document: { scheme: string; language: string; notebookType?: string },
): boolean {
  if (filter.scheme !== undefined && filter.scheme !== document.scheme) return false;
  if (filter.language !== undefined && filter.language !== '*' && filter.language !== document.language) return false;
  if (filter.notebook !== undefined) {
    if (document.notebookType === undefined) return false;
    if (filter.notebook !== '*' && filter.notebook !== document.notebookType) return false;
  }
  return true;
}

const served = (document: { scheme: string; language: string; notebookType?: string }): boolean =>
  DOCUMENT_SELECTOR.some((filter) => matches(filter, document));

describe('DOCUMENT_SELECTOR', () => {
  it('serves Python files', () => {
    assert.equal(served({ scheme: 'file', language: 'python' }), true);
  });

  it("serves a notebook's Python cells, so the lightbulb on a cell asks the server", () => {
    const cell = { scheme: 'vscode-notebook-cell', language: 'python', notebookType: 'jupyter-notebook' };
    assert.equal(served(cell), true);
  });

  it('leaves out other languages, in files and in cells', () => {
    assert.equal(served({ scheme: 'file', language: 'markdown' }), false);
    const markdownCell = { scheme: 'vscode-notebook-cell', language: 'markdown', notebookType: 'jupyter-notebook' };
    assert.equal(served(markdownCell), false);
    assert.equal(served({ scheme: 'untitled', language: 'python' }), false);
  });
});
