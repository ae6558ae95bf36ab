/**
 * Puts what reaches the ReCode output channel at its own level, once timestamped.
 *
 * vscode-languageclient 9 writes everything with `appendLine('[Error - 10:20:30] ...')` and the
 * server's stderr with `append`, so a log channel would show all of it at `[info]` with a second
 * timestamp. This module (no `vscode` import, unit-tested in plain Node) reads the level from those
 * headers and from the server's Python log lines, drops the timestamps, and tones down what is normal:
 * a server that exits with code 0 (a restart or shutdown), and pygls's "Cancel notification for unknown
 * message id" (a cancel that arrived after the answer).
 */

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface Routed {
  level: Level;
  text: string;
}

const CLIENT_HEADER = /^\[(Trace|Debug|Info|Warn|Error)\s*- [^\]]*\] ?(.*)$/s;
// recode_lsp/server/main.py: "%(asctime)s %(levelname)s %(name)s: %(message)s"
const PYTHON_HEADER = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d+)? (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/s;

const CLIENT_LEVELS: Record<string, Level> = {
  // Traces are asked for (`recode.trace.server`): shown at the default level.
  Trace: 'info',
  Debug: 'debug',
  Info: 'info',
  Warn: 'warn',
  Error: 'error',
};
const PYTHON_LEVELS: Record<string, Level> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warn',
  ERROR: 'error',
  CRITICAL: 'error',
};

/** Messages that look alarming and are not. */
function toneDown(routed: Routed): Routed {
  if (/^Server process exited with code 0\.?$/.test(routed.text)) {
    return { level: 'info', text: routed.text };
  }
  if (/Cancel notification for unknown message id/.test(routed.text)) {
    return { level: 'debug', text: routed.text };
  }
  return routed;
}

/** One line the language client wrote with `appendLine` (a `[Level - time]` header, or none). */
export function routeClientLine(line: string): Routed {
  const match = CLIENT_HEADER.exec(line);
  if (match === null) {
    return { level: 'info', text: line };
  }
  return toneDown({ level: CLIENT_LEVELS[match[1] ?? 'Info'] ?? 'info', text: match[2] ?? '' });
}

/**
 * The server's stderr, which arrives in chunks that need not end at a line: whole lines come out,
 * each at the level of the Python log line it belongs to (a traceback's lines at its header's).
 */
export class StderrRouter {
  private pending = '';
  private level: Level = 'info';

  push(chunk: string): Routed[] {
    this.pending += chunk;
    const lines = this.pending.split(/\r?\n/);
    this.pending = lines.pop() ?? '';
    return lines.filter((line) => line.trim() !== '').map((line) => this.route(line));
  }

  /** What is left when the stream ends. */
  flush(): Routed[] {
    const rest = this.pending;
    this.pending = '';
    return rest.trim() === '' ? [] : [this.route(rest)];
  }

  private route(line: string): Routed {
    const match = PYTHON_HEADER.exec(line);
    if (match === null) {
      return { level: this.level, text: line };
    }
    const routed = toneDown({ level: PYTHON_LEVELS[match[1] ?? 'INFO'] ?? 'info', text: match[2] ?? '' });
    this.level = routed.level;
    return routed;
  }
}
