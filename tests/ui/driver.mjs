// Drives `grpcx ui` in a real headless Chromium (Debian's /usr/bin/chromium)
// through playwright-core, as a user would: by roles and labels. Run by
// tests/cli/ui.rs:
//   node tests/ui/driver.mjs first   URL SERVER_ADDR [SCREENSHOT_DIR]
//   node tests/ui/driver.mjs restart URL SERVER_ADDR
// Prints one `ok: …` line per step; any failed check exits non-zero.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../servers/node/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [phase, url, serverAddr, shots] = process.argv.slice(2);
const base = new URL(url);
const origin = base.origin;
const token = base.searchParams.get('token');
const profile = mkdtempSync(join(tmpdir(), 'grpcx-ui-chromium-'));
// A fresh profile (--user-data-dir) each run; headless adds --headless.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.GRPCX_TEST_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // DNS rebinding, simulated: a foreign name that points to 127.0.0.1.
    '--host-resolver-rules=MAP evil.test 127.0.0.1',
  ],
  viewport: { width: 1280, height: 900 },
  timeout: 30000,
});
const page = browser.pages()[0] || await browser.newPage();
page.setDefaultTimeout(10000);
const ok = (what) => console.log(`ok: ${what}`);
const button = (name) => page.getByRole('button', { name, exact: true });
const field = (name) => page.getByLabel(name, { exact: true });
const status = page.getByRole('status');
const messages = page.getByRole('list', { name: 'Response messages' }).locator('li.received pre');

async function waitText(locator, pattern) {
  await page.waitForFunction(
    ([el, source, flags]) => el && new RegExp(source, flags).test(el.textContent),
    [await locator.elementHandle(), pattern.source, pattern.flags],
  );
  return locator.textContent();
}

// Opens a method afresh (the page is busy until its form is built).
async function openMethod(name) {
  await button(name).click();
  await page.locator('#layout[aria-busy=false]').waitFor();
  await page.getByRole('heading', { level: 2 }).filter({ hasText: `/${name}` }).waitFor();
}

async function call() {
  await button('Call').click();
  return waitText(status, /^[A-Z_]+(: .*)? · \d+ ms$/);
}

