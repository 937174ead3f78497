// `npm run build`: the compiled copy in dist/ (tsc: the gateway and encoder images run it) and
// the command line bundled into a few files in dist/cli-bundle/, because loading ~400 small
// modules is most of what every command a person types waits for at start. Packages that read
// their own files at run time (BullMQ's Lua scripts, pino's worker threads, the ffmpeg
// installers' binaries, native modules under dockerode) stay outside the bundle. The monitor
// page is bundled for browsers into dist/monitor/, which the gateway serves: nothing of it is
// fetched from elsewhere at run time. `node scripts/build.mjs --monitor` builds the page alone.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

const pageSrc = path.join(root, 'gateway', 'monitor', 'page');

/**
 * The monitor page: Preact bundled with the page's code into one script, uPlot into a second
 * one loaded with the chart, the page's and uPlot's styles into one sheet; their names carry a
 * hash of their content, so the gateway can let browsers keep them for good, and index.html,
 * which names them, is never kept. Built beside dist/monitor and moved into place, so a
 * running gateway never serves half a build.
 */
async function buildMonitor() {
  const out = path.join(dist, 'monitor');
  const next = `${out}.next-${process.pid}`;
  rmSync(next, { recursive: true, force: true });
  const result = await build({
    entryPoints: [path.join(pageSrc, 'main.tsx')],
    outdir: next,
    entryNames: '[name]-[hash]',
    // The chart library is its own file, loaded when the chart is first drawn.
    splitting: true,
    chunkNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const built = {};
  for (const file of Object.keys(result.metafile.outputs)) {
    const name = path.basename(file);
    const m = /^main-[A-Z0-9]+\.(js|css)$/.exec(name);
    if (m) built[`main.${m[1]}`] = name;
  }
  const html = readFileSync(path.join(pageSrc, 'index.html'), 'utf8').replace(
    /\{\{(main\.(?:js|css))\}\}/g,
    (_, key) => {
      if (!built[key]) throw new Error(`the page build made no ${key}`);
      return built[key];
    },
  );
  writeFileSync(path.join(next, 'index.html'), html);
  copyFileSync(path.join(pageSrc, 'icon.svg'), path.join(next, 'icon.svg'));
  rmSync(out, { recursive: true, force: true });
  renameSync(next, out);
}

if (process.argv.includes('--monitor')) {
  await buildMonitor();
  process.exit(0);
}

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
await buildMonitor();
writeFileSync(path.join(dist, '.built'), '');
