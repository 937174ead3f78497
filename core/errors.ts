/**
 * Every error a user can cause or fix carries a stable code and a one-line hint saying how to
 * fix it. The CLI prints `error: <message>` then `hint: <hint>`; the gateway returns both as JSON.
 */
export class ProximaError extends Error {
  readonly code: string;
  readonly hint: string;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number;

  constructor(code: string, message: string, hint: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    this.exitCode = exitCode;
  }
}

/** Bad configuration file, key or environment override. Exit 2. */
export class ConfigError extends ProximaError {
  constructor(message: string, hint: string) {
    super('CONFIG_INVALID', message, hint, 2);
  }
}

/** Bad input from a user or client: a path, a request body, a preset name. */
export class InputError extends ProximaError {
  constructor(code: string, message: string, hint: string) {
    super(code, message, hint, 2);
  }
}

/** Media that cannot be turned into a proxy (corrupt, missing, no video). Never retried. */
export class MediaError extends ProximaError {
  constructor(code: string, message: string, hint: string) {
    super(code, message, hint, 1);
  }
}

/** A dependency that is missing or unreachable (ffmpeg, redis-server, the gateway). */
export class DependencyError extends ProximaError {
  constructor(code: string, message: string, hint: string) {
    super(code, message, hint, 1);
  }
}

export function isProximaError(err: unknown): err is ProximaError {
  return err instanceof ProximaError;
}
