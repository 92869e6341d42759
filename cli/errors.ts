/** Exit codes (DESIGN.md): 0 all selected objects copied or skipped; 1 some failed; 2 bad usage or input. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Bad usage or bad input, found before anything was written: exit 2 with this message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
