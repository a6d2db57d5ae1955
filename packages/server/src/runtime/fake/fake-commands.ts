/**
 * The few commands the in-memory runtime understands: enough for the shared contract suite and engine tests
 * (`echo`, `cat`, `true`, `false`, `sleep`, `pwd`, `env`, `printenv`, `id`, `ln -s`, `head -c N /dev/zero`, and `sh -c`
 * scripts of `;`-separated such commands with `exit N` and `>&2`). Anything else exits 127 like a missing command.
 */

export interface CommandContext {
  env: Record<string, string>;
  workdir: string;
  stdin: () => Promise<Buffer>;
  /** The user the command runs as. */
  user: { uid: number; name: string };
  /** A file's bytes, or the error text a command prints (`No such file or directory`, `Permission denied`). */
  readFile: (path: string) => Buffer | string;
  /** Creates a symlink at `path`; an error text on failure. */
  symlink: (target: string, path: string) => string | undefined;
  stdout: (data: Buffer) => void;
  stderr: (data: Buffer) => void;
  sleep: (ms: number) => Promise<void>;
}

type Command = (args: string[], context: CommandContext) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  true: () => Promise.resolve(0),
  false: () => Promise.resolve(1),
  echo: (args, context) => {
    context.stdout(Buffer.from(`${args.join(' ')}\n`));
    return Promise.resolve(0);
  },
  pwd: (_args, context) => {
    context.stdout(Buffer.from(`${context.workdir}\n`));
    return Promise.resolve(0);
  },
  env: (_args, context) => {
    const lines = Object.entries(context.env).map(([key, value]) => `${key}=${value}\n`);
    context.stdout(Buffer.from(lines.join('')));
    return Promise.resolve(0);
  },
  printenv: (args, context) => {
    const value = context.env[args[0] ?? ''];
    if (value === undefined) return Promise.resolve(1);
    context.stdout(Buffer.from(`${value}\n`));
    return Promise.resolve(0);
  },
  sleep: async (args, context) => {
    await context.sleep(Number(args[0] ?? '0') * 1000);
    return 0;
  },
  cat: async (args, context) => {
    if (args.length === 0) {
      context.stdout(await context.stdin());
      return 0;
    }
    for (const path of args) {
      const data = context.readFile(path);
      if (typeof data === 'string') {
        context.stderr(Buffer.from(`cat: ${path}: ${data}\n`));
        return 1;
      }
      context.stdout(data);
    }
    return 0;
  },
  id: (args, context) => {
    const { uid, name } = context.user;
    const line =
      args[0] === '-u'
        ? `${uid}`
        : args[0] === '-un'
          ? name
          : `uid=${uid}(${name}) gid=${uid}(${name}) groups=${uid}(${name})`;
    context.stdout(Buffer.from(`${line}\n`));
    return Promise.resolve(0);
  },
  ln: (args, context) => {
    const [flag, target, path] = args;
    if ((flag !== '-s' && flag !== '-sf') || target === undefined || path === undefined) {
      context.stderr(Buffer.from('ln: only ln -s TARGET LINK is known here\n'));
      return Promise.resolve(1);
    }
    const error = context.symlink(target, path);
    if (error === undefined) return Promise.resolve(0);
    context.stderr(Buffer.from(`ln: ${path}: ${error}\n`));
    return Promise.resolve(1);
  },
  head: (args, context) => {
    if (args[0] === '-c' && args[2] === '/dev/zero') {
      context.stdout(Buffer.alloc(Number(args[1] ?? '0')));
      return Promise.resolve(0);
    }
    return Promise.resolve(2);
  },
};

class Exit {
  constructor(readonly code: number) {}
}

async function runScript(script: string, context: CommandContext): Promise<number> {
  let status = 0;
  for (const statement of script.split(';').map((part) => part.trim())) {
    if (statement === '') continue;
    const words =
      statement.match(/'[^']*'|"[^"]*"|\S+/g)?.map((word) => word.replace(/^['"]|['"]$/g, '')) ?? [];
    const toStderr = words.at(-1) === '>&2';
    if (toStderr) words.pop();
    const [name, ...args] = words;
    if (name === 'exit') throw new Exit(Number(args[0] ?? status));
    const redirected: CommandContext = toStderr ? { ...context, stdout: context.stderr } : context;
    status = await runCommand([name ?? '', ...args], redirected);
  }
  return status;
}

export async function runCommand(argv: string[], context: CommandContext): Promise<number> {
  const [name = '', ...args] = argv;
  if ((name === 'sh' || name === '/bin/sh') && args[0] === '-c') {
    try {
      return await runScript(args[1] ?? '', context);
    } catch (error) {
      if (error instanceof Exit) return error.code;
      throw error;
    }
  }
  const command = COMMANDS[name.split('/').pop() ?? ''];
  if (command === undefined) {
    context.stderr(Buffer.from(`burrow: ${name}: No such file or directory\n`));
    return 127;
  }
  return command(args, context);
}
