/**
 * Settings changes made while the server starts (no `vscode` import: unit-tested in plain Node).
 *
 * The language client forwards `recode.*` changes only to a running server that has registered for
 * them (recode-lsp does so in `initialized`); a change made between reading the settings for a new
 * server and that moment would depend on the registration's own push. ServerController notes such
 * changes here and sends the current settings once `start()` has finished, so none is lost.
 */
export class SettingsWhileStarting {
  private starting = false;
  private changed = false;

  /** A server is about to be started with the settings as they are now. */
  begin(): void {
    this.starting = true;
    this.changed = false;
  }

  /** A `recode.*` setting changed (one that does not restart the server). */
  note(): void {
    if (this.starting) {
      this.changed = true;
    }
  }

  /** The start finished (or failed): whether the server is owed the current settings. Resets. */
  end(): boolean {
    const owed = this.starting && this.changed;
    this.starting = false;
    this.changed = false;
    return owed;
  }
}
