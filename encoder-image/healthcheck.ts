import { HEALTH_FILE, HEALTH_MAX_AGE_MS, staleReason } from './health-file.ts';

// HEALTHCHECK of the encoder image. It imports neither config nor broker code, so it starts fast
// and cannot fail for a reason the worker itself does not have. An argument names another
// health file (the one main.ts was given with --health-file).
const reason = staleReason(process.argv[2] || HEALTH_FILE, HEALTH_MAX_AGE_MS);
if (reason) {
  process.stdout.write(`unhealthy: ${reason}\n`);
  process.exitCode = 1;
}
