import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';

/**
 * A user's setup under `root`: `config` written to root/config.yaml and the environment that
 * points the command line at it (and its state and config folders at root), without any
 * PROXIMA_ variable of the shell the bench runs in.
 */
export function userEnv(root: string, config: Record<string, unknown>): NodeJS.ProcessEnv {
  const configFile = path.join(root, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PROXIMA_')) env[k] = v;
  return Object.assign(env, {
    PROXIMA_CONFIG: configFile,
    XDG_STATE_HOME: path.join(root, 'state'),
    XDG_CONFIG_HOME: path.join(root, 'config'),
  });
}
