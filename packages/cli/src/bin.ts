#!/usr/bin/env node
import { runCli } from './cli.js';
import { ignoreBrokenPipe } from './output.js';

ignoreBrokenPipe();
process.exitCode = await runCli(process.argv);
