import { HEALTH_FILE, HEALTH_MAX_AGE_MS, staleReason } from './health-file.ts';

// HEALTHCHECK of the encoder image. It imports neither config nor broker code, so it starts fast
// and cannot fail for a reason the worker itself does not have.
const reason = staleReason(HEALTH_FILE, HEALTH_MAX_AGE_MS);
if (reason) {
  process.stdout.write(`unhealthy: ${reason}\n`);
  process.exitCode = 1;
}
