// Streaming: live output, writing to stdin, and stopping a command.
// Run after `npm run build`, with a server up: node examples/streaming.mjs
import { Burrow } from '@burrow/sdk';

const burrow = new Burrow();
const sandbox = await burrow.create({
  ...(process.env.BURROW_IMAGE ? { image: process.env.BURROW_IMAGE } : {}),
});
try {
  // Output arrives as it is produced.
  const counted = await sandbox.commands.run('for i in 1 2 3; do echo tick $i; sleep 0.2; done', {
    onStdout: (chunk) => process.stdout.write(chunk),
  });

  // A stream with stdin open: write, then end.
  const cat = await sandbox.commands.stream(['cat'], { stdin: true });
  cat.stdin.write('line one\n');
  cat.stdin.write('line two\n');
  cat.stdin.end();
  for await (const event of cat) {
    if (event.type === 'stdout') process.stdout.write(`cat says: ${event.data}`);
    if (event.type === 'exit') console.log(`cat exited with ${event.exitCode}`);
  }

  // Stop a long command with a signal.
  const sleeper = await sandbox.commands.stream(['sleep', '60']);
  setTimeout(() => sleeper.kill('SIGTERM'), 300);
  const { exitCode } = await sleeper.wait();
  console.log(`sleep was stopped, exit code ${exitCode}`);

  if (counted.stdout.split('\n').filter(Boolean).length !== 3 || exitCode === 0)
    throw new Error('unexpected result');
} finally {
  await sandbox.destroy();
}
