import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig, configPath, ConfigError } from './load.ts';

function tempDir(): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'postern-config-')));
}

function inDir<T>(dir: string, fn: () => T): T {
  const before = process.cwd();
  process.chdir(dir);
  try {
    return fn();
  } finally {
    process.chdir(before);
  }
}

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('without a file: the embedded defaults, paths resolved from the working directory', () => {
  const dir = tempDir();
  const { config, source } = inDir(dir, () => loadConfig(undefined, {}));
  assert.equal(source, null);
  assert.equal(config.hostname, os.hostname());
  assert.equal(config.dataDir, path.join(dir, 'data'));
  assert.equal(config.store.kind, 'sqlite');
  assert.equal(config.store.path, path.join(dir, 'data', 'postern.db'));
  assert.deepEqual(
    config.listeners.map((l) => [l.role, l.port]),
    [
      ['submission', 587],
      ['submission', 2525],
      ['submissions', 465],
      ['mx', 25],
    ],
  );
  assert.equal(config.smtp.maxMessageSize, 50 * 1024 * 1024);
  assert.equal(config.smtp.maxRecipients, 100);
  assert.equal(config.smtp.bareLineEndings, 'normalize');
  assert.equal(config.auth.cacheTtlSeconds, 900);
  assert.equal(config.log.level, 'info');
  assert.equal(config.tls.cert, undefined);
  assert.equal(config.tls.key, undefined);
  assert.deepEqual(config.tls.sni, {});
});

test('the default listeners carry every per-listener default (host, limits, timeouts)', () => {
  // The same defaults a listener written in the file gets; without them the per-IP gate and the
  // connection cap of a default installation are silently off and the bind error says "undefined".
  const written = parseConfig({ listeners: [{ role: 'submission', port: 587 }] }).listeners[0];
  const defaults = parseConfig({}).listeners;
  assert.deepEqual(written, {
    role: 'submission',
    port: 587,
    host: '::',
    proxyProtocol: false,
    maxConnectionsPerIp: 50,
    maxConnectionsPerNetwork: 100,
    maxConnections: 1000,
    unauthenticatedShare: 0.5,
    authTimeoutSeconds: 30,
    commandTimeoutSeconds: 30,
    minDataRate: 1024,
    idleTimeoutSeconds: 300,
  });
  for (const l of defaults) {
    assert.equal(l.host, '::', `${l.role}:${l.port} host`);
    assert.equal(l.proxyProtocol, false, `${l.role}:${l.port} proxyProtocol`);
    assert.equal(l.maxConnectionsPerIp, 50, `${l.role}:${l.port} maxConnectionsPerIp`);
    assert.equal(l.maxConnections, 1000, `${l.role}:${l.port} maxConnections`);
    assert.equal(l.idleTimeoutSeconds, 300, `${l.role}:${l.port} idleTimeoutSeconds`);
  }
});

test('./postern.yaml in the working directory is found when nothing else is given', () => {
  const dir = tempDir();
  write(dir, 'postern.yaml', 'hostname: from-cwd.example\n');
  const { config, source } = inDir(dir, () => loadConfig(undefined, {}));
  assert.equal(source, path.join(dir, 'postern.yaml'));
  assert.equal(config.hostname, 'from-cwd.example');
});

test('a file with every example key parses: hostname, dataDir, listeners with role/port/host, tls cert/key', () => {
  const dir = tempDir();
  const file = write(
    dir,
    'postern.yaml',
    [
      'hostname: mail.hoster.example',
      'dataDir: /var/lib/postern',
      'listeners:',
      '  - role: submission',
      '    port: 587',
      '  - role: submission',
      '    port: 2525',
      '    host: 127.0.0.1',
      '  - role: submissions',
      '    port: 465',
      '    host: "::"',
      '  - role: mx',
      '    port: 25',
      '    host: 192.0.2.10',
      'tls:',
      '  cert: /etc/postern/tls/fullchain.pem',
      '  key: /etc/postern/tls/privkey.pem',
      '',
    ].join('\n'),
  );
  const { config, source } = loadConfig(file, {});
  assert.equal(source, file);
  assert.equal(config.hostname, 'mail.hoster.example');
  assert.equal(config.dataDir, '/var/lib/postern');
  assert.equal(config.store.path, '/var/lib/postern/postern.db');
  assert.deepEqual(
    config.listeners.map((l) => ({ role: l.role, port: l.port, host: l.host })),
    [
      { role: 'submission', port: 587, host: '::' },
      { role: 'submission', port: 2525, host: '127.0.0.1' },
      { role: 'submissions', port: 465, host: '::' },
      { role: 'mx', port: 25, host: '192.0.2.10' },
    ],
  );
  assert.equal(config.tls.cert, '/etc/postern/tls/fullchain.pem');
  assert.equal(config.tls.key, '/etc/postern/tls/privkey.pem');
  // unspecified keys keep their defaults
  assert.equal(config.smtp.maxRecipients, 100);
  assert.equal(config.listeners[0].maxConnectionsPerIp, 50);
});

