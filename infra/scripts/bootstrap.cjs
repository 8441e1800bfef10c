#!/usr/bin/env node
/*
 * Entry point of `npm start | stop | test | bench | stack` (see package.json).
 *
 * Plain Node without dependencies, because it runs before node_modules exists: it checks the
 * Node version, installs dependencies when node_modules is missing or older than
 * package-lock.json, then runs `node --import tsx infra/scripts/<command>.ts ...args` with the
 * terminal attached, forwards SIGINT/SIGTERM and exits with the child's code.
 * Nothing here reads stdin, so it runs unattended in CI.
 */
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- plain CommonJS on purpose: it runs before node_modules exists */

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const MIN_NODE = [20, 19, 0];
const COMMANDS = ['start', 'stop', 'test', 'bench', 'stack', 'provision'];

function fail(message) {
  console.error(`[bootstrap] ${message}`);
  process.exit(1);
}

function checkNode() {
  const current = process.versions.node.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if (current[i] > MIN_NODE[i]) return;
    if (current[i] < MIN_NODE[i]) fail(`Node.js >= ${MIN_NODE.join('.')} is required, this is ${process.versions.node}`);
  }
}

function mtimeMs(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** npm ci (or npm install without a lockfile) when node_modules is missing or stale. */
function ensureDependencies() {
  const lockfile = path.join(ROOT, 'package-lock.json');
  const modules = path.join(ROOT, 'node_modules');
  // npm rewrites node_modules/.package-lock.json after every install: the best "installed at" stamp.
  const installedAt = mtimeMs(path.join(modules, '.package-lock.json')) ?? mtimeMs(modules);
  const lockedAt = mtimeMs(lockfile);
  if (installedAt !== undefined && (lockedAt === undefined || installedAt >= lockedAt)) return;

  const args = lockedAt === undefined ? ['install'] : ['ci'];
  args.push('--no-audit', '--no-fund');
  const why = installedAt === undefined ? 'node_modules is missing' : 'package-lock.json is newer than node_modules';
  console.log(`[bootstrap] ${why}: npm ${args.join(' ')}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, args, {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    shell: process.platform === 'win32',
  });
  if (result.error) fail(`could not run npm: ${result.error.message}`);
  if (result.status !== 0) fail(`npm ${args[0]} failed (exit ${result.status})`);
}

function main() {
  checkNode();
  const [command, ...args] = process.argv.slice(2);
  if (!COMMANDS.includes(command)) fail(`usage: node infra/scripts/bootstrap.cjs <${COMMANDS.join('|')}> [args...]`);
  const script = path.join('infra', 'scripts', `${command}.ts`);
  if (!fs.existsSync(path.join(ROOT, script))) fail(`${script.split(path.sep).join('/')} does not exist yet`);

  ensureDependencies();

  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    stdio: 'inherit',
    env: process.env,
  });

  // A Ctrl-C in the terminal reaches the child too (same process group); the scripts treat a
  // repeated signal as the same request, so forwarding is safe and covers `kill <this pid>`.
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  process.on('SIGHUP', () => forward('SIGHUP'));

  child.once('error', (err) => fail(`could not start ${script}: ${err.message}`));
  child.once('exit', (code, signal) => {
    if (code !== null) process.exit(code);
    // Killed by a signal: exit the conventional way (128 + signal number).
    const number = os.constants.signals[signal] || 1;
    process.exit(128 + number);
  });
}

main();
