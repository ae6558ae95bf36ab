import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SettingsWhileStarting } from '../../common/pending';

describe('SettingsWhileStarting', () => {
  it('owes the server the settings when one changed while it started', () => {
    const pending = new SettingsWhileStarting();
    pending.begin();
    pending.note();
    assert.equal(pending.end(), true);
    // Sent once: the next start owes nothing until a setting changes again.
    assert.equal(pending.end(), false);
  });

  it('owes nothing when no setting changed during the start', () => {
    const pending = new SettingsWhileStarting();
    pending.begin();
    assert.equal(pending.end(), false);
  });

  it('ignores changes to a running server (the language client forwards those)', () => {
    const pending = new SettingsWhileStarting();
    pending.note();
    pending.begin();
    assert.equal(pending.end(), false);
    pending.note();
    assert.equal(pending.end(), false);
  });

  it('forgets a change made during a start that was replaced by another start', () => {
    const pending = new SettingsWhileStarting();
    pending.begin();
    pending.note();
    pending.begin();
    assert.equal(pending.end(), false);
  });
});
