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
  /** Environment additions for the Python child. */
  env: Record<string, string>;
  /** Where the module was looked for, for the error when it is not there. */
  modulesDir: string;
}

/**
 * Default install paths, per Blackmagic's scripting README (see
 * https://documents.blackmagicdesign.com/UserManuals/DaVinci_Resolve_Scripting_README.txt).
 */
export function defaultScriptPaths(env: ResolveEnv): { api: string; lib: string } {
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
    default:
      return {
        api: '/opt/resolve/Developer/Scripting',
        lib: '/opt/resolve/libs/Fusion/fusionscript.so',
      };
  }
}

/**
 * How to start the bridge: config keys first, then Resolve's own variables, then the OS's
 * default install. Pure: `which` answers whether a program is on PATH.
 */
export function bridgeLaunch(
  config: Config['resolve'],
  env: ResolveEnv,
  which: (program: string) => string | null,
): BridgeLaunch | { missing: 'python'; tried: string[] } {
  const defaults = defaultScriptPaths(env);
  const scriptApi = config.script_api || env.vars.RESOLVE_SCRIPT_API || defaults.api;
  const scriptLib = config.script_lib || env.vars.RESOLVE_SCRIPT_LIB || defaults.lib;
  const p = env.platform === 'win32' ? path.win32 : path.posix;
  const modulesDir = p.join(scriptApi, 'Modules');
  const delimiter = env.platform === 'win32' ? ';' : ':';
  const pythonPath = [modulesDir, ...(env.vars.PYTHONPATH ? [env.vars.PYTHONPATH] : [])].join(
    delimiter,
  );
  const childEnv = {
    RESOLVE_SCRIPT_API: scriptApi,
    RESOLVE_SCRIPT_LIB: scriptLib,
    PYTHONPATH: pythonPath,
    // The bridge speaks UTF-8 JSON whatever the console's code page.
    PYTHONIOENCODING: 'utf-8',
  };
  const base = { scriptApi, scriptLib, env: childEnv, modulesDir };

  if (config.python) return { ...base, python: config.python, pythonArgs: [] };
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
