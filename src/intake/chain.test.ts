import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { chain } from './chain.ts';

const collect = () => {
  const out: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      out.push(c);
      cb();
    },
  });
  return { w, text: () => Buffer.concat(out).toString() };
};
const upper = () =>
  new Transform({
    transform(c: Buffer, _e, cb) {
      cb(null, Buffer.from(c.toString().toUpperCase()));
    },
  });

test('data flows through every stage; settles once the last has finished', async () => {
  const sink = collect();
  let finals = 0;
  const last = new Writable({
    write(c, _e, cb) {
      sink.w.write(c, cb);
    },
    final(cb) {
      finals++;
      setTimeout(cb, 20); // like the spool's fsync: the chain waits for it
    },
  });
  const started = Date.now();
  await chain(Readable.from(['ab', 'c', 'd']), upper(), new PassThrough(), last);
  assert.ok(Date.now() - started >= 15);
  assert.equal(finals, 1);
  assert.equal(sink.text(), 'ABCD');
});

test('an error in a middle stage rejects with it and destroys every stage', async () => {
  const source = new PassThrough();
  const boom = new Transform({
    transform(_c, _e, cb) {
      cb(Object.assign(new Error('too big'), { code: 552 }));
    },
  });
  const sink = collect();
  const p = chain(source, upper(), boom, sink.w);
  source.write('x');
  await assert.rejects(p, /too big/);
  assert.ok(source.destroyed && boom.destroyed && sink.w.destroyed);
});

test('the last stage failing at the end (a failed fsync) rejects', async () => {
  const last = new Writable({
    write(_c, _e, cb) {
      cb();
    },
    final(cb) {
      cb(new Error('EIO'));
    },
  });
  await assert.rejects(chain(Readable.from(['a']), upper(), last), /EIO/);
});

test('a stage closed before it is done (destroyed without an error) rejects as a premature close', async () => {
  const source = new PassThrough();
  const middle = upper();
  const p = chain(source, middle, collect().w);
  source.write('x');
  setImmediate(() => middle.destroy());
  await assert.rejects(p, { code: 'ERR_STREAM_PREMATURE_CLOSE' });
});
