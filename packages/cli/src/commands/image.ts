import { InvalidArgumentError, type Command } from 'commander';
import { printJson } from '../client.js';
import { formatBytes, formatDuration, formatTable } from '../parse.js';

/** The server's DEFAULT_IMAGE and CODE_INTERPRETER_IMAGE, repeated so that `--help` does not load the server. */
const DEFAULT_IMAGE = 'burrow/default:latest';
const CODE_INTERPRETER_IMAGE = 'burrow/code-interpreter:latest';

export function registerImage(program: Command): void {
  const image = program.command('image').description('build and list the sandbox images Burrow makes');
  image
    .command('build')
    .argument(
      '[name]',
      `which image: default (${DEFAULT_IMAGE}) or code-interpreter (${CODE_INTERPRETER_IMAGE})`,
    )
    .description(`build one of Burrow's images (default: ${DEFAULT_IMAGE} from images/default/Dockerfile)`)
    .option('--force', 'rebuild even if the image exists')
    .option('--verbose', "print the build's own output instead of the progress line")
    .addHelpText(
      'after',
      `
It builds FROM debian:bookworm-slim when a registry answers, otherwise FROM a Debian base made locally with
debootstrap (needs root and the debootstrap package). With sandbox.default_image_context set, it builds
sandbox.default_image from that directory's Dockerfile instead. code-interpreter is the image of E2B's
code-interpreter-v1 template (images/code-interpreter: Python, Jupyter kernels, numpy, pandas, matplotlib; about
four minutes). On a terminal one line shows the step, the package apt is on and the time; elsewhere a line every
15 s.

Examples:
  burrow image build --force
  burrow image build code-interpreter`,
    )
    .action(async (name: string | undefined, flags: { force?: boolean; verbose?: boolean }) => {
      const which = name ?? 'default';
      if (which !== 'default' && which !== 'code-interpreter') {
        throw new InvalidArgumentError(`unknown image "${which}": use default or code-interpreter`);
      }
      const { createLogger, ensureDefaultImage, loadConfig } = await import('@burrow/server');
      const { terminalProgress } = await import('../terminal-progress.js');
      const config = loadConfig();
      const logger = createLogger(config, process.stderr);
      const context = which === 'default' ? config.sandbox.default_image_context : '';
      const target =
        which === 'code-interpreter'
          ? CODE_INTERPRETER_IMAGE
          : context === ''
            ? DEFAULT_IMAGE
            : config.sandbox.default_image;
      const progress = flags.verbose === true ? undefined : terminalProgress();
      await ensureDefaultImage({
        image: target,
        logger,
        force: flags.force === true,
        context,
        ...(which === 'code-interpreter' ? { recipe: 'code-interpreter' } : {}),
        ...(progress === undefined ? {} : { progress }),
        ...(flags.verbose === true ? { onOutput: (line: string) => process.stdout.write(`${line}\n`) } : {}),
      });
      process.stdout.write(`${target} is ready\n`);
    });
  image
    .command('ls')
    .alias('list')
    .description(
      'list the images Burrow made (default image, Debian base, snapshots, test images), with sizes',
    )
    .option('--json', 'print a JSON array')
    .addHelpText(
      'after',
      `
Reads the local Docker engine (DOCKER_HOST), not the server: snapshots of every data directory are listed.

Example:
  burrow image ls`,
    )
    .action(async (flags: { json?: boolean }) => {
      const { listMadeImages } = await import('@burrow/server');
      const made = await listMadeImages();
      if (flags.json === true) {
        printJson(made.map((entry) => ({ ...entry, created: entry.created.toISOString() })));
        return;
      }
      const now = Date.now();
      const rows = made.map((entry) => [
        entry.image,
        entry.id,
        entry.kind,
        formatBytes(entry.size),
        `${formatDuration(now - entry.created.getTime())} ago`,
      ]);
      process.stdout.write(formatTable(['IMAGE', 'ID', 'KIND', 'SIZE', 'CREATED'], rows));
    });
}
