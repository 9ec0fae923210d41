import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, logSettings } from './logger.js';

function capture(format: 'json' | 'pretty'): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', format, destination }) };
}

test('in a terminal the log is human-readable and quiet (warn); elsewhere JSON from info; LOG_LEVEL and LOG_FORMAT win', () => {
  assert.deepEqual(logSettings({}, true), { level: 'warn', format: 'pretty' });
  assert.deepEqual(logSettings({}, false), { level: 'info', format: 'json' });
  assert.deepEqual(logSettings({ logLevel: 'debug' }, true), { level: 'debug', format: 'pretty' });
  assert.deepEqual(logSettings({ logFormat: 'json' }, true), { level: 'warn', format: 'json' });
  assert.deepEqual(logSettings({ logLevel: 'error', logFormat: 'pretty' }, false), { level: 'error', format: 'pretty' });
});

test('pretty lines read as text, one line each, and are redacted like JSON ones', async () => {
  for (const format of ['pretty', 'json'] as const) {
    const { lines, logger } = capture(format);
    logger.info({ pan: '4111111111111111', req: { headers: { authorization: 'Bearer tsk_admin_x' } }, brand: 'visa' }, 'card added');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const text = lines.join('');
    assert.doesNotMatch(text, /4111111111111111|tsk_admin_x/, format);
    assert.match(text, /\[redacted\]/, format);
    if (format === 'json') assert.equal(JSON.parse(text).msg, 'card added');
    else {
      assert.match(text, /^\[\d{2}:\d{2}:\d{2}\] INFO: card added \{.*"brand":"visa".*\}\n$/);
      assert.ok(!text.includes('"level"') && !text.includes('\u001b['), 'no JSON, no colours when not a terminal');
    }
  }
});
