// Background processes, a terminal and file watching.
// Run after `npm run build`, with a server up: node examples/processes.mjs
import { Burrow } from '@burrow/sdk';

const burrow = new Burrow();
const sandbox = await burrow.create({
  ...(process.env.BURROW_IMAGE ? { image: process.env.BURROW_IMAGE } : {}),
});
try {
  // A web server in the background: it keeps running after this call, and after this client is gone.
  const web = await sandbox.processes.start(['python3', '-u', '-m', 'http.server', '8000'], { tag: 'web' });
  console.log(`started ${web.id} (pid ${web.pid})`);
  await sandbox.commands.run(
    'for i in 1 2 3 4 5 6 7 8 9 10; do python3 -c "import urllib.request as u; u.urlopen(\'http://127.0.0.1:8000/\')" && break; sleep 0.2; done',
  );
  const { stdout, stderr } = await sandbox.processes.output(web.id);
  process.stdout.write(`its output so far:\n${stdout}${stderr}`);
  console.log(`killed, exit code ${(await sandbox.processes.kill(web.id)).exitCode}`);

  // A terminal: keystrokes in, screen bytes out.
  let screen = '';
  const term = await sandbox.pty.create({
    cmd: ['python3', '-i', '-q'],
    cols: 100,
    rows: 30,
    onData: (bytes) => (screen += new TextDecoder().decode(bytes)),
  });
  term.write('import os; print(os.get_terminal_size())\r');
  term.write('exit()\r');
  const { exitCode } = await term.wait();
  console.log(
    `python3 on a terminal said ${/os.terminal_size\([^)]*\)/.exec(screen)?.[0]}, exit ${exitCode}`,
  );

  // File changes as they happen.
  await sandbox.files.mkdir('/tmp/watched');
  const watch = await sandbox.files.watch('/tmp/watched');
  await sandbox.commands.run('cd /tmp/watched && echo hi > a.txt && mv a.txt b.txt && rm b.txt');
  for await (const event of watch) {
    if (event.type === 'overflow') continue;
    console.log(`${event.kind} ${event.path}`);
    if (event.kind === 'remove') break;
  }

  if (!stdout.includes('Serving HTTP') || !screen.includes('columns=100') || exitCode !== 0)
    throw new Error('unexpected result');
} finally {
  await sandbox.destroy();
}
