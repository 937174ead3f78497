// `npm run build`: the compiled copy in dist/ (tsc: the gateway and encoder images run it) and
// the command line bundled into a few files in dist/cli-bundle/, because loading ~400 small
// modules is most of what every command a person types waits for at start. Packages that read
// their own files at run time (BullMQ's Lua scripts, pino's worker threads, the ffmpeg
// installers' binaries, native modules under dockerode) stay outside the bundle.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');

const EXTERNAL = [
  'bullmq',
  'ioredis',
  'pino',
  'pino-pretty',
  'dockerode',
  '@kubernetes/client-node',
  'tsx',
  '@ffmpeg-installer/*',
  '@ffprobe-installer/*',
  'ffmpeg-static',
];

/**
 * zod's index of every language it can word its messages in is half of zod's size in the bundle,
 * and each command would compile it; its messages are English (zod's default), so the index
 * resolves to the English one alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), '..', 'locales', 'en.js') }
        : undefined,
    );
  },
};

rmSync(dist, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
await build({
  entryPoints: [path.join(root, 'cli', 'main.ts')],
  outdir: path.join(dist, 'cli-bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: true,
  // Less text for every command to read and compile at start; names stay for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [zodEnglishOnly],
  logLevel: 'warning',
  // The bundled CommonJS packages call require() for Node's own modules.
  banner: {
    js: "import { createRequire as __proximaRequire } from 'node:module'; const require = __proximaRequire(import.meta.url);",
  },
});
writeFileSync(path.join(dist, '.built'), '');
