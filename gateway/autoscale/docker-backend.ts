import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import { DependencyError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { encoderState, type Encoder, type ScaleBackend, type WorkerActivity } from './backend.ts';

/** The part of the Docker API the backend uses. */
export type DockerApi = Pick<Dockerode, 'listContainers' | 'createContainer' | 'getContainer'>;

export interface DockerBackendOptions {
  docker: DockerApi;
  /** Where the engine is, for messages: a socket path or DOCKER_HOST. */
  target: string;
  /** The farm's queue: encoders are labelled with it, so two farms on one engine stay apart. */
  queue: string;
  image: string;
  /** host, or a network name. */
  network: string;
  /** SOURCE:TARGET[:ro] bind mounts. */
  mounts: readonly string[];
  /** CPUs per encoder; 0: no limit. */
  cpus: number;
  /** MiB per encoder; 0: no limit. */
  memoryMb: number;
  /** Environment of every encoder (broker URL, queue, idle exit); the instance name is added. */
  env: Readonly<Record<string, string>>;
  logger: Logger;
  now?: () => number;
}

/** First wait after an encoder fails to start; doubled for each failure in a row, up to the max. */
const START_BACKOFF_MS = 5_000;
const START_BACKOFF_MAX_MS = 300_000;

export const ENCODER_ROLE_LABEL = 'proxima.role';
export const ENCODER_QUEUE_LABEL = 'proxima.queue';

/**
 * Encoders as Docker containers labelled `proxima.role=encoder`. Up: create and start. Down:
 * SIGTERM to idle encoders only (a worker that took a job meanwhile finishes it first); busy ones
 * are never stopped. Exited encoders (idle exit, crash) are removed as they are found.
 */
export function createDockerBackend(opts: DockerBackendOptions): ScaleBackend {
  const { docker, logger } = opts;
  const labelFilter = [`${ENCODER_ROLE_LABEL}=encoder`, `${ENCODER_QUEUE_LABEL}=${opts.queue}`];
  /** Encoders sent SIGTERM; they are 'exiting' until they are gone. */
  const stopping = new Set<string>();
  /** Encoders whose worker has registered: an exit after that is not a failure to start. */
  const registered = new Set<string>();
  const now = opts.now ?? Date.now;
  /** Encoders that exit before their worker registers are not started again at once. */
  const startFailures = { count: 0, last: '', retryAt: 0 };

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw dockerError(err, what, opts);
    }
  };

  const removeExited = async (info: Dockerode.ContainerInfo, name: string) => {
    const container = docker.getContainer(info.Id);
    const code = /Exited \((\d+)\)/.exec(info.Status)?.[1];
    if (code !== undefined && code !== '0' && !stopping.has(name)) {
      // An encoder that cannot start (broker unreachable, mount missing) says why in its last
      // lines; 137 is a kill (docker kill, out of memory), whose job returns to the queue.
      const said = await container
        .logs({ stdout: true, stderr: true, tail: 5 })
        .then((buf) => lastLines(Buffer.from(buf), 2))
        .catch(() => '');
      const line = `encoder ${name} exited with code ${code}${said ? `: ${said}` : ''}`;
      logger.warn({ encoder: name, exitCode: Number(code) }, line);
      if (!registered.has(name)) {
        startFailures.count += 1;
        startFailures.last = line;
        const backoff = Math.min(
          START_BACKOFF_MAX_MS,
          START_BACKOFF_MS * 2 ** (startFailures.count - 1),
        );
        startFailures.retryAt = now() + backoff;
      }
    }
    stopping.delete(name);
    registered.delete(name);
    await container.remove({ force: false }).catch((err: unknown) => {
      logger.debug({ err, encoder: name }, 'exited encoder not removed (yet)');
    });
  };

  return {
    kind: 'docker',
    target: opts.target,
    async list(activity: WorkerActivity): Promise<Encoder[]> {
      const found = await call('list encoder containers', () =>
        docker.listContainers({ all: true, filters: { label: labelFilter } }),
      );
      const encoders: Encoder[] = [];
      const present = new Set<string>();
      for (const info of found) {
        const name = (info.Names[0] ?? info.Id).replace(/^\//, '');
        present.add(name);
        switch (info.State) {
          case 'exited':
          case 'dead':
          case 'created': // a start that failed; created again if still wanted
            await removeExited(info, name);
            break;
          case 'removing':
            break;
          default: {
            const state = stopping.has(name) ? 'exiting' : encoderState(name, activity);
            if (state === 'busy' || state === 'idle') {
              registered.add(name);
              startFailures.count = 0;
            }
            encoders.push({ name, state });
          }
        }
      }
      for (const name of stopping) if (!present.has(name)) stopping.delete(name);
      return encoders;
    },
    async scaleTo(desired, encoders) {
      const live = encoders.filter((e) => e.state !== 'exiting');
      if (desired > live.length) {
        const wait = startFailures.retryAt - now();
        if (startFailures.count > 0 && wait > 0) {
          throw new DependencyError(
            'ENCODER_START_FAILED',
            `${startFailures.last} (before its worker started; ${startFailures.count} in a row, next try in ${Math.ceil(wait / 1000)} s)`,
            'fix what the encoder says: docker.broker_url must be reachable from the containers, docker.mounts must exist, docker.image must be an encoder image',
          );
        }
        for (let i = live.length; i < desired; i++) await startEncoder();
        return;
      }
      const surplus = live.length - desired;
      const idle = live.filter((e) => e.state === 'idle').slice(0, surplus);
      for (const e of idle) {
        stopping.add(e.name);
        await call(`stop encoder ${e.name}`, () =>
          docker.getContainer(e.name).kill({ signal: 'SIGTERM' }),
        ).catch((err: unknown) => {
          stopping.delete(e.name);
          throw err;
        });
        logger.info({ encoder: e.name }, 'idle encoder told to stop');
      }
    },
  };

  async function startEncoder(): Promise<void> {
    const name = `proxima-encoder-${opts.queue}-${randomBytes(4).toString('hex')}`;
    const env = { ...opts.env, PROXIMA_ENCODER__INSTANCE: name };
    const container = await call(`create encoder ${name}`, () =>
      docker.createContainer({
        name,
        Image: opts.image,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: { [ENCODER_ROLE_LABEL]: 'encoder', [ENCODER_QUEUE_LABEL]: opts.queue },
        // What `docker stop` (not the scaler) allows before SIGKILL: time to finish a job.
        StopTimeout: 3600,
        HostConfig: {
          NetworkMode: opts.network,
          Binds: [...opts.mounts],
          ...(opts.cpus > 0 ? { NanoCpus: Math.round(opts.cpus * 1e9) } : {}),
          ...(opts.memoryMb > 0 ? { Memory: opts.memoryMb * 1024 * 1024 } : {}),
          RestartPolicy: { Name: 'no' },
        },
      }),
    );
    try {
      await call(`start encoder ${name}`, () => container.start());
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      throw err;
    }
    logger.info({ encoder: name, image: opts.image }, 'encoder started');
  }
}

