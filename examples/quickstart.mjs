// Quickstart: create a sandbox, run commands, move a file in and out, clean up.
// Run after `npm run build`, with a server up (`burrow serve`): node examples/quickstart.mjs
// BURROW_URL / BURROW_API_KEY select the server; BURROW_IMAGE an image (default: the server's default image).
import { Burrow } from '@burrow/sdk';

const burrow = new Burrow();
const sandbox = await burrow.create({
  timeoutSeconds: 300,
  ...(process.env.BURROW_IMAGE ? { image: process.env.BURROW_IMAGE } : {}),
});
console.log(`created sandbox ${sandbox.id}`);
try {
  // argv, not a shell string...
  const uname = await sandbox.commands.run(['uname', '-s']);
  console.log(`uname: ${uname.stdout.trim()}`);

  // ...and a string runs with sh -c, so pipes work. A non-zero exit code is a result, not an exception.
  const failed = await sandbox.commands.run('echo to stderr >&2; exit 3');
  console.log(`exit code ${failed.exitCode}, stderr: ${failed.stderr.trim()}`);

  await sandbox.files.write('/tmp/hello.txt', 'hello from the host\n');
  const { stdout } = await sandbox.commands.run('cat /tmp/hello.txt | tr a-z A-Z');
  console.log(stdout.trim());

  if (uname.stdout.trim() !== 'Linux' || failed.exitCode !== 3 || stdout.trim() !== 'HELLO FROM THE HOST') {
    throw new Error('unexpected output');
  }
} finally {
  await sandbox.destroy();
  console.log('destroyed');
}
