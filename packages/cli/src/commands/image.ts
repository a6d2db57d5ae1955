import type { Command } from 'commander';

/** The server's DEFAULT_IMAGE, repeated so that `--help` does not load the server package. */
const DEFAULT_IMAGE = 'burrow/default:latest';

export function registerImage(program: Command): void {
  const image = program.command('image').description('manage sandbox images');
  image
    .command('build')
    .description(`build the default sandbox image (${DEFAULT_IMAGE}) from images/default/Dockerfile`)
    .option('--force', 'rebuild even if the image exists')
    .addHelpText(
      'after',
      `
It builds FROM debian:bookworm-slim when a registry answers, otherwise FROM a Debian base made locally with
debootstrap (needs root and the debootstrap package). Build output is streamed.

Example:
  burrow image build --force`,
    )
    .action(async (flags: { force?: boolean }) => {
      const { createLogger, ensureDefaultImage, loadConfig } = await import('@burrow/server');
      const config = loadConfig();
      const logger = createLogger(config);
      await ensureDefaultImage({
        image: DEFAULT_IMAGE,
        logger,
        force: flags.force === true,
        onProgress: (line) => process.stdout.write(line),
      });
      process.stdout.write(`${DEFAULT_IMAGE} is ready\n`);
    });
}