/**
 * The last lines of a container's log. Without a TTY, Docker frames each chunk with an 8-byte
 * header (stream, 3 zero bytes, big-endian length):
 * https://docs.docker.com/reference/api/engine/version/v1.41/#tag/Container/operation/ContainerAttach
 */
export function lastLines(log: Buffer, count: number): string {
  let text = '';
  let i = 0;
  const framed = log.length >= 8 && log[0]! <= 2 && log[1] === 0 && log[2] === 0 && log[3] === 0;
  if (framed) {
    while (i + 8 <= log.length) {
      const size = log.readUInt32BE(i + 4);
      text += log.subarray(i + 8, i + 8 + size).toString('utf8');
      i += 8 + size;
    }
  } else {
    text = log.toString('utf8');
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' / ');
}

interface ModemError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

/** A Docker failure as one line naming what failed and how to fix it. */
export function dockerError(
  err: unknown,
  what: string,
  opts: Pick<DockerBackendOptions, 'target' | 'image' | 'network'>,
): DependencyError {
  if (err instanceof DependencyError) return err;
  const e = (err ?? {}) as ModemError;
  const detail = (e.json?.message ?? e.message ?? String(err)).trim();
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ETIMEDOUT') {
    return new DependencyError(
      'DOCKER_UNREACHABLE',
      `docker engine not reachable at ${opts.target} (${what}: ${e.code})`,
      'start Docker, mount the socket into the gateway (compose.autoscale.yaml), or set docker.socket',
    );
  }
  if (e.code === 'EACCES' || e.statusCode === 403 || e.statusCode === 401) {
    return new DependencyError(
      'DOCKER_FORBIDDEN',
      `docker engine at ${opts.target} refused the gateway (${what}: ${detail})`,
      "run the gateway as a user in the docker group (or root), or fix the socket's permissions",
    );
  }
  if (e.statusCode === 404 && /image/i.test(detail)) {
    return new DependencyError(
      'DOCKER_IMAGE_MISSING',
      `encoder image ${opts.image} is not on the docker engine (${what})`,
      `build it: docker build -f Dockerfile.encoder -t ${opts.image} . (offline: scripts/build-images.sh), or set docker.image`,
    );
  }
  if (e.statusCode === 404 && /network/i.test(detail)) {
    return new DependencyError(
      'DOCKER_NETWORK_MISSING',
      `docker network ${opts.network} does not exist (${what})`,
      'set docker.network to host or to an existing network (docker network ls)',
    );
  }
  return new DependencyError(
    'DOCKER_FAILED',
    `docker engine at ${opts.target}: ${what} failed (${detail})`,
    'check the engine with docker info and the values under docker: in the config',
  );
}
