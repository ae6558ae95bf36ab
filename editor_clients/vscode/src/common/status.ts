/**
 * What the status bar item says (no `vscode` import: unit-tested in plain Node).
 *
 * The server sends `recode/status` when a project's targets are resolved (see
 * recode_lsp/server/settings.py, `status_of`); the extension asks for it with
 * `experimental.recodeStatus` in its client capabilities.
 */

/** The `recode/status` notification's parameters. */
export interface ProjectStatus {
  root: string;
  targets: { library: string; version: string; source: string }[];
  /** "numpy 2.0, pandas 2.2": the targets the project or the editor chose. */
  summary: string;
  problems: string[];
}

export const STATUS_NOTIFICATION = 'recode/status';

export type ServerState =
  | { state: 'starting' }
  | { state: 'running'; project?: ProjectStatus | undefined }
  | { state: 'failed'; reason: string }
  | { state: 'stopped' };

export interface StatusView {
  text: string;
  tooltip: string;
  error: boolean;
}

const SHOW_LOG = 'Click to show the ReCode output.';

export function statusView(state: ServerState): StatusView {
  switch (state.state) {
    case 'starting':
      return { text: '$(sync~spin) ReCode: starting', tooltip: `The ReCode server is starting. ${SHOW_LOG}`, error: false };
    case 'failed':
      return { text: '$(error) ReCode: failed', tooltip: `${state.reason}\n${SHOW_LOG}`, error: true };
    case 'stopped':
      return { text: '$(circle-slash) ReCode: stopped', tooltip: SHOW_LOG, error: false };
    case 'running': {
      const project = state.project;
      if (project === undefined) {
        return { text: '$(check) ReCode', tooltip: `ReCode is running. ${SHOW_LOG}`, error: false };
      }
      const lines = project.targets.map((t) => `${t.library} ${t.version} (${t.source})`);
      const problems = project.problems.length > 0 ? `\n\nProblems:\n${project.problems.join('\n')}` : '';
      return {
        text: `${project.problems.length > 0 ? '$(warning)' : '$(check)'} ReCode: ${project.summary}`,
        tooltip: `ReCode checks ${project.root} against:\n${lines.join('\n')}${problems}\n\n${SHOW_LOG}`,
        error: false,
      };
    }
  }
}

/** The project of `file` (the deepest root that holds it), else the last one reported. */
export function projectFor(projects: ProjectStatus[], file: string | undefined): ProjectStatus | undefined {
  if (file !== undefined) {
    const holding = projects
      .filter((p) => file === p.root || file.startsWith(p.root.endsWith('/') ? p.root : `${p.root}/`))
      .sort((a, b) => b.root.length - a.root.length);
    if (holding[0] !== undefined) {
      return holding[0];
    }
  }
  return projects[projects.length - 1];
}
