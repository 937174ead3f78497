import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-images.sh', import.meta.url));
const REDIS_SCRIPT = fileURLToPath(new URL('../../scripts/build-redis-image.sh', import.meta.url));

export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `docker ...args` to completion; a non-zero exit is a result, not an error. */
export function docker(args: string[], timeoutMs = 120_000): Promise<DockerResult> {
  return runCommand('docker', args, {}, timeoutMs);
}

/**
 * Runs Debian's `docker-compose` (the apt package, installed by .ci/run) in the checkout with
 * extra environment; a non-zero exit is a result, not an error.
 */
export async function dockerCompose(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 300_000,
): Promise<DockerResult> {
  try {
    return await runCommand('docker-compose', args, env, timeoutMs);
  } catch (err) {
    if (err instanceof Error && /could not be started/.test(err.message)) {
      throw new Error(
        `${err.message}: the compose tests need docker-compose (Debian: apt-get install docker-compose, see .ci/run)`,
      );
    }
    throw err;
  }
}

function runCommand(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish in ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not be started: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Throws unless a Docker engine answers. The image tests fail rather than skip without one: a
 * skipped test would let a broken image through CI unnoticed.
 */
export async function dockerAvailable(): Promise<void> {
  let result: DockerResult;
  try {
    result = await docker(['version', '--format', '{{.Server.Version}}'], 30_000);
  } catch (err) {
    throw new Error(
      `docker CLI not usable (${err instanceof Error ? err.message : String(err)}): install docker.io (see .ci/run)`,
    );
  }
  if (result.code !== 0) {
    const where = process.env.DOCKER_HOST || '/var/run/docker.sock';
    throw new Error(
      `docker engine not reachable at ${where}: start dockerd (see .ci/run); docker said: ${result.stderr.trim().split('\n')[0] ?? ''}`,
    );
  }
}

const builds = new Map<string, Promise<string>>();

/**
 * Builds the encoder image with scripts/build-images.sh, once per test process and tag; the
 * layer cache makes it quick when the sources did not change. Resolves to the tag.
 */
export function ensureEncoderImage(tag = 'proxima-encoder:ci'): Promise<string> {
  let build = builds.get(tag);
  if (!build) {
    build = buildEncoderImage(tag);
    builds.set(tag, build);
  }
  return build;
}

async function buildEncoderImage(tag: string): Promise<string> {
  await dockerAvailable();
  const result = await runCommand('bash', [BUILD_SCRIPT], { ENCODER_IMAGE: tag }, 900_000);
  if (result.code !== 0) {
    const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`scripts/build-images.sh failed for ${tag} (exit ${result.code}):\n${tail}`);
  }
  return tag;
}

const redisBuilds = new Map<string, Promise<string>>();

/**
 * Builds a Redis image from the machine's redis-server with scripts/build-redis-image.sh, once
 * per test process and tag, so compose files run where no registry is reachable.
 */
export function ensureRedisImage(tag = 'proxima-redis:ci'): Promise<string> {
  let build = redisBuilds.get(tag);
  if (!build) {
    build = (async () => {
      await dockerAvailable();
      const result = await runCommand('bash', [REDIS_SCRIPT], { REDIS_IMAGE: tag }, 300_000);
      if (result.code !== 0) {
        const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-20).join('\n');
        throw new Error(
          `scripts/build-redis-image.sh failed for ${tag} (exit ${result.code}):\n${tail}`,
        );
      }
      return tag;
    })();
    redisBuilds.set(tag, build);
  }
  return build;
}
