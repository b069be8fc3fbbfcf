/**
 * Forward-only schema versions of the SQLite store. Append; never edit a shipped step.
 * store/schema.test.ts builds both schemas from scratch and fails when they drift apart.
 */
export const MIGRATIONS: string[] = [
  // 1: tenants, logins and the queue
  `
  CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE domains (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    created_at INTEGER NOT NULL
  );
  CREATE INDEX domains_customer ON domains(customer_id);
  CREATE TABLE mailboxes (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,
    domain_id INTEGER NOT NULL REFERENCES domains(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    password_hash TEXT NOT NULL,
    credential_version INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX mailboxes_customer ON mailboxes(customer_id);
  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    customer_id INTEGER REFERENCES customers(id),
    mailbox_id INTEGER,
    sender TEXT NOT NULL,
    size INTEGER NOT NULL,
    body_path TEXT,
    body BLOB,
    state TEXT NOT NULL DEFAULT 'queued',
    message_id_header TEXT,
    client_ip TEXT NOT NULL,
    auth_user TEXT,
    listener TEXT NOT NULL,
    dsn_ret TEXT,
    dsn_envid TEXT,
    created_at INTEGER NOT NULL,
    CHECK ((body_path IS NULL) <> (body IS NULL))
  );
  CREATE INDEX messages_customer ON messages(customer_id, created_at);
  CREATE TABLE recipients (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_reply TEXT,
    notify TEXT,
    orcpt TEXT,
    PRIMARY KEY (message_id, idx)
  );
  CREATE INDEX recipients_due ON recipients(state, next_attempt_at);
  `,
  // 2: per-domain routes (next hop instead of an MX lookup)
  `
  CREATE TABLE routes (
    domain TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    tls TEXT NOT NULL CHECK (tls IN ('none', 'opportunistic', 'required')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  // 3: delivery: the recipient's domain (grouping), leases, outcome details, delay warnings,
  // and every attempt with its reply (queue show answers "why is this stuck?")
  `
  ALTER TABLE recipients ADD COLUMN domain TEXT NOT NULL DEFAULT '';
  UPDATE recipients SET domain = lower(substr(address, instr(address, '@') + 1));
  ALTER TABLE recipients ADD COLUMN lease_owner TEXT;
  ALTER TABLE recipients ADD COLUMN last_attempt_at INTEGER;
  ALTER TABLE recipients ADD COLUMN remote_host TEXT;
  ALTER TABLE recipients ADD COLUMN category TEXT;
  ALTER TABLE recipients ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0;
  DROP INDEX recipients_due;
  CREATE INDEX recipients_due ON recipients(next_attempt_at) WHERE state IN ('queued', 'deferred');
  CREATE INDEX recipients_lease ON recipients(lease_owner) WHERE lease_owner IS NOT NULL;
  CREATE INDEX recipients_domain ON recipients(domain, state);
  CREATE INDEX messages_sender ON messages(sender);
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    recipient_idx INTEGER NOT NULL,
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    category TEXT NOT NULL,
    reply TEXT NOT NULL,
    remote_host TEXT
  );
  CREATE INDEX attempts_message ON attempts(message_id, recipient_idx, at);
  `,
  // 4: what the next hop must support: 8-bit content (8BITMIME) and SMTPUTF8
  `
  ALTER TABLE messages ADD COLUMN eight_bit INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE messages ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
  `,
  // 5: a route may log in to its next hop (the password sealed with the secrets key)
  `
  ALTER TABLE routes ADD COLUMN auth_user TEXT;
  ALTER TABLE routes ADD COLUMN auth_secret TEXT;
  `,
  // 6: sender grants: which other addresses a mailbox may send as
  `
  CREATE TABLE sender_grants (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('address', 'domain', 'null-sender')),
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, kind, value)
  );
  `,
  // 7: brute-force defence: failed logins and locks per mailbox, the client addresses a
  // mailbox logged in from, failures per client address, and banned addresses
  `
  CREATE TABLE mailbox_logins (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER
  );
  CREATE TABLE known_ips (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    last_success_at INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, ip)
  );
  CREATE TABLE ip_failures (
    ip TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL
  );
  CREATE TABLE ip_bans (
    ip TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    failures INTEGER NOT NULL,
    banned_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  // 8: sending limits and their counters (fixed windows), with defaults that protect a fresh
  // install: each mailbox may send to 1,000 recipients an hour and 5,000 a day, beyond that its
  // mail is held for the postmaster (a normal shop stays far below)
  `
  CREATE TABLE limits (
    level TEXT NOT NULL CHECK (level IN ('server', 'customer', 'domain', 'mailbox')),
    target TEXT NOT NULL,
    window TEXT NOT NULL CHECK (window IN ('minute', 'hour', 'day', 'month')),
    metric TEXT NOT NULL CHECK (metric IN ('messages', 'recipients')),
    max INTEGER NOT NULL CHECK (max >= 0),
    action TEXT NOT NULL CHECK (action IN ('defer', 'reject', 'hold')),
    PRIMARY KEY (level, target, window, metric)
  );
  CREATE TABLE limit_usage (
    level TEXT NOT NULL,
    target TEXT NOT NULL,
    window TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    recipients INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (level, target, window, window_start)
  );
  INSERT INTO limits (level, target, window, metric, max, action) VALUES
    ('mailbox', '*', 'hour', 'recipients', 1000, 'hold'),
    ('mailbox', '*', 'day', 'recipients', 5000, 'hold');
  `,
  // 9: the audit trail of administrative changes
  `
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT
  );
  CREATE INDEX audit_target ON audit(target, at);
  `,
  // 10: compromise containment: a customer's contact address, a mailbox on hold, and what a
  // mailbox sent per hour (recipients, distinct recipient domains, login networks)
  `
  ALTER TABLE customers ADD COLUMN contact TEXT;
  ALTER TABLE mailboxes ADD COLUMN held_since INTEGER;
  ALTER TABLE mailboxes ADD COLUMN hold_reason TEXT;
  CREATE TABLE mailbox_hours (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    hour_start INTEGER NOT NULL,
    recipients INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox_id, hour_start)
  );
  CREATE TABLE mailbox_hour_domains (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    hour_start INTEGER NOT NULL,
    domain TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, hour_start, domain)
  );
  CREATE TABLE mailbox_hour_networks (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    hour_start INTEGER NOT NULL,
    network TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, hour_start, network)
  );
  `,
  // 11: delivery outcomes per mailbox and hour (a high failure ratio is a compromise signal)
  `
  ALTER TABLE mailbox_hours ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE mailbox_hours ADD COLUMN bad INTEGER NOT NULL DEFAULT 0;
  `,
  // 12: when a hold was last released (signals from before it no longer count)
  `
  ALTER TABLE mailboxes ADD COLUMN released_at INTEGER;
  `,
  // 13: failed logins from a known network since its last success (it stays spared only up to a bound)
  `
  ALTER TABLE known_ips ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
  `,
  // 14: held mail per mailbox (bounded by containment.maxHeldPerMailbox)
  `
  CREATE INDEX messages_mailbox_state ON messages(mailbox_id, state);
  `,
  // 15: sites (websites sending through sendmail or the send API) with their sender grants,
  // their hold (suspected misuse) and their spam verdicts per hour; the message's site; limits at site level (SQLite cannot change a CHECK: the table is
  // rebuilt with its rows), with the same protective defaults as mailboxes
  `
  CREATE TABLE sites (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: messages keep the id of a removed site
    name TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    unix_user TEXT UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    held_since INTEGER,
    hold_reason TEXT,
    released_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE site_hours (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    hour_start INTEGER NOT NULL,
    spam INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site_id, hour_start)
  );
  CREATE TABLE site_grants (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('address', 'domain')),
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (site_id, kind, value)
  );
  ALTER TABLE messages ADD COLUMN site_id INTEGER;
  CREATE INDEX messages_site_state ON messages(site_id, state) WHERE site_id IS NOT NULL;
  CREATE TABLE limits_v15 (
    level TEXT NOT NULL CHECK (level IN ('server', 'customer', 'domain', 'mailbox', 'site')),
    target TEXT NOT NULL,
    window TEXT NOT NULL CHECK (window IN ('minute', 'hour', 'day', 'month')),
    metric TEXT NOT NULL CHECK (metric IN ('messages', 'recipients')),
    max INTEGER NOT NULL CHECK (max >= 0),
    action TEXT NOT NULL CHECK (action IN ('defer', 'reject', 'hold')),
    PRIMARY KEY (level, target, window, metric)
  );
  INSERT INTO limits_v15 SELECT level, target, window, metric, max, action FROM limits;
  DROP TABLE limits;
  ALTER TABLE limits_v15 RENAME TO limits;
  INSERT INTO limits (level, target, window, metric, max, action) VALUES
    ('site', '*', 'hour', 'recipients', 1000, 'hold'),
    ('site', '*', 'day', 'recipients', 5000, 'hold');
  `,
  // 16: DKIM keys per domain (private keys sealed with the secret box) through their stages,
  // the header fields put on top of a message at delivery (its DKIM-Signature, scan results),
  // why a message is held, and the messages of a mailbox the scanner held or refused per hour
  // (a compromise signal)
  `
  CREATE TABLE dkim_keys (
    id INTEGER PRIMARY KEY,
    domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    selector TEXT NOT NULL,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired')),
    created_at INTEGER NOT NULL,
    activated_at INTEGER,
    retiring_at INTEGER,
    retired_at INTEGER,
    UNIQUE (domain_id, selector)
  );
  CREATE INDEX dkim_keys_state ON dkim_keys(state);
  ALTER TABLE messages ADD COLUMN top_headers TEXT;
  ALTER TABLE messages ADD COLUMN hold_reason TEXT; -- limit, sender (a held mailbox or site), content, postmaster
  ALTER TABLE mailbox_hours ADD COLUMN spam INTEGER NOT NULL DEFAULT 0;
  `,
  // message tracking: each message's life after it leaves the queue (retention: tracking.*);
  // rows are deleted only by the prune, the events and recipients with their message
  `
  CREATE TABLE tracked_messages (
    queue_id TEXT PRIMARY KEY,
    customer_id INTEGER,
    auth_user TEXT,
    site_name TEXT,
    sender TEXT NOT NULL,
    message_id TEXT,
    subject TEXT,
    size INTEGER NOT NULL,
    client_ip TEXT NOT NULL,
    listener TEXT NOT NULL,
    rcpt_count INTEGER NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL
  );
  CREATE INDEX tracked_created ON tracked_messages(created_at, queue_id);
  CREATE INDEX tracked_customer ON tracked_messages(customer_id, created_at);
  CREATE INDEX tracked_message_id ON tracked_messages(message_id);
  CREATE INDEX tracked_sender ON tracked_messages(lower(sender), created_at);
  CREATE TABLE tracked_recipients (
    queue_id TEXT NOT NULL REFERENCES tracked_messages(queue_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (queue_id, idx)
  ) WITHOUT ROWID;
  CREATE INDEX tracked_recipient_address ON tracked_recipients(lower(address));
  CREATE TABLE tracked_events (
    id INTEGER PRIMARY KEY,
    queue_id TEXT NOT NULL REFERENCES tracked_messages(queue_id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    type TEXT NOT NULL,
    recipient TEXT,
    remote_host TEXT,
    reply TEXT,
    category TEXT,
    ref TEXT
  );
  CREATE INDEX tracked_events_message ON tracked_events(queue_id, at, id);
  `,
  // webhooks: customers' endpoints (secrets sealed with the secret box, events as ",a,b,") and
  // the durable outbox of their deliveries (one row per event and endpoint, claimed with a lease)
  `
  CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX webhook_endpoints_customer ON webhook_endpoints(customer_id);
  CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_at INTEGER NOT NULL,
    data TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    last_status INTEGER,
    last_error TEXT,
    last_attempt_at INTEGER,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (endpoint_id, event_id)
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
  CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
  CREATE INDEX webhook_deliveries_lease ON webhook_deliveries(lease_owner) WHERE lease_owner IS NOT NULL;
  `,
  // tokens of the admin HTTP API (operator: no customer; customer tokens see that customer only);
  // only the SHA-256 of a token is kept
  `
  CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
  );
  `,
  // the suppression list: recipients that hard-bounced (or an operator listed), per customer,
  // until a time; address_key is the lower-cased address, address as it was given
  `
  CREATE TABLE suppressions (
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    address_key TEXT NOT NULL,
    address TEXT NOT NULL,
    reason TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('bounce', 'operator')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY (customer_id, address_key)
  );
  CREATE INDEX suppressions_until ON suppressions(until);
  CREATE INDEX suppressions_updated ON suppressions(updated_at);
  `,
  // sign-in sessions of the web console (only the SHA-256 of the cookie's value is kept; an
  // operator's has no customer), and what the dashboard's summary reads: events by time (with
  // their type, so they are counted from the index); messages by time are tracked_created, or
  // tracked_customer for one customer
  `
  CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    via TEXT NOT NULL CHECK (via IN ('token', 'mailbox')),
    subject TEXT NOT NULL,
    customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX console_sessions_subject ON console_sessions(via, subject);
  CREATE INDEX console_sessions_expires ON console_sessions(expires_at);
  CREATE INDEX console_sessions_seen ON console_sessions(seen_at);
  CREATE INDEX tracked_events_at ON tracked_events(at, type);
  `,
  // the life of an account: a customer suspended (or being removed) since when; a tracked
  // message keeps, after its tenant was removed, which one it was (customer:NAME, domain:NAME)
  `
  ALTER TABLE customers ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'removing'));
  ALTER TABLE customers ADD COLUMN suspended_at INTEGER;
  ALTER TABLE tracked_messages ADD COLUMN removed_tenant TEXT;
  `,
  // mailboxes that came from elsewhere: source says where ('import': a hash brought in by
  // `mailbox import`; 'dovecot': made at the first login Dovecot accepted), imported_hash is the
  // hash as last imported (a re-import compares with it, not with the argon2id hash that replaced
  // it at the first login); app_passwords_only refuses the mailbox's own password on submission.
  // App passwords: only their SHA-256 is kept (they are 128+ random bits), with the last use.
  `
  ALTER TABLE mailboxes ADD COLUMN source TEXT NOT NULL DEFAULT 'postern' CHECK (source IN ('postern', 'import', 'dovecot'));
  ALTER TABLE mailboxes ADD COLUMN imported_hash TEXT;
  ALTER TABLE mailboxes ADD COLUMN app_passwords_only INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE app_passwords (
    id INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    last_ip TEXT,
    UNIQUE (mailbox_id, name)
  );
  `,
  // what another process changed, for the caches of the running server (SQLite has no NOTIFY):
  // a version per topic, bumped by triggers in the writer's own transaction; the store's watch
  // polls it. dkim: a key added, promoted, retired or removed (with its domain) by the CLI.
  // And the console's second factor (TOTP, RFC 6238) of a sign-in subject (an API token's name
  // or a mailbox address): the sealed secret, when enrolment was confirmed, the last accepted
  // time step (a code is used once), and the SHA-256 of each unused recovery code
  `
  CREATE TABLE change_versions (topic TEXT PRIMARY KEY, version INTEGER NOT NULL);
  INSERT INTO change_versions (topic, version) VALUES ('dkim', 0);
  CREATE TRIGGER dkim_keys_inserted AFTER INSERT ON dkim_keys BEGIN UPDATE change_versions SET version = version + 1 WHERE topic = 'dkim'; END;
  CREATE TRIGGER dkim_keys_updated AFTER UPDATE ON dkim_keys BEGIN UPDATE change_versions SET version = version + 1 WHERE topic = 'dkim'; END;
  CREATE TRIGGER dkim_keys_deleted AFTER DELETE ON dkim_keys BEGIN UPDATE change_versions SET version = version + 1 WHERE topic = 'dkim'; END;
  CREATE TABLE console_totp (
    via TEXT NOT NULL CHECK (via IN ('token', 'mailbox')),
    subject TEXT NOT NULL,
    secret TEXT NOT NULL,
    confirmed_at INTEGER,
    last_step INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (via, subject)
  );
  CREATE TABLE console_totp_recovery (
    via TEXT NOT NULL,
    subject TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (via, subject, hash),
    FOREIGN KEY (via, subject) REFERENCES console_totp(via, subject) ON DELETE CASCADE
  );
  `,
  // egress pools: the pool (a name in delivery.pools) of a customer, a hosted domain or a site
  // (the row goes with the customer, domain or site it names); and the newest answer of each
  // DNS blocklist about each pool address (listed 0/1)
  `
  CREATE TABLE pool_assignments (
    kind TEXT NOT NULL CHECK (kind IN ('customer', 'domain', 'site')),
    name TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    domain_id INTEGER REFERENCES domains(id) ON DELETE CASCADE,
    site_id INTEGER REFERENCES sites(id) ON DELETE CASCADE,
    pool TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
  );
  CREATE INDEX pool_assignments_customer ON pool_assignments(customer_id);
  CREATE INDEX pool_assignments_pool ON pool_assignments(pool);
  CREATE TABLE blocklist_results (
    address TEXT NOT NULL,
    zone TEXT NOT NULL,
    pool TEXT NOT NULL,
    listed SMALLINT NOT NULL CHECK (listed IN (0, 1)),
    codes TEXT NOT NULL,
    meaning TEXT,
    checked_at INTEGER NOT NULL,
    listed_since INTEGER,
    PRIMARY KEY (address, zone)
  );
  `,
  // 22: the indexes PostgreSQL had from its first version and SQLite lacked (found by
  // store/schema.test.ts): the queue filter compares lower(sender), so an index on sender
  // itself served nothing; the queue listing runs in (created_at, id) order; held() reads the
  // mailboxes on hold
  `
  DROP INDEX messages_sender;
  CREATE INDEX messages_sender ON messages(lower(sender));
  CREATE INDEX messages_created ON messages(created_at, id);
  CREATE INDEX mailboxes_held ON mailboxes(held_since) WHERE held_since IS NOT NULL;
  `,
  // 23: an inline body is the last column of its message. SQLite stores a row's columns in
  // order and puts what passes about 4 KiB on a chain of overflow pages: with the body in the
  // middle, reading the state, the top headers or the creation time of a 100 KiB message (every
  // claim, every delivery's state check) walked 25 pages, 80 µs against 8. The table is rebuilt
  // the way SQLite's documentation describes (db.ts runs migrations with foreign keys off and
  // checks them before the commit).
  `
  CREATE TABLE messages_new (
    id TEXT PRIMARY KEY,
    customer_id INTEGER REFERENCES customers(id),
    mailbox_id INTEGER,
    site_id INTEGER,
    sender TEXT NOT NULL,
    size INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    hold_reason TEXT,
    message_id_header TEXT,
    client_ip TEXT NOT NULL,
    auth_user TEXT,
    listener TEXT NOT NULL,
    dsn_ret TEXT,
    dsn_envid TEXT,
    created_at INTEGER NOT NULL,
    eight_bit INTEGER NOT NULL DEFAULT 0,
    smtputf8 INTEGER NOT NULL DEFAULT 0,
    top_headers TEXT,
    body_path TEXT,
    body BLOB,
    CHECK ((body_path IS NULL) <> (body IS NULL))
  );
  INSERT INTO messages_new (id, customer_id, mailbox_id, site_id, sender, size, state, hold_reason, message_id_header, client_ip,
    auth_user, listener, dsn_ret, dsn_envid, created_at, eight_bit, smtputf8, top_headers, body_path, body)
  SELECT id, customer_id, mailbox_id, site_id, sender, size, state, hold_reason, message_id_header, client_ip,
    auth_user, listener, dsn_ret, dsn_envid, created_at, eight_bit, smtputf8, top_headers, body_path, body FROM messages;
  DROP TABLE messages;
  ALTER TABLE messages_new RENAME TO messages;
  CREATE INDEX messages_customer ON messages(customer_id, created_at);
  CREATE INDEX messages_mailbox_state ON messages(mailbox_id, state);
  CREATE INDEX messages_site_state ON messages(site_id, state) WHERE site_id IS NOT NULL;
  CREATE INDEX messages_sender ON messages(lower(sender));
  CREATE INDEX messages_created ON messages(created_at, id);
  `,
];
