/** Conformance cases: sites (token lookup, grants, hold, spam counter) and DKIM keys. */
import assert from 'node:assert/strict';
import type { DkimKey, DkimKeyState } from '../../core/index.ts';
import { conflict, HOUR, hourOf, seed, sorted, T0, type Case } from './harness.ts';

export const siteCases: Case[] = [
  {
    name: 'sites: add, get, byId, byTokenHash, list, setTokenHash, remove; name and unix user conflicts',
    async run({ store }) {
      const { acme, other } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: 'www-shop', tokenHash: 'hash-shop' });
      assert.deepEqual(shop, {
        id: shop.id,
        name: 'shop',
        customerId: acme.id,
        customerName: 'acme',
        customerStatus: 'active',
        unixUser: 'www-shop',
        heldSince: null,
        holdReason: null,
        releasedAt: null,
        createdAt: shop.createdAt,
        updatedAt: shop.createdAt,
      });
      assert.equal(typeof shop.id, 'number');
      assert.equal(typeof shop.createdAt, 'number');
      const blog = await store.sites.add({ name: 'blog', customerId: other.id, unixUser: null, tokenHash: 'hash-blog' });
      await store.sites.add({ name: 'cron', customerId: acme.id, unixUser: null, tokenHash: 'hash-cron' }); // two sites without a unix user
      assert.deepEqual(await store.sites.get('shop'), shop);
      assert.deepEqual(await store.sites.byId(shop.id), shop);
      assert.deepEqual(await store.sites.byTokenHash('hash-shop'), shop);
      assert.equal((await store.sites.byTokenHash('hash-blog'))!.customerName, 'other');
      assert.equal(await store.sites.get('nope'), null);
      assert.equal(await store.sites.byId(999_999), null);
      assert.equal(await store.sites.byTokenHash('nope'), null);
      assert.deepEqual(
        (await store.sites.list()).map((s) => s.name),
        ['blog', 'cron', 'shop'],
      );
      assert.deepEqual(
        (await store.sites.list('acme')).map((s) => s.name),
        ['cron', 'shop'],
      );
      assert.deepEqual(await store.sites.list('nobody'), []);
      await conflict(store.sites.add({ name: 'shop', customerId: other.id, unixUser: null, tokenHash: 'hash-x' }), /shop/);
      await conflict(store.sites.add({ name: 'shop2', customerId: acme.id, unixUser: 'www-shop', tokenHash: 'hash-y' }), /www-shop/);
      await assert.rejects(
        store.sites.add({ name: 'shop3', customerId: acme.id, unixUser: null, tokenHash: 'hash-shop' }),
        'a token hash is unique',
      );
      assert.deepEqual(
        (await store.sites.list()).map((s) => s.name),
        ['blog', 'cron', 'shop'],
        'the refusals stored nothing',
      );

      const rotated = await store.sites.setTokenHash('shop', 'hash-new');
      assert.ok(rotated);
      assert.equal(rotated.id, shop.id);
      assert.ok(rotated.updatedAt > shop.updatedAt);
      assert.equal(rotated.createdAt, shop.createdAt);
      assert.equal(await store.sites.byTokenHash('hash-shop'), null, 'the old token no longer works');
      assert.equal((await store.sites.byTokenHash('hash-new'))!.name, 'shop');
      assert.equal(await store.sites.setTokenHash('nope', 'hash-z'), null);

      assert.equal(await store.sites.remove('blog'), true);
      assert.equal(await store.sites.remove('blog'), false);
      assert.equal(await store.sites.get('blog'), null);
      assert.equal(await store.sites.byId(blog.id), null);
      assert.equal(await store.sites.byTokenHash('hash-blog'), null);
    },
  },
  {
    name: 'sites: grants (false when present or absent) are removed with their site',
    async run({ store }) {
      const { acme } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-shop' });
      const cron = await store.sites.add({ name: 'cron', customerId: acme.id, unixUser: null, tokenHash: 'h-cron' });
      assert.deepEqual(await store.sites.grants(shop.id), []);
      assert.equal(await store.sites.addGrant({ siteId: shop.id, kind: 'domain', value: 'example.com' }), true);
      assert.equal(await store.sites.addGrant({ siteId: shop.id, kind: 'address', value: 'shop@example.com' }), true);
      assert.equal(await store.sites.addGrant({ siteId: shop.id, kind: 'address', value: 'shop@example.com' }), false);
      assert.equal(await store.sites.addGrant({ siteId: cron.id, kind: 'address', value: 'shop@example.com' }), true, 'per site');
      const grants = await store.sites.grants(shop.id);
      assert.deepEqual(
        grants.map((g) => [g.siteId, g.kind, g.value]),
        [
          [shop.id, 'address', 'shop@example.com'],
          [shop.id, 'domain', 'example.com'],
        ],
      );
      assert.ok(grants.every((g) => typeof g.createdAt === 'number'));
      assert.equal(await store.sites.removeGrant({ siteId: shop.id, kind: 'domain', value: 'example.com' }), true);
      assert.equal(await store.sites.removeGrant({ siteId: shop.id, kind: 'domain', value: 'example.com' }), false);
      assert.deepEqual(
        (await store.sites.grants(shop.id)).map((g) => g.value),
        ['shop@example.com'],
      );
      assert.equal(await store.sites.remove('shop'), true);
      assert.deepEqual(await store.sites.grants(shop.id), []);
      assert.deepEqual(
        (await store.sites.grants(cron.id)).map((g) => g.value),
        ['shop@example.com'],
      );
    },
  },
  {
    name: 'sites: hold, unhold, held; spam counts per site and hour',
    async run({ store }) {
      const { acme } = await seed(store);
      const shop = await store.sites.add({ name: 'shop', customerId: acme.id, unixUser: null, tokenHash: 'h-shop' });
      const cron = await store.sites.add({ name: 'cron', customerId: acme.id, unixUser: null, tokenHash: 'h-cron' });
      assert.deepEqual(await store.sites.held(), []);
      assert.equal(await store.sites.hold(shop.id, 'spam wave', T0 + 2000), true);
      assert.equal(await store.sites.hold(shop.id, 'again', T0 + 3000), false);
      assert.equal(await store.sites.hold(cron.id, 'bounces', T0 + 1000), true);
      assert.deepEqual(
        (await store.sites.held()).map((s) => s.name),
        ['cron', 'shop'],
      );
      const held = (await store.sites.get('shop'))!;
      assert.deepEqual([held.heldSince, held.holdReason, held.releasedAt], [T0 + 2000, 'spam wave', null]);
      assert.equal(await store.sites.unhold(shop.id, T0 + 4000), true);
      assert.equal(await store.sites.unhold(shop.id, T0 + 5000), false);
      const released = (await store.sites.get('shop'))!;
      assert.deepEqual([released.heldSince, released.holdReason, released.releasedAt], [null, null, T0 + 4000]);
      assert.deepEqual(
        (await store.sites.held()).map((s) => s.name),
        ['cron'],
      );
      assert.equal(await store.sites.hold(999_999, 'x', T0), false);
      assert.equal(await store.sites.unhold(999_999, T0), false);

      const h = hourOf(T0);
      assert.equal(await store.sites.spam(shop.id, h), 1);
      assert.equal(await store.sites.spam(shop.id, h), 2);
      assert.equal(await store.sites.spam(shop.id, h + HOUR), 1, 'a new hour counts from zero');
      assert.equal(await store.sites.spam(cron.id, h), 1, 'per site');
      assert.equal(await store.sites.spam(shop.id, h), 3);
    },
  },
  {
    name: 'dkim: add, list (newest first), inStates, setState (stamps; false from another state), duplicate selector refused',
    async run({ store }) {
      const { ex, oth } = await seed(store);
      const key = (domainId: number, selector: string, state: DkimKeyState, algorithm: DkimKey['algorithm'] = 'rsa-sha256') => ({
        domainId,
        selector,
        algorithm,
        privateKey: `sealed:${selector}`,
        publicKey: `MIIB${selector}`,
        state,
      });
      const a1 = await store.dkim.add(key(ex.id, 'a1', 'active'));
      assert.deepEqual(a1, {
        id: a1.id,
        domainId: ex.id,
        domain: 'example.com',
        selector: 'a1',
        algorithm: 'rsa-sha256',
        privateKey: 'sealed:a1',
        publicKey: 'MIIBa1',
        state: 'active',
        createdAt: a1.createdAt,
        activatedAt: a1.createdAt,
        retiringAt: null,
        retiredAt: null,
      });
      assert.equal(typeof a1.createdAt, 'number');
      const e1 = await store.dkim.add(key(ex.id, 'e1', 'active', 'ed25519-sha256'));
      const p1 = await store.dkim.add(key(ex.id, 'p1', 'pending'));
      assert.equal(p1.activatedAt, null);
      const o1 = await store.dkim.add(key(oth.id, 'o1', 'pending'));
      assert.equal(o1.domain, 'other.example');
      assert.deepEqual(
        (await store.dkim.list('example.com')).map((k) => k.selector),
        ['p1', 'e1', 'a1'],
      );
      assert.deepEqual((await store.dkim.list('example.com'))[2], a1);
      assert.deepEqual(await store.dkim.list('missing.example'), []);
      await assert.rejects(store.dkim.add(key(ex.id, 'a1', 'pending')), 'a selector is unique per domain');
      assert.equal((await store.dkim.add(key(oth.id, 'a1', 'pending'))).selector, 'a1', 'the same selector at another domain is fine');

      assert.deepEqual(sorted((await store.dkim.inStates(['pending'])).map((k) => `${k.domain}/${k.selector}`)), [
        'example.com/p1',
        'other.example/a1',
        'other.example/o1',
      ]);
      assert.deepEqual(sorted((await store.dkim.inStates(['active', 'retired'])).map((k) => k.selector)), ['a1', 'e1']);
      assert.deepEqual(await store.dkim.inStates([]), []);

      assert.equal(await store.dkim.setState(e1.id, 'retiring', ['pending'], T0 + 10), false, 'not in a from state');
      assert.equal(await store.dkim.setState(e1.id, 'retiring', ['active', 'pending'], T0 + 11), true);
      assert.equal(await store.dkim.setState(e1.id, 'retired', ['retiring'], T0 + 12), true);
      const e = (await store.dkim.list('example.com')).find((k) => k.id === e1.id)!;
      assert.deepEqual([e.state, e.activatedAt, e.retiringAt, e.retiredAt], ['retired', e1.activatedAt, T0 + 11, T0 + 12]);
      assert.equal(await store.dkim.setState(e1.id, 'retired', ['retiring'], T0 + 13), false);
      assert.equal(await store.dkim.setState(999_999, 'active', ['pending'], T0), false);
      assert.equal(await store.dkim.setState(p1.id, 'active', ['pending'], T0 + 14), true);
      assert.equal((await store.dkim.list('example.com')).find((k) => k.id === p1.id)!.activatedAt, T0 + 14);
    },
  },
  {
    name: 'dkim: promote activates a pending key and retires the active ones of its domain and algorithm; a second promote returns null',
    async run({ store }) {
      const { ex, oth } = await seed(store);
      const key = (domainId: number, selector: string, state: DkimKeyState, algorithm: DkimKey['algorithm'] = 'rsa-sha256') => ({
        domainId,
        selector,
        algorithm,
        privateKey: `sealed:${selector}`,
        publicKey: `pub-${selector}`,
        state,
      });
      const a1 = await store.dkim.add(key(ex.id, 'a1', 'active'));
      const e1 = await store.dkim.add(key(ex.id, 'e1', 'active', 'ed25519-sha256'));
      const x1 = await store.dkim.add(key(oth.id, 'x1', 'active'));
      const p1 = await store.dkim.add(key(ex.id, 'p1', 'pending'));
      const o1 = await store.dkim.add(key(oth.id, 'o1', 'pending', 'ed25519-sha256'));

      const retiring = await store.dkim.promote(p1.id, T0 + 10_000);
      assert.ok(retiring, 'promoted');
      assert.deepEqual(
        retiring.map((k) => [k.id, k.selector, k.domain]),
        [[a1.id, 'a1', 'example.com']],
        'only the active key of that domain and algorithm',
      );
      const byId = new Map((await store.dkim.list('example.com')).map((k) => [k.id, k]));
      assert.deepEqual([byId.get(p1.id)!.state, byId.get(p1.id)!.activatedAt], ['active', T0 + 10_000]);
      assert.deepEqual([byId.get(a1.id)!.state, byId.get(a1.id)!.retiringAt], ['retiring', T0 + 10_000]);
      assert.equal(byId.get(e1.id)!.state, 'active', 'another algorithm keeps signing');
      assert.equal((await store.dkim.list('other.example')).find((k) => k.id === x1.id)!.state, 'active', 'another domain is untouched');

      assert.equal(await store.dkim.promote(p1.id, T0 + 11_000), null, 'no longer pending');
      assert.equal(await store.dkim.promote(999_999, T0), null);
      assert.deepEqual(await store.dkim.promote(o1.id, T0 + 12_000), [], 'nothing of its algorithm was active there');
      assert.equal((await store.dkim.list('other.example')).find((k) => k.id === o1.id)!.state, 'active');
      assert.deepEqual(sorted((await store.dkim.inStates(['active'])).map((k) => k.selector)), ['e1', 'o1', 'p1', 'x1']);
      assert.deepEqual(
        (await store.dkim.inStates(['retiring'])).map((k) => k.id),
        [a1.id],
      );
    },
  },
];
