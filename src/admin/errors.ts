/** An operator's mistake: shown as one line (CLI) or a problem response (API), never a trace. */
export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminError';
  }
}