try {
  if (phase === 'first') {
    // No token: refused.
    let response = await page.goto(`${origin}/`);
    assert.equal(response.status(), 403);
    assert.match(await page.textContent('body'), /no token/);
    ok('403 without the token');
    // A foreign Host (DNS rebinding), even with the token: refused.
    response = await page.goto(`http://evil.test:${base.port}/?token=${token}`);
    assert.equal(response.status(), 403);
    assert.match(await page.textContent('body'), /Host/);
    ok('403 for a foreign Host');

    // The printed URL: the token goes into a cookie and out of the address bar.
    await page.goto(url);
    assert.equal(page.url(), `${origin}/`);
    await button('SayHello').waitFor();
    assert.match(await page.locator('nav').textContent(), /helloworld\.Greeter[\s\S]*SayHelloStreamReply\s*server-streaming/);
    ok('the method list');
    await field('Search methods').fill('bidi');
    await button('SayHelloBidiStream').waitFor();
    assert.equal(await button('SayHello').count(), 0);
    await field('Search methods').fill('');
    ok('searching the list');

    // A unary call from the form.
    await openMethod('SayHello');
    await field('name').fill('Ada');
    assert.deepEqual(JSON.parse(await field('Request JSON').inputValue()), { name: 'Ada' });
    assert.match(await call(), /^OK · \d+ ms$/);
    assert.deepEqual(JSON.parse(await messages.first().textContent()), { message: 'Hello, Ada!' });
    ok('a unary call: response and status');

    // Copy as command.
    await button('Copy as command').click();
    const command = page.getByLabel('Command', { exact: true });
    await command.waitFor();
    assert.equal(await command.textContent(),
      `grpcx call ${serverAddr} helloworld.Greeter/SayHello -d '{"name":"Ada"}'`);
    ok('copy as command');

    // The JSON editor drives the form, checked by the server.
    await field('Request JSON').fill('{"name": "from JSON"}');
    await page.waitForFunction(() => [...document.querySelectorAll('#form input')].some((i) => i.value === 'from JSON'));
    assert.equal(await field('name').inputValue(), 'from JSON');
    await field('Request JSON').fill('{"nam": "x"}');
    await waitText(page.getByRole('alert').filter({ hasText: 'nam' }), /unrecognized field name 'nam'/);
    await field('Request JSON').fill('{"name": "Ada"}');
    await page.waitForFunction(() => document.getElementById('json-error').textContent === '');
    ok('the JSON editor and the form stay in step');

    // A nested form: a message, an enum, a repeated field, a map, a oneof,
    // a 64-bit integer beyond 2^53.
    await openMethod('Echo');
    await button('Set f_message').click();
    await field('name').fill('inner');
    await field('value').fill('7');
    await field('f_enum').selectOption('COLOR_BLUE');
    await button('Add r_string').click();
    await field('r_string[0]').fill('a');
    await button('Add r_string').click();
    await field('r_string[1]').fill('b');
    await button('Add m_string_int32').click();
    await field('m_string_int32[0] value').fill('5');
    await field('f_int64').fill('9007199254740993');
    await field('choice').selectOption('o_string');
    await field('o_string').fill('picked');
    await field('f_bool').check();
    assert.match(await call(), /^OK/);
    const echoed = (await messages.first().textContent()).replace(/\s+/g, '');
    assert.equal(echoed, JSON.stringify({
      fInt64: '9007199254740993', fBool: true, fEnum: 'COLOR_BLUE',
      fMessage: { name: 'inner', value: 7 }, rString: ['a', 'b'], mStringInt32: { key1: 5 },
      oString: 'picked',
    }));
    ok('a nested form with an enum, repeated, map, oneof and int64');
    if (shots) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(shots, 'ui-form.png') });
    }

    // The well-known types in their own shapes: Any with a type picker, a
    // Timestamp, a Duration, a wrapper, a Struct.
    await openMethod('Echo');
    await button('Set w_any').click();
    await field('w_any @type').selectOption('grpcx.test.v1.Everything.Inner');
    await field('name').fill('packed');
    await field('w_timestamp').fill('2024-01-31T12:00:00Z');
    await field('w_duration').fill('1.5s');
    await field('w_int64').fill('-5');
    await field('w_struct').fill('{"a": [1, true]}');
    assert.match(await call(), /^OK/);
    assert.deepEqual(JSON.parse(await messages.first().textContent()), {
      wTimestamp: '2024-01-31T12:00:00Z', wDuration: '1.500s',
      wAny: { '@type': 'type.googleapis.com/grpcx.test.v1.Everything.Inner', name: 'packed' },
      wStruct: { a: [1, true] }, wInt64: '-5',
    });
    ok('well-known types: Any with a type picker, Timestamp, Duration, wrappers, Struct');

    // A deadline.
    await openMethod('Stream');
    await field('count').fill('20');
    await field('interval_ms').fill('100');
    await field('Deadline (seconds)').fill('0.3');
    assert.match(await call(), /^DEADLINE_EXCEEDED/);
    await field('Deadline (seconds)').fill('');
    ok('a deadline');

    // A server stream arrives live: the first message shows before the end.
    await openMethod('Stream');
    await field('count').fill('3');
    await field('interval_ms').fill('400');
    // What the status said when the first message showed, seen in the page.
    await page.evaluate(() => {
      window.statusAtFirst = null;
      new MutationObserver((_, observer) => {
        if (document.querySelector('#messages li.received')) {
          window.statusAtFirst = document.getElementById('status').textContent;
          observer.disconnect();
        }
      }).observe(document.getElementById('messages'), { childList: true });
    });
    await button('Call').click();
    await page.waitForFunction(() => window.statusAtFirst !== null);
    assert.equal(await page.evaluate(() => window.statusAtFirst), 'Running…');
    ok('a server stream: the first message before the status');
    await waitText(status, /^OK · \d+ ms$/);
    assert.equal(await messages.count(), 3);
    assert.match(await messages.nth(2).textContent(), /"seq": 2/);
    ok('a server stream: every message, then OK');

    // An error status with details, asked for by request metadata.
    await openMethod('SayHello');
    await button('Add metadata').click();
    await field('Metadata name 1').fill('x-grpcx-fail');
    await field('Metadata value 1').fill('NOT_FOUND');
    await button('Add metadata').click();
    await field('Metadata name 2').fill('x-grpcx-fail-details');
    await field('Metadata value 2').fill('1');
    assert.match(await call(), /^NOT_FOUND: failed on request · \d+ ms$/);
    const details = await page.getByLabel('Status details').textContent();
    assert.match(details, /google\.rpc\.ErrorInfo/);
    assert.match(details, /GRPCX_TEST/);
    assert.match(details, /grpcx\.test\.v1\.Note/);
    ok('an error status with decoded details, from metadata');
    if (shots) await page.screenshot({ path: join(shots, 'ui-error.png') });
    // Metadata stays from method to method until removed.
    await button('Remove metadata 1').click();
    await button('Remove metadata 1').click();
    assert.equal(await field('Metadata name 1').count(), 0);

    // Bidi: message after message, each answered, then close.
    await openMethod('SayHelloBidiStream');
    await field('name').fill('one');
    await button('Call').click();
    await waitText(messages.first(), /Hello, one!/);
    await field('name').fill('two');
    await button('Send').click();
    await waitText(messages.nth(1), /Hello, two!/);
    await button('Close requests').click();
    await waitText(status, /^OK · \d+ ms$/);
    ok('a bidi call: send, answers, close');

    // Client streaming: the answer comes after the close.
    await openMethod('SayHelloClientStream');
    await field('name').fill('a');
    await button('Call').click();
    await waitText(status, /Running/);
    await field('name').fill('b');
    await button('Send').click();
    await page.locator('#messages li.sent').nth(1).waitFor();
    await button('Close requests').click();
    await waitText(status, /^OK · \d+ ms$/);
    assert.match(await messages.first().textContent(), /Hello, a, b!/);
    ok('a client-streaming call');

    // A running call can be cancelled.
    await openMethod('Stream');
    await field('count').fill('50');
    await field('interval_ms').fill('200');
    await button('Call').click();
    await messages.first().waitFor();
    await button('Cancel').click();
    assert.match(await waitText(status, /^CANCELLED/), /cancelled on the page/);
    ok('cancelling a stream');

    // A shareable link: the method and the request, without the token.
    await openMethod('SayHello');
    await field('name').fill('Grace');
    const link = await page.getByRole('link', { name: 'Link to this request' }).getAttribute('href');
    assert.ok(!link.includes(token), 'the link carries no token');
    const other = await browser.newPage();
    await other.goto(link);
    await other.getByRole('heading', { level: 2, name: 'helloworld.Greeter/SayHello' }).waitFor();
    assert.equal(await other.getByLabel('name', { exact: true }).inputValue(), 'Grace');
    await other.close();
    ok('a link to a method and its request');

    // The history shows the calls made.
    await page.reload();
    await page.locator('#history button.entry').first().waitFor();
    assert.ok(await page.locator('#history button.entry').count() >= 6);
    ok('the history');
    if (shots) {
      await openMethod('Stream');
      await field('count').fill('3');
      await call();
      await page.screenshot({ path: join(shots, 'ui-stream.png') });
    }
  } else if (phase === 'restart') {
    await page.goto(url);
    const entries = page.locator('#history button.entry');
    await entries.first().waitFor();
    const texts = await entries.allTextContents();
    assert.ok(texts.some((t) => /SayHello\s+NOT_FOUND/.test(t)), texts.join('\n'));
    // The unary call to Ada, made again from the history.
    const ada = page.locator('#history li').filter({ has: page.locator('button.entry[title*="Ada"]') }).last();
    await ada.getByRole('button', { name: /^Run again: SayHello/ }).click();
    await waitText(status, /^OK · \d+ ms$/);
    assert.equal(await field('name').inputValue(), 'Ada');
    assert.deepEqual(JSON.parse(await messages.first().textContent()), { message: 'Hello, Ada!' });
    ok('the history after a restart, re-run');
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
