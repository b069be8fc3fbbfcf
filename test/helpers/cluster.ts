/**
 * Two Postern nodes (real `postern serve` processes) on one PostgreSQL schema, for the cluster
 * tests: each with its own data folder and nodeName, one shared secrets key.
 */
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { makeWorkspace, runCli, serveYaml, freePorts, startServe, ok, type Workspace, type ServeProcess } from './cli.ts';
import type { TestSchema } from './pg.ts';

export const PASSWORD = 'alice-Cluster-pw-7';
export const cleanups: (() => Promise<unknown> | unknown)[] = [];

export interface Node {
  ws: Workspace;
  port: number;
  proc: ServeProcess;
}

/** A node's workspace: its own data folder, the shared store and the shared secrets key. */
export function nodeWorkspace(name: string, port: number, db: TestSchema, keyFile: string, extra = ''): Workspace {
  const ws = makeWorkspace(
    serveYaml(
      [{ role: 'submission', port }],
      [
        `nodeName: ${name}`,
        'store:',
        '  kind: postgres',
        `  url: ${db.url}`,
        `  schema: ${db.schema}`,
        'secrets:',
        `  keyFile: ${keyFile}`,
        'auth:',
        '  failureDelayMs: 0',
        '  maxFailures: 3',
        '  knownIpDays: 0', // the lock applies to the network this test logged in from before
        extra,
      ].join('\n'),
    ),
    `postern-cluster-${name}-`,
  );
  cleanups.push(() => fs.rmSync(ws.dir, { recursive: true, force: true }));
  return ws;
}

export async function cluster(db: TestSchema, extra = ''): Promise<{ a: Workspace; b: Workspace; ports: number[]; keyDir: string }> {
  const ports = await freePorts(2);
  const keyDir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'postern-cluster-key-'));
  cleanups.push(() => fs.rmSync(keyDir, { recursive: true, force: true }));
  const keyFile = path.join(keyDir, 'secrets.key');
  return {
    a: nodeWorkspace('node-a', ports[0], db, keyFile, extra),
    b: nodeWorkspace('node-b', ports[1], db, keyFile, extra),
    ports,
    keyDir,
  };
}

export async function provision(ws: Workspace): Promise<void> {
  ok(await runCli(ws, ['customer', 'add', 'acme']), 'customer add');
  ok(await runCli(ws, ['domain', 'add', 'example.com', '--customer', 'acme']), 'domain add');
  ok(await runCli(ws, ['mailbox', 'add', 'alice@example.com', '--password-stdin'], { input: `${PASSWORD}\n` }), 'mailbox add');
}

export async function serve(ws: Workspace): Promise<ServeProcess> {
  const p = await startServe(ws, 1);
  cleanups.push(() => p.stop());
  return p;
}

export function transport(port: number, pass = PASSWORD, user = 'alice@example.com') {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    requireTLS: true,
    auth: { user, pass },
    tls: { rejectUnauthorized: false },
  });
}

/** Sends one message on its own connection; the SMTP reply code of the outcome (250 when accepted). */
export async function send(port: number, i: number): Promise<number> {
  const t = transport(port);
  try {
    await t.sendMail({ from: 'alice@example.com', to: `r${i}@remote.test`, subject: `burst ${i}`, text: `message ${i}` });
    return 250;
  } catch (err) {
    return (err as { responseCode?: number }).responseCode ?? 0;
  } finally {
    t.close();
  }
}

export async function login(port: number, pass: string): Promise<{ ok: boolean; reply: string }> {
  const t = transport(port, pass);
  try {
    await t.verify();
    return { ok: true, reply: '' };
  } catch (err) {
    return { ok: false, reply: String((err as { response?: string }).response ?? (err as Error).message) };
  } finally {
    t.close();
  }
}
