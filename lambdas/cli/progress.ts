import yoctoSpinner, { type Spinner } from 'yocto-spinner';

export interface Progress {
  /** Shows what is running now, with the time spent so far once a step passes two seconds. */
  step(message: string): void;
  stop(): void;
}

/** A spinner on an interactive terminal (stderr), silence otherwise, so piped output stays clean. */
export function createProgress(enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { step: () => undefined, stop: () => undefined };
  let spinner: Spinner | undefined;
  let started = 0;
  let timer: NodeJS.Timeout | undefined;
  let current = '';
  const render = () => {
    const seconds = (Date.now() - started) / 1000;
    if (spinner) spinner.text = seconds >= 2 ? `${current} (${seconds.toFixed(0)} s)` : current;
  };
  return {
    step(message) {
      current = message;
      if (!spinner) {
        started = Date.now();
        spinner = yoctoSpinner({ stream: process.stderr }).start(message);
        timer = setInterval(render, 500);
        timer.unref();
      }
      render();
    },
    stop() {
      if (timer) clearInterval(timer);
      spinner?.stop();
      spinner = undefined;
      timer = undefined;
    },
  };
}
