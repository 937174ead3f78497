import Docker from 'dockerode';
import type { Config } from '../../core/config/schema.ts';
import type { Logger } from '../../core/log.ts';
import type { ScaleBackend } from './backend.ts';
import { createDockerBackend } from './docker-backend.ts';
import { createKubernetesBackend } from './kubernetes-backend.ts';
import type { ScalePolicy } from './policy.ts';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export function scalePolicy(config: Config): ScalePolicy {
  const a = config.autoscale;
  return {
    min: a.min,
    max: a.max,
    jobsPerEncoder: a.jobs_per_encoder,
    scaleUpStep: a.scale_up_step,
    cooldownSeconds: a.cooldown_seconds,
    scaleToZero: a.scale_to_zero,
  };
}

/**
 * The backend config.autoscale.backend names, or null for none. Neither touches its platform
 * here: a problem (no socket, an unreadable kubeconfig) shows on the reconciler's first pass,
 * so the gateway runs and the admin sees why nothing scales.
 */
export function createBackend(
  config: Config,
  brokerUrl: string,
  logger: Logger,
): ScaleBackend | null {
  const kind = config.autoscale.backend;
  if (kind === 'none') return null;
  const log = logger.child({ component: 'autoscale', backend: kind });
  return kind === 'docker'
    ? dockerBackend(config, brokerUrl, log)
    : createKubernetesBackend({ ...config.kubernetes, logger: log });
}

function dockerBackend(config: Config, brokerUrl: string, logger: Logger): ScaleBackend {
  const d = config.docker;
  const target = d.socket || DEFAULT_DOCKER_SOCKET;
  const tcp = /^(tcp|https?):\/\/([^:/]+):(\d+)\/?$/.exec(target);
  const docker = tcp
    ? new Docker({
        protocol: tcp[1] === 'https' ? 'https' : 'http',
        host: tcp[2],
        port: Number(tcp[3]),
      })
    : new Docker({ socketPath: target });
  return createDockerBackend({
    docker,
    target,
    queue: config.broker.queue,
    image: d.image,
    network: d.network,
    mounts: d.mounts,
    cpus: d.cpus,
    memoryMb: d.memory_mb,
    env: encoderEnv(config, d.broker_url || brokerUrl),
    logger,
  });
}

/** What an encoder must agree on with the gateway; the rest are the image's defaults. */
export function encoderEnv(config: Config, brokerUrl: string): Record<string, string> {
  return {
    PROXIMA_BROKER__URL: brokerUrl,
    PROXIMA_BROKER__QUEUE: config.broker.queue,
    PROXIMA_BROKER__JOB_EXPIRES: String(config.broker.job_expires),
    PROXIMA_WORKER__LOCK_SECONDS: String(config.worker.lock_seconds),
    PROXIMA_WORKER__BROKER_WAIT_SECONDS: String(config.worker.broker_wait_seconds),
    PROXIMA_WORKER__CONCURRENCY: '1',
    PROXIMA_WORKER__ATTEMPTS: String(config.worker.attempts),
    PROXIMA_WORKER__DISTINCT_ATTEMPTS: String(config.worker.distinct_attempts),
    PROXIMA_WORKER__STALL_SECONDS: String(config.worker.stall_seconds),
    PROXIMA_WORKER__PROBE_SECONDS: String(config.worker.probe_seconds),
    PROXIMA_PATHS__MTIME_TOLERANCE_SECONDS: String(config.paths.mtime_tolerance_seconds),
    // Where a starting encoder sweeps the temp files of killed attempts: the gateway's root.
    PROXIMA_PATHS__PROXY_ROOT: config.paths.proxy_root,
    PROXIMA_ENCODER__IDLE_EXIT_SECONDS: String(config.encoder.idle_exit_seconds),
    PROXIMA_LOG__LEVEL: config.log.level,
  };
}
