import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { loadConfig, locateConfig } from '../../core/config/load.ts';
import { ConfigError, DependencyError } from '../../core/errors.ts';
import type { CliContext, CliIo } from '../context.ts';
import { printError } from '../print-error.ts';

export function editCommand(ctx: CliContext): Command {
  return new Command('edit')
    .description('open the config file in $VISUAL or $EDITOR, then check it')
    .action((_opts: unknown, cmd: Command) => ctx.run(cmd, () => runEdit(ctx.io)));
}

async function runEdit(io: CliIo): Promise<number> {
  const { file, editor } = locateConfig();
  const argv = editorArgv(editor, process.platform);
  for (;;) {
    await runEditor(argv, file);
    const problem = check(file);
    if (!problem) {
      io.stdout.write(`ok: ${file}\n`);
      return 0;
    }
    // Without a terminal nobody can answer; the file stays as written, the error says what to fix.
    if (!io.stdin.isTTY) throw problem;
    printError(problem, io.stderr);
    if (!(await askReopen(io))) return problem.exitCode;
  }
}

/**
 * The editor's words as an argv (`code --wait` is a command and its option), split on
 * whitespace and never given to a shell. Pure.
 */
export function editorArgv(editor: string, platform: NodeJS.Platform): string[] {
  const words = editor.trim().split(/\s+/).filter(Boolean);
  if (words.length > 0) return words;
  return [platform === 'win32' ? 'notepad' : 'vi'];
}

function runEditor(argv: string[], file: string): Promise<void> {
  const [command, ...args] = argv as [string, ...string[]];
  // Ctrl-C at the terminal is the editor's to handle (vi uses it); it must not end us under it.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, [...args, file], { stdio: 'inherit' });
    child.once('error', (err) =>
      reject(
        new DependencyError(
          'EDITOR_NOT_STARTED',
          `editor ${command} could not be started (${err.message})`,
          'set VISUAL or EDITOR to an editor on PATH, e.g. VISUAL="code --wait"',
        ),
      ),
    );
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else {
        reject(
          new DependencyError(
            'EDITOR_FAILED',
            `editor ${command} ended with ${signal ?? `exit code ${code}`}; ${file} was not checked`,
            'check it with "proxima config validate"',
          ),
        );
      }
    });
  }).finally(() => process.off('SIGINT', ignore));
}

/** The file alone, without PROXIMA_ variables: those are not what the editor changed. */
function check(file: string): ConfigError | undefined {
  try {
    loadConfig({ env: { PROXIMA_CONFIG: file }, create: false });
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

async function askReopen(io: CliIo): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr as NodeJS.WritableStream });
  try {
    const answer = await rl.question('reopen? [Y/n] ');
    return !/^n(o)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
