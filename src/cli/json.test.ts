import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonWriter } from './json.js';

/** Writes `[{"ifname":"lo","flags":["UP","LOWER_UP"],"addr_info":[{"a":1},{"b":"x"}],"n":null}]`. */
function sample(pretty: boolean): string {
  const w = new JsonWriter(pretty);
  w.startArray().startObject();
  w.name('ifname').string('lo');
  w.name('flags').startArray().string('UP').string('LOWER_UP').endArray();
  w.name('addr_info').startArray();
  w.startObject().name('a').number(1).endObject();
  w.startObject().name('b').string('x').endObject();
  w.endArray();
  w.name('n').null();
  w.endObject().endArray();
  return w.finish();
}

describe('JsonWriter lays out JSON as lib/json_writer.c', () => {
  it('compact', () => {
    assert.equal(sample(false), '[{"ifname":"lo","flags":["UP","LOWER_UP"],"addr_info":[{"a":1},{"b":"x"}],"n":null}]\n');
  });

  it('pretty, as `ip -j -p addr show lo` prints', () => {
    assert.equal(
      sample(true),
      [
        '[ {',
        '        "ifname": "lo",',
        '        "flags": [ "UP","LOWER_UP" ],',
        '        "addr_info": [ {',
        '                "a": 1',
        '            },{',
        '                "b": "x"',
        '            } ],',
        '        "n": null',
        '    } ]',
        '',
      ].join('\n'),
    );
  });

  it('escapes as jsonw_puts, and every other control character', () => {
    const w = new JsonWriter(false);
    w.string('a"b\\c\td\u0001');
    assert.equal(w.finish(), '"a\\"b\\\\c\\td\\u0001"\n');
  });
});
