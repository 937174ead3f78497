import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { z } from 'zod';
import type { CliContext } from '../context.ts';
import { parseOptions } from '../options.ts';
import { terminalText } from '../terminal-text.ts';

const optionsSchema = z.object({ print: z.boolean().default(false) });

/** An opener that is still running this long has handed the URL over (some wait for the tab). */
const OPENER_WAIT_MS = 3000;
const HEALTH_TIMEOUT_MS = 2000;

export function monCommand(ctx: CliContext): Command {
  return new Command('mon')
    .description('open the web monitor in the default browser (prints its URL where there is none)')
    .option('--print', 'only print the URL')
    .action((opts: unknown, cmd: Command) => ctx.run(cmd, () => runMon(ctx, opts)));
}

/**
 * The page's address: gateway.url as a folder (the page loads its files relative to it), with
 * any user name, password, query or fragment dropped. The token never goes into it: the page
 * asks for it in a form and trades it for a cookie. Pure.
 */
export function monitorUrl(gatewayUrl: string): string {
  const u = new URL(gatewayUrl);
  u.username = '';
  u.password = '';
  u.search = '';
  u.hash = '';
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

/**
 * The program that opens a URL in the default browser here, with the URL as its own argument
 * (never a shell line: no character of the URL can become a command), or null where nobody
 * could see a browser: a Linux or BSD session without a display, or a Mac reached over SSH.
 * Windows: url.dll's handler, because `start` is a cmd.exe builtin and cmd would parse the URL.
 * Pure.
 */
export function browserCommand(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv,
  url: string,
): { command: string; args: string[] } | null {
  if (platform === 'win32') {
    return { command: 'rundll32.exe', args: ['url.dll,FileProtocolHandler', url] };
  }
  if (platform === 'darwin') {
    return env.SSH_CONNECTION || env.SSH_TTY ? null : { command: 'open', args: [url] };
  }
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return null;
  return { command: 'xdg-open', args: [url] };
}

/** Starts the opener detached; resolves to why it failed, or null once it has the URL. */
function launch(command: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsHide: true });
    const done = (why: string | null) => {
      clearTimeout(timer);
      child.removeAllListeners();
      child.unref();
      resolve(why);
    };
    const timer = setTimeout(() => done(null), OPENER_WAIT_MS);
    child.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ENOENT' ? `${command} is not installed` : err.message),
    );
    child.once('exit', (code, signal) =>
      done(code === 0 ? null : `${command} exited with ${code ?? signal}`),
    );
  });
}

async function gatewayAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('v1/health', url), {
      signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
    });
    return res.ok;
  } catch {
    return false;
  }
}

async function runMon(ctx: CliContext, raw: unknown): Promise<number> {
  const opts = parseOptions(optionsSchema, raw, 'mon');
  const { gateway } = ctx.load().loaded.config;
  const url = monitorUrl(gateway.url);
  const { stdout, stderr } = ctx.io;
  if (opts.print) {
    stdout.write(`${url}\n`);
    return 0;
  }
  if (!(await gatewayAnswers(url))) {
    stderr.write(
      `warning: no gateway answers at ${terminalText(url)}; start one with \`proxima up\`, or set gateway.url\n`,
    );
  }
  const opener = browserCommand(process.platform, process.env, url);
  const why = opener ? await launch(opener.command, opener.args) : 'no display here';
  if (why === null) {
    stdout.write(`opened ${terminalText(url)} in the default browser\n`);
  } else {
    stderr.write(`cannot open a browser (${terminalText(why)}); open this address in one:\n`);
    stdout.write(`${url}\n`);
  }
  // Said, never shown: the token is typed into the page's form, not carried by the URL.
  if (gateway.token !== '') stderr.write('the page asks for the gateway token (gateway.token)\n');
  return 0;
}
