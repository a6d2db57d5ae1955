/**
 * What the dashboard shows depends on what the server offers, read from the `features` tokens of
 * `GET /api/v1/health`: a panel or control whose token is missing is not shown at all. Tokens for routes that do
 * not exist yet are named here (and in docs/dashboard.md) so that the server and the dashboard agree on them.
 */
export const FEATURE_TOKENS = {
  /** Extend a sandbox's lifetime (POST /sandboxes/{id}/timeout). */
  extendTimeout: 'sandbox_timeout',
  /** Labels on create and in the list. */
  labels: 'labels',
  /** Start a stopped sandbox. */
  start: 'start',
  /** A terminal on a PTY (xterm.js with resize) instead of line mode over the exec stream. */
  pty: 'pty',
  /** Background processes: list, attach to output, kill. */
  processes: 'processes',
  /** File change events for the file browser. */
  fileWatch: 'file_watch',
  /** Pause and resume a running sandbox. */
  pause: 'pause',
  /** Fork a sandbox into a new one. */
  fork: 'fork',
  /** Isolation runtime per sandbox (`runtime: runc | gvisor`) on create and in the list. */
  runtime: 'runtime_choice',
  /** Egress policy on create. */
  egress: 'egress_policy',
  /** Preview URLs for a sandbox's ports (and public ports on create). */
  preview: 'preview_urls',
  /** Headers the egress proxy adds for a host (secrets on create). */
  secrets: 'egress_secrets',
} as const;

export type Feature = keyof typeof FEATURE_TOKENS;

export class Features {
  readonly #tokens: Set<string>;

  constructor(tokens: readonly string[]) {
    this.#tokens = new Set(tokens);
  }

  has(feature: Feature): boolean {
    return this.#tokens.has(FEATURE_TOKENS[feature]);
  }
}
