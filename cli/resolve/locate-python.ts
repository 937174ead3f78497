import path from 'node:path';
import type { ResolveEnv } from '../../core/config/load.ts';
import type { Config } from '../../core/config/schema.ts';

export interface BridgeLaunch {
  /** The Python executable and the arguments before the bridge script. */
  python: string;
  pythonArgs: string[];
  /** Blackmagic's scripting folder; its Modules/ holds DaVinciResolveScript.py. */
  scriptApi: string;
  scriptLib: string;
  /**
   * What the bridge sets in its own environment before importing the module: PYTHONPATH
   * (Modules first), RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB. Passed as NAME=VALUE arguments so
   * the child otherwise inherits the caller's environment untouched.
   */
  env: Record<'PYTHONPATH' | 'RESOLVE_SCRIPT_API' | 'RESOLVE_SCRIPT_LIB', string>;
  /** Where the module was looked for, for the error when it is not there. */
  modulesDir: string;
}

export interface PythonMissing {
  missing: 'python';
  /** The programs looked for on PATH, or the configured resolve.python. */
  tried: string[];
}

/**
 * Default install paths from Blackmagic's scripting README. Linux installs live in /opt/resolve
 * or, for some packagings, /home/resolve: the first one present wins, /opt/resolve otherwise.
 */
export function defaultScriptPaths(
  env: ResolveEnv,
  exists: (p: string) => boolean,
): { api: string; lib: string } {
  switch (env.platform) {
    case 'darwin':
      return {
        api: '/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting',
        lib: '/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so',
      };
    case 'win32': {
      const programData = env.vars.PROGRAMDATA ?? 'C:\\ProgramData';
      const programFiles = env.vars.PROGRAMFILES ?? 'C:\\Program Files';
      return {
        api: path.win32.join(
          programData,
          'Blackmagic Design',
          'DaVinci Resolve',
          'Support',
          'Developer',
          'Scripting',
        ),
        lib: path.win32.join(
          programFiles,
          'Blackmagic Design',
          'DaVinci Resolve',
          'fusionscript.dll',
        ),
      };
    }
    default: {
      const root =
        ['/opt/resolve', '/home/resolve'].find((r) => exists(`${r}/Developer/Scripting`)) ??
        '/opt/resolve';
      return { api: `${root}/Developer/Scripting`, lib: `${root}/libs/Fusion/fusionscript.so` };
    }
  }
}

/**
 * How to start the bridge: config keys first, then Resolve's own variables, then the OS's
 * default install. Pure: `which` finds a program on PATH, `exists` tells whether a path exists.
 */
export function bridgeLaunch(
  config: Config['resolve'],
  env: ResolveEnv,
  which: (program: string) => string | null,
  exists: (p: string) => boolean,
): BridgeLaunch | PythonMissing {
  const p = env.platform === 'win32' ? path.win32 : path.posix;
  const scriptApi =
    config.script_api || env.vars.RESOLVE_SCRIPT_API || defaultScriptPaths(env, exists).api;
  const scriptLib =
    config.script_lib || env.vars.RESOLVE_SCRIPT_LIB || defaultScriptPaths(env, exists).lib;
  const modulesDir = p.join(scriptApi, 'Modules');
  const delimiter = env.platform === 'win32' ? ';' : ':';
  const pythonPath = [modulesDir, ...(env.vars.PYTHONPATH ? [env.vars.PYTHONPATH] : [])].join(
    delimiter,
  );
  const base = {
    scriptApi,
    scriptLib,
    env: { PYTHONPATH: pythonPath, RESOLVE_SCRIPT_API: scriptApi, RESOLVE_SCRIPT_LIB: scriptLib },
    modulesDir,
  };

  if (config.python) {
    // A bare name ("python3.11") is looked up on the same PATH as the defaults.
    const bare = !config.python.includes('/') && !config.python.includes('\\');
    const found = bare ? which(config.python) : config.python;
    if (!found) return { missing: 'python', tried: [config.python] };
    return { ...base, python: found, pythonArgs: [] };
  }
  // `py -3` first on Windows: `python` there may be the Microsoft Store's installer stub.
  const candidates: [string, string[]][] =
    env.platform === 'win32'
      ? [
          ['py', ['-3']],
          ['python', []],
          ['python3', []],
        ]
      : [
          ['python3', []],
          ['python', []],
        ];
  for (const [program, args] of candidates) {
    const found = which(program);
    if (found) return { ...base, python: found, pythonArgs: args };
  }
  return { missing: 'python', tried: candidates.map(([program]) => program) };
}

/** The bridge's command-line arguments after the script: its environment as NAME=VALUE. */
export function bridgeArgs(launch: BridgeLaunch): string[] {
  return Object.entries(launch.env).map(([name, value]) => `${name}=${value}`);
}