test('every error is listed with its key path, several at once', () => {
  const dir = tempDir();
  const file = write(
    dir,
    'postern.yaml',
    [
      'hostnme: typo.example',
      'listeners:',
      '  - role: submision',
      '    port: 587',
      '  - role: mx',
      '    port: 70000',
      '    prot: 25',
      'smtp:',
      '  maxRecipients: 0',
      '  bareLineEndings: strip',
      'auth:',
      '  cacheTtlSeconds: "ten"',
      '',
    ].join('\n'),
  );
  const err = configError(() => loadConfig(file, {}));
  const problems = err.problems;
  const has = (prefix: string, re?: RegExp) =>
    assert.ok(
      problems.some((p) => p.startsWith(prefix) && (!re || re.test(p))),
      `no problem "${prefix}…" in:\n${problems.join('\n')}`,
    );
  has('(top level): ', /hostnme/);
  has('listeners[0].role: ');
  has('listeners[1].port: ');
  has('listeners[1]: ', /prot/);
  has('smtp.maxRecipients: ');
  has('smtp.bareLineEndings: ');
  has('auth.cacheTtlSeconds: ');
  assert.equal(problems.length, 7, problems.join('\n'));
  // the message names the file and lists each problem on its own line
  assert.ok(err.message.startsWith(`${file}: invalid configuration\n`));
  for (const p of problems) assert.ok(err.message.includes(`\n  - ${p}`));
});

test('tls.cert without tls.key is an error naming tls', () => {
  const err = configError(() => parseConfig({ tls: { cert: '/x/cert.pem' } }));
  assert.ok(
    err.problems.some((p) => /^tls: /.test(p) && /tls\.key/.test(p)),
    err.problems.join('\n'),
  );
});

test('YAML syntax errors and unreadable files are ConfigErrors naming the file', () => {
  const dir = tempDir();
  const bad = write(dir, 'bad.yaml', 'listeners:\n  - role: mx\n   port: 25\n  bad: [\n');
  const e1 = configError(() => loadConfig(bad, {}));
  assert.ok(e1.message.startsWith(bad), e1.message);
  assert.ok(e1.problems.length >= 1);
  const missing = path.join(dir, 'nope.yaml');
  const e2 = configError(() => loadConfig(missing, {}));
  assert.ok(e2.message.startsWith(missing));
  assert.match(e2.problems[0], /ENOENT/);
});

test('an empty file means the defaults', () => {
  const dir = tempDir();
  const file = write(dir, 'postern.yaml', '# nothing here\n');
  const { config, source } = loadConfig(file, {});
  assert.equal(source, file);
  assert.equal(config.listeners.length, 4);
  assert.equal(config.dataDir, path.join(dir, 'data'));
});

test("relative paths are taken from the config file's folder, not the working directory", () => {
  const dir = tempDir();
  const file = write(
    dir,
    'etc/postern/postern.yaml',
    [
      'dataDir: ../../var/postern',
      'tls:',
      '  cert: tls/cert.pem',
      '  key: ./tls/key.pem',
      '  sni:',
      '    Mail.Customer.Example:',
      '      cert: sni/c.pem',
      '      key: /abs/k.pem',
      '',
    ].join('\n'),
  );
  const elsewhere = tempDir();
  const { config } = inDir(elsewhere, () => loadConfig(path.relative(elsewhere, file), {}));
  const etc = path.join(dir, 'etc', 'postern');
  assert.equal(config.dataDir, path.join(dir, 'var', 'postern'));
  assert.equal(config.store.path, path.join(dir, 'var', 'postern', 'postern.db'));
  assert.equal(config.tls.cert, path.join(etc, 'tls', 'cert.pem'));
  assert.equal(config.tls.key, path.join(etc, 'tls', 'key.pem'));
  assert.deepEqual(config.tls.sni, { 'mail.customer.example': { cert: path.join(etc, 'sni', 'c.pem'), key: '/abs/k.pem' } });
});

test("store.path relative to the config file's folder", () => {
  const dir = tempDir();
  const file = write(dir, 'conf/postern.yaml', 'store:\n  path: db/q.sqlite\n');
  const { config } = loadConfig(file, {});
  assert.equal(config.store.path, path.join(dir, 'conf', 'db', 'q.sqlite'));
});

test('POSTERN_CONFIG is used when --config is not given; --config wins over it', () => {
  const dir = tempDir();
  const fromEnv = write(dir, 'env/postern.yaml', 'hostname: from-env.example\ndataDir: spool-here\n');
  const explicit = write(dir, 'explicit.yaml', 'hostname: explicit.example\n');
  write(dir, 'postern.yaml', 'hostname: from-cwd.example\n');
  const env = { POSTERN_CONFIG: fromEnv };
  const a = inDir(dir, () => loadConfig(undefined, env));
  assert.equal(a.source, fromEnv);
  assert.equal(a.config.hostname, 'from-env.example');
  assert.equal(a.config.dataDir, path.join(dir, 'env', 'spool-here'));
  const b = inDir(dir, () => loadConfig(explicit, env));
  assert.equal(b.source, explicit);
  assert.equal(b.config.hostname, 'explicit.example');
  // configPath resolves a relative POSTERN_CONFIG against the working directory
  assert.equal(
    inDir(dir, () => configPath(undefined, { POSTERN_CONFIG: 'env/postern.yaml' })),
    fromEnv,
  );
  // a POSTERN_CONFIG naming a missing file is an error, not a silent fallback to defaults
  const e = configError(() => inDir(dir, () => loadConfig(undefined, { POSTERN_CONFIG: path.join(dir, 'missing.yaml') })));
  assert.match(e.message, /missing\.yaml/);
});

test('settings that depend on each other are checked together', () => {
  assert.throws(
    () => parseConfig({ dkim: { retireDays: 2 }, delivery: { expireDays: 5 } }),
    (e: Error) => /dkim\.retireDays: must be at least delivery\.expireDays \(5\)/.test(e.message),
  );
  assert.equal(parseConfig({ dkim: { retireDays: 5 }, delivery: { expireDays: 5 } }).dkim.retireDays, 5);
});
