// Ctrl-C (SIGINT) and preemption (SIGTERM from Slurm, Kubernetes, systemd) are
// handled alike: finish the step, checkpoint, exit with a message.

export interface StopRequest {
  /** The signal that asked the run to stop, or null while none has. */
  readonly signal: NodeJS.Signals | null;
  /**
   * Lets the event loop take one turn, then returns `signal`. A training step
   * can run without ever yielding to the event loop (only microtasks), and a
   * signal is only delivered when the loop polls: without this turn a SIGTERM
   * would wait until the run ends.
   */
  poll(): Promise<NodeJS.Signals | null>;
  /** Stops listening (call in a finally). */
  dispose(): void;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Listens for SIGINT and SIGTERM. The first one is recorded (the loop checks
 * `signal` after each step); a second one leaves at once, which is safe
 * because checkpoints are atomic.
 */
export function listenForStop(write: (line: string) => void): StopRequest {
  let signal: NodeJS.Signals | null = null;
  const handler = (received: NodeJS.Signals) => {
    if (signal !== null) process.exit(received === 'SIGINT' ? 130 : 143);
    signal = received;
    write(`\n${received}: finishing this step, saving a checkpoint, then exiting\n`);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    get signal() {
      return signal;
    },
    poll: () => new Promise((resolve) => setImmediate(() => resolve(signal))),
    dispose: () => {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}
